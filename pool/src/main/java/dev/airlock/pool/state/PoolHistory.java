package dev.airlock.pool.state;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The pools over time, for the evidence bundle: the daemon writes each pool's size once a minute, and
 * a window reads claims per result with those sizes. {@link StateDatabase} keeps it in {@code airlock.db}.
 */
public interface PoolHistory {

    /** Claims of one project in a window, and its pool's size over it when samples exist. */
    record ProjectWindow(String project, long warm, long cold, long failed, Optional<Size> size) {
    }

    /** Average and maximum ready, the desired size and the most in use, from {@code samples} minute samples. */
    record Size(double meanReady, long maxReady, double meanDesired, long maxInUse, long samples) {
    }

    /** Records one minute's size of {@code project}'s pool; samples older than 60 days are dropped. */
    void sample(String project, Instant time, int desired, int ready, int warming, int inUse) throws StateDatabaseException;

    /**
     * Every project with claims or size samples in {@code [from, to]} (claims to the end of {@code to}'s
     * second), by project name. Throws when there is no claim table to read, rather than answer with
     * zeros: the message says so and names the file.
     */
    List<ProjectWindow> window(Instant from, Instant to) throws StateDatabaseException;
}
