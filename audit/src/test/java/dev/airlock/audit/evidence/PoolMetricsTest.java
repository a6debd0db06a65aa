package dev.airlock.audit.evidence;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.pool.state.PoolHistory;
import dev.airlock.pool.state.StateDatabaseException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The evidence bundle's pool metrics against an in-memory {@link PoolHistory}. */
class PoolMetricsTest {

    private static final Instant NOW = Instant.parse("2026-11-27T12:00:00Z");

    /** Answers every window with {@code projects}, or fails with {@code failure} when it is set. */
    private record FixedHistory(List<PoolHistory.ProjectWindow> projects, Optional<String> failure) implements PoolHistory {
        @Override
        public void sample(String project, Instant time, int desired, int ready, int warming, int inUse) {
            throw new UnsupportedOperationException("the evidence bundle only reads");
        }

        @Override
        public List<ProjectWindow> window(Instant from, Instant to) throws StateDatabaseException {
            if (failure.isPresent()) {
                throw new StateDatabaseException(failure.get(), null);
            }
            return projects;
        }
    }

    @Test
    void read_claimsAndSizes_giveRates() {
        PoolHistory.Size size = new PoolHistory.Size(1.5, 2, 2, 3, 2);
        PoolMetrics.Report r = PoolMetrics.read(new FixedHistory(List.of(new PoolHistory.ProjectWindow("payments", 3, 1, 2, Optional.of(size))),
                Optional.empty()), NOW, Duration.ofDays(7));
        assertThat(r.from()).isEqualTo(NOW.minus(Duration.ofDays(7)));
        assertThat(r.note()).isEmpty();
        assertThat(r.projects()).singleElement().satisfies(p -> {
            assertThat(p.warmHitRate()).isEqualTo(0.75);
            assertThat(p.coldStartRate()).isEqualTo(0.25);
            assertThat(p.failed()).isEqualTo(2);
            assertThat(p.size()).contains(size);
        });
    }

    @Test
    void read_emptyWindow_saysSoNotZero() {
        PoolMetrics.Report r = PoolMetrics.read(new FixedHistory(List.of(), Optional.empty()), NOW, Duration.ofDays(7));
        assertThat(r.projects()).isEmpty();
        assertThat(r.note()).isEqualTo("no claims in the window");
    }

    @Test
    void read_unreadableHistory_becomesTheNote() {
        PoolMetrics.Report r = PoolMetrics.read(new FixedHistory(List.of(), Optional.of("no daemon claim data: /s/airlock.db has no claim table")),
                NOW, Duration.ofDays(7));
        assertThat(r.projects()).isEmpty();
        assertThat(r.note()).isEqualTo("no daemon claim data: /s/airlock.db has no claim table");
    }
}
