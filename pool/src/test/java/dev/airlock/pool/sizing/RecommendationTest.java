package dev.airlock.pool.sizing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.airlock.policy.model.ProjectPolicy.PoolSettings;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RecommendationTest {

    private static final Instant MONDAY = Instant.parse("2026-11-02T00:00:00Z");

    /** One week; Monday 09:00–10:00 gets {@code perHour} claims, every other hour none. T is given. */
    static Demand mondayNine(int perHour, Duration refill) {
        List<Instant> claims = new ArrayList<>();
        for (int i = 0; i < perHour; i++) {
            claims.add(MONDAY.plus(Duration.ofHours(9)).plusNanos(i * (3_600_000_000_000L / perHour)));
        }
        return Demand.measure(claims, MONDAY, MONDAY.plus(Duration.ofDays(7)), ZoneOffset.UTC, RefillEstimate.given(refill));
    }

    /** 60 claims an hour with T = 5 minutes: a = 1/60 s⁻¹ × 300 s = 5 erlangs. */
    private static final Demand LOAD_5 = mondayNine(60, Duration.ofMinutes(5));

    @Test
    void compute_picksTheSmallestSizeMeetingTheTarget() {
        Recommendation r = Recommendation.compute("payments", LOAD_5, new PoolSettings(0, 20, 0.98));
        Recommendation.HourPlan p = r.at(new HourOfWeek(9));
        assertThat(p.offeredLoad()).isCloseTo(5.0, within(1e-9));
        assertThat(p.meetsTarget()).isTrue();
        // B(9, 5) = 0.0375 misses 98%; B(10, 5) = 0.0184 meets it.
        assertThat(p.chosen().size()).isEqualTo(10);
        assertThat(p.chosen().hitRate()).isCloseTo(0.9816154296633519, within(1e-12));
        assertThat(p.smaller().orElseThrow().hitRate()).isCloseTo(0.9625422140258061, within(1e-12));
        assertThat(p.larger().hitRate()).isCloseTo(0.991712631532657, within(1e-12));
    }

    @Test
    void compute_idleIsSizeMinusCarriedLoad() {
        Recommendation.HourPlan p = Recommendation.compute("payments", LOAD_5, new PoolSettings(0, 20, 0.98)).at(new HourOfWeek(9));
        // 10 − 5 × (1 − 0.0184) = 5.09 ready members on average, i.e. 5.09 idle sandbox-hours per hour.
        assertThat(p.chosen().idleMembers()).isCloseTo(5.091922851683241, within(1e-12));
        assertThat(p.smaller().orElseThrow().idleMembers()).isCloseTo(4.187288929870969, within(1e-12));
    }

    @Test
    void compute_maxTooSmall_recommendsMaxAndFlagsIt() {
        Recommendation r = Recommendation.compute("payments", LOAD_5, new PoolSettings(0, 8, 0.98));
        Recommendation.HourPlan p = r.at(new HourOfWeek(9));
        assertThat(p.chosen().size()).isEqualTo(8);
        assertThat(p.meetsTarget()).isFalse();
        assertThat(r.anyMissesTarget()).isTrue();
    }

    @Test
    void compute_minAboveNeed_keepsMin() {
        Recommendation.HourPlan p = Recommendation.compute("payments", LOAD_5, new PoolSettings(12, 20, 0.98)).at(new HourOfWeek(9));
        assertThat(p.chosen().size()).isEqualTo(12);
        assertThat(p.smaller().orElseThrow().size()).as("shown even below min, for the trade-off").isEqualTo(11);
    }

    @Test
    void compute_hourWithoutClaims_keepsMinAndMissesNothing() {
        Recommendation r = Recommendation.compute("payments", LOAD_5, new PoolSettings(1, 20, 0.98));
        Recommendation.HourPlan quiet = r.at(new HourOfWeek(30));
        assertThat(quiet.chosen()).isEqualTo(new Choice(1, 1.0, 1.0));
        assertThat(quiet.meetsTarget()).isTrue();
        assertThat(r.anyMissesTarget()).isFalse();
    }

    @Test
    void compute_sizeZeroHasNoSmallerAlternative() {
        Recommendation.HourPlan quiet = Recommendation.compute("payments", LOAD_5, new PoolSettings(0, 20, 0.98)).at(new HourOfWeek(30));
        assertThat(quiet.chosen().size()).isZero();
        assertThat(quiet.smaller()).isEmpty();
        assertThat(quiet.larger().size()).isEqualTo(1);
    }

    @Test
    void weeklyHitRate_weightsHoursByTheirClaims() {
        Recommendation r = Recommendation.compute("payments", LOAD_5, new PoolSettings(0, 20, 0.98));
        assertThat(r.weeklyHitRate()).as("only Monday 09:00 has claims").isCloseTo(0.9816154296633519, within(1e-12));
        assertThat(r.weeklyIdleSandboxHours()).isCloseTo(5.091922851683241, within(1e-12));
    }

    @Test
    void spans_collapseEqualConsecutiveHours() {
        Recommendation r = Recommendation.compute("payments", LOAD_5, new PoolSettings(0, 20, 0.98));
        assertThat(r.spans()).extracting(s -> s.first().index() + "-" + s.last().index() + ":" + s.chosen().size())
                .containsExactly("0-8:0", "9-9:10", "10-167:0");
        Recommendation.Span busy = r.spans().get(1);
        assertThat(busy.claimsPerHour()).isCloseTo(60.0, within(1e-9));
        assertThat(busy.smaller().orElseThrow().size()).isEqualTo(9);
    }
}
