package dev.airlock.pool.sim;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * One claim of a usage trace: when it arrived, for which project, and how long it held its sandbox.
 *
 * @param line the trace file line it came from, or 0 when it did not come from a file
 */
public record TraceClaim(Instant time, String project, Duration hold, int line) {

    public TraceClaim {
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(project, "project");
        if (hold.isNegative()) {
            throw new IllegalArgumentException("hold is negative: " + hold);
        }
    }
}
