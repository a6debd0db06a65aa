package dev.airlock.audit.evidence;

import dev.airlock.pool.state.PoolHistory;
import dev.airlock.pool.state.StateDatabase;
import dev.airlock.pool.state.StateDatabaseException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Pool metrics over a window, from the daemon's state database ({@code $STATE/airlock.db}, opened read
 * only through its owner, pool's {@link StateDatabase}). The bundle says so explicitly when there is no
 * daemon data, or when the database has no claims table: a missing number is never shown as zero.
 */
final class PoolMetrics {

    /** Claims of one project in the window. */
    public record ProjectClaims(String project, long warm, long cold, long failed, Optional<PoolHistory.Size> size) {
        public double warmHitRate() {
            return warm + cold == 0 ? Double.NaN : (double) warm / (warm + cold);
        }

        public double coldStartRate() {
            return warm + cold == 0 ? Double.NaN : (double) cold / (warm + cold);
        }
    }

    /** What was found: {@code note} says why {@code projects} is empty when it is. */
    public record Report(Instant from, Instant to, List<ProjectClaims> projects, String note) {
    }

    private PoolMetrics() {
    }

    /** Reads the window from the state directory's database, if the daemon ever wrote one. */
    public static Report read(Path stateDir, Instant now, Duration window) {
        Path db = stateDir.resolve("airlock.db");
        if (!Files.isRegularFile(db)) {
            return new Report(now.minus(window), now, List.of(), "no daemon data: " + db + " does not exist (the daemon has not run on this host)");
        }
        try (StateDatabase state = StateDatabase.openReadOnly(db)) {
            return read(state, now, window);
        } catch (StateDatabaseException e) {
            return new Report(now.minus(window), now, List.of(), e.getMessage());
        }
    }

    /** Reads the window from {@code history}; an unreadable history becomes the report's note. */
    static Report read(PoolHistory history, Instant now, Duration window) {
        Instant from = now.minus(window);
        try {
            List<ProjectClaims> out = history.window(from, now).stream()
                    .map(w -> new ProjectClaims(w.project(), w.warm(), w.cold(), w.failed(), w.size())).toList();
            return new Report(from, now, out, out.isEmpty() ? "no claims in the window" : "");
        } catch (StateDatabaseException e) {
            return new Report(from, now, List.of(), e.getMessage());
        }
    }
}
