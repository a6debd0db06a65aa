package dev.airlock.pool.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.pool.usage.ClaimRecord;
import dev.airlock.pool.usage.Retention;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link PoolHistory} as {@link StateDatabase} keeps it, in a real SQLite file. */
class PoolHistoryTest {

    private static final Instant NOW = Instant.parse("2026-11-27T12:00:00Z");
    private static final Duration DAY = Duration.ofDays(1);

    @TempDir
    Path dir;

    private StateDatabase open() throws StateDatabaseException {
        return StateDatabase.open(dir.resolve("airlock.db"), Retention.DEFAULT, Clock.fixed(NOW, ZoneOffset.UTC));
    }

    @Test
    void window_countsClaimsByResultAndAveragesSamples_perProject() throws Exception {
        try (StateDatabase db = open()) {
            Instant t = NOW.minusSeconds(3600);
            db.appendAll(List.of(ClaimRecord.warm("payments", t, Duration.ZERO, Duration.ZERO, Duration.ZERO),
                    ClaimRecord.warm("payments", t, Duration.ZERO, Duration.ZERO, Duration.ZERO),
                    ClaimRecord.cold("payments", t, Duration.ZERO, Duration.ZERO),
                    ClaimRecord.failed("billing", t, Duration.ZERO),
                    ClaimRecord.warm("payments", NOW.minus(Duration.ofDays(3)), Duration.ZERO, Duration.ZERO, Duration.ZERO)));
            db.sample("payments", NOW.minusSeconds(120), 2, 2, 0, 1);
            db.sample("payments", NOW.minusSeconds(60), 2, 1, 1, 3);
            db.sample("search", NOW.minusSeconds(60), 1, 1, 0, 0);

            assertThat(db.window(NOW.minus(DAY), NOW)).containsExactly(
                    new PoolHistory.ProjectWindow("billing", 0, 0, 1, Optional.empty()),
                    new PoolHistory.ProjectWindow("payments", 2, 1, 0, Optional.of(new PoolHistory.Size(1.5, 2, 2, 3, 2))),
                    new PoolHistory.ProjectWindow("search", 0, 0, 0, Optional.of(new PoolHistory.Size(1, 1, 1, 0, 1))));
        }
    }

    @Test
    void window_nothingInIt_isEmpty() throws Exception {
        try (StateDatabase db = open()) {
            db.sample("payments", NOW.minus(Duration.ofDays(2)), 2, 2, 0, 0);
            assertThat(db.window(NOW.minus(DAY), NOW)).isEmpty();
        }
    }

    @Test
    void sample_dropsSamplesOlderThan60Days() throws Exception {
        try (StateDatabase db = open()) {
            db.sample("payments", NOW.minus(Duration.ofDays(61)), 5, 5, 0, 0);
            db.sample("payments", NOW.minus(Duration.ofDays(59)), 3, 3, 0, 0);
            db.sample("payments", NOW, 1, 1, 0, 0);
            assertThat(db.window(NOW.minus(Duration.ofDays(90)), NOW)).singleElement()
                    .satisfies(w -> assertThat(w.size()).hasValueSatisfying(s -> assertThat(s.samples()).isEqualTo(2)));
        }
    }

    @Test
    void window_databaseWithoutClaimTable_saysSoNamingTheFile() throws Exception {
        Path db = dir.resolve("airlock.db");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db)) {
            c.createStatement().execute("create table other(x)");
        }
        try (StateDatabase state = StateDatabase.openReadOnly(db)) {
            assertThatThrownBy(() -> state.window(NOW.minus(DAY), NOW)).isInstanceOf(StateDatabaseException.class)
                    .hasMessageContaining("no claim table").hasMessageContaining(db.toString()).hasMessageContaining("other");
        }
    }
}
