package dev.airlock.pool.sizing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.policy.model.ProjectPolicy.PoolSettings;
import dev.airlock.pool.usage.ClaimRecord;
import dev.airlock.pool.state.StateDatabase;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AutoSizerTest {

    private static final Instant MONDAY = Instant.parse("2026-11-02T00:00:00Z");
    private static final Instant NEXT_MONDAY = MONDAY.plus(Duration.ofDays(7));

    /** a = 5 at Monday 09:00 with T = 5 minutes; the target 98% needs 10 members then, 0 otherwise. */
    private static Recommendation recommendation() {
        return Recommendation.compute("payments", RecommendationTest.mondayNine(60, Duration.ofMinutes(5)), new PoolSettings(0, 20, 0.98));
    }

    private static AutoSizer at(Instant now) {
        return new AutoSizer(recommendation(), Clock.fixed(now, ZoneOffset.UTC));
    }

    @Test
    void desiredSize_duringTheBusyHour_isTheRecommendation() {
        assertThat(at(NEXT_MONDAY.plus(Duration.ofMinutes(9 * 60 + 30))).desiredSize()).isEqualTo(10);
    }

    @Test
    void desiredSize_oneRefillTimeBeforeTheBusyHour_growsAlready() {
        assertThat(at(NEXT_MONDAY.plus(Duration.ofMinutes(8 * 60 + 54))).desiredSize()).as("6 minutes before").isZero();
        assertThat(at(NEXT_MONDAY.plus(Duration.ofMinutes(8 * 60 + 55))).desiredSize()).as("5 minutes (T) before").isEqualTo(10);
    }

    @Test
    void desiredSize_afterTheBusyHour_shrinks() {
        assertThat(at(NEXT_MONDAY.plus(Duration.ofHours(10))).desiredSize()).isZero();
    }

    @Test
    void fromHistory_readsTheStoreAndMeasuresRefill(@TempDir Path dir) throws Exception {
        Instant now = MONDAY.plus(Duration.ofDays(14)).plus(Duration.ofMinutes(9 * 60 + 1));
        List<ClaimRecord> records = new ArrayList<>();
        for (int week = 0; week < 2; week++) {
            for (int i = 0; i < 60; i++) {
                Instant t = MONDAY.plus(Duration.ofDays(7L * week)).plus(Duration.ofHours(9)).plusSeconds(60L * i);
                records.add(ClaimRecord.warm("payments", t, Duration.ofMillis(5), Duration.ofMinutes(5), Duration.ofMinutes(30)));
            }
        }
        try (StateDatabase store = StateDatabase.open(dir.resolve("airlock.db"), dev.airlock.pool.usage.Retention.DEFAULT,
                Clock.fixed(now, ZoneOffset.UTC))) {
            store.appendAll(records);
            AutoSizer sizer = AutoSizer.fromHistory(store, "payments", new PoolSettings(0, 20, 0.98), Duration.ofDays(28), ZoneOffset.UTC,
                    Clock.fixed(now, ZoneOffset.UTC));
            assertThat(sizer.leadTime()).isEqualTo(Duration.ofMinutes(5));
            assertThat(sizer.recommendation().demand().weeks()).as("from the first claim's hour, not 28 days back").isLessThan(2.1);
            assertThat(sizer.desiredSize()).isEqualTo(10);
        }
    }
}
