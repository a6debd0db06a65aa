package dev.airlock.pool.sizing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.airlock.pool.usage.ClaimRecord;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class DemandTest {

    /** A Monday, 00:00 UTC. */
    private static final Instant MONDAY = Instant.parse("2026-11-02T00:00:00Z");
    private static final HourOfWeek MON_09 = new HourOfWeek(9);

    @Test
    void hourOfWeek_mondayMidnightIsZero_sundayLastHourIs167() {
        assertThat(HourOfWeek.of(MONDAY, ZoneOffset.UTC).index()).isZero();
        assertThat(HourOfWeek.of(MONDAY.minusSeconds(1), ZoneOffset.UTC).index()).isEqualTo(167);
        assertThat(HourOfWeek.of(MONDAY.plus(Duration.ofHours(33)), ZoneOffset.UTC).label()).isEqualTo("Tue 09:00");
    }

    @Test
    void hourOfWeek_readsTheZonesWallClock() {
        // 08:30 UTC is 09:30 in Berlin in November (CET, UTC+1).
        assertThat(HourOfWeek.of(MONDAY.plus(Duration.ofMinutes(8 * 60 + 30)), ZoneId.of("Europe/Berlin"))).isEqualTo(MON_09);
    }

    @Test
    void measure_twoWholeWeeks_averagesEachHourOverTheWeeks() {
        List<Instant> claims = List.of(
                MONDAY.plus(Duration.ofMinutes(9 * 60 + 10)), MONDAY.plus(Duration.ofMinutes(9 * 60 + 50)),
                MONDAY.plus(Duration.ofDays(7)).plus(Duration.ofMinutes(9 * 60 + 30)));
        Demand d = Demand.measure(claims, MONDAY, MONDAY.plus(Duration.ofDays(14)), ZoneOffset.UTC, RefillEstimate.given(Duration.ofSeconds(30)));
        assertThat(d.weeks()).isCloseTo(2.0, within(1e-12));
        Demand.Hour h = d.hours().get(9);
        assertThat(h.claims()).isEqualTo(3);
        assertThat(h.exposureSeconds()).isEqualTo(7200.0);
        assertThat(h.ratePerHour()).isCloseTo(1.5, within(1e-12));
        assertThat(d.hours().get(10).ratePerSecond()).isZero();
        assertThat(d.hours().get(10).observed()).isTrue();
    }

    @Test
    void measure_partialWeek_unobservedHoursTakeTheOverallRate() {
        // Monday 00:00 to 12:00: 12 hours observed, 6 claims, all at 09:xx.
        List<Instant> claims = java.util.stream.IntStream.range(0, 6).mapToObj(i -> MONDAY.plus(Duration.ofMinutes(9 * 60 + i))).toList();
        Demand d = Demand.measure(claims, MONDAY, MONDAY.plus(Duration.ofHours(12)), ZoneOffset.UTC, RefillEstimate.given(Duration.ZERO));
        assertThat(d.hours().get(9).ratePerHour()).isCloseTo(6.0, within(1e-12));
        assertThat(d.hours().get(3).ratePerHour()).as("observed, no claims").isZero();
        Demand.Hour unseen = d.hours().get(30);
        assertThat(unseen.observed()).isFalse();
        assertThat(unseen.ratePerHour()).as("6 claims over 12 hours").isCloseTo(0.5, within(1e-12));
    }

    @Test
    void measure_claimsOutsideTheWindow_ignored() {
        Demand d = Demand.measure(List.of(MONDAY.minusSeconds(1), MONDAY.plus(Duration.ofHours(1))), MONDAY, MONDAY.plus(Duration.ofHours(1)),
                ZoneOffset.UTC, RefillEstimate.given(Duration.ZERO));
        assertThat(d.claims()).isZero();
    }

    @Test
    void measure_acrossDaylightSavingChange_exposureAddsUpToTheWindow() {
        // Berlin falls back on 2026-10-25: that Sunday has 25 hours, and 02:00–03:00 happens twice.
        Instant from = Instant.parse("2026-10-19T00:00:00Z");
        Instant to = Instant.parse("2026-11-02T00:00:00Z");
        Demand d = Demand.measure(List.of(), from, to, ZoneId.of("Europe/Berlin"), RefillEstimate.given(Duration.ZERO));
        double total = d.hours().stream().mapToDouble(Demand.Hour::exposureSeconds).sum();
        assertThat(total).isEqualTo((double) Duration.between(from, to).toSeconds());
        assertThat(d.hours().get(6 * 24 + 2).exposureSeconds()).as("Sun 02:00 seen three times").isEqualTo(3 * 3600.0);
    }

    @Test
    void fromClaims_refillIsTheMeanOfKnownPreparations_failedClaimsCountAsArrivals() {
        List<ClaimRecord> records = List.of(
                ClaimRecord.warm("payments", MONDAY.plusSeconds(10), Duration.ofMillis(5), Duration.ofSeconds(2), Duration.ofMinutes(3)),
                ClaimRecord.cold("payments", MONDAY.plusSeconds(20), Duration.ofSeconds(4), Duration.ofSeconds(4)),
                ClaimRecord.failed("payments", MONDAY.plusSeconds(30), Duration.ofSeconds(1)));
        Demand d = Demand.fromClaims(records, MONDAY, MONDAY.plus(Duration.ofHours(1)), ZoneOffset.UTC, Optional.empty());
        assertThat(d.claims()).isEqualTo(3);
        assertThat(d.refill()).isEqualTo(new RefillEstimate(Duration.ofSeconds(3), 2, RefillEstimate.Source.MEASURED));
    }

    @Test
    void fromClaims_noPreparationMeasured_usesTheDocumentedDefault() {
        Demand d = Demand.fromClaims(List.of(), MONDAY, MONDAY.plus(Duration.ofHours(1)), ZoneOffset.UTC, Optional.empty());
        assertThat(d.refill().mean()).isEqualTo(RefillEstimate.DEFAULT);
        assertThat(d.refill().source()).isEqualTo(RefillEstimate.Source.DEFAULT);
    }
}
