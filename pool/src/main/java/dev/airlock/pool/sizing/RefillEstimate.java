package dev.airlock.pool.sizing;

import java.time.Duration;
import java.util.List;

/**
 * The mean refill time T (how long preparing one member takes) and where it came from.
 *
 * @param mean    the mean refill time
 * @param samples how many measured preparations the mean is over (0 unless measured)
 * @param source  measured from the history, given by the user, or the default
 */
public record RefillEstimate(Duration mean, int samples, Source source) {

    /**
     * The refill time assumed before any is measured: 30 seconds. Deliberately pessimistic (a member
     * needs a network namespace, rules, a gateway registration, an overlay and an init process, which
     * take well under a few seconds on a quiet host), because a longer T sizes a larger pool, so the
     * first recommendation errs toward warm hits rather than cold starts. Measurement replaces it as
     * soon as one preparation is recorded.
     */
    public static final Duration DEFAULT = Duration.ofSeconds(30);

    public enum Source {
        MEASURED("measured"), GIVEN("given"), DEFAULT("default");

        public final String label;

        Source(String label) {
            this.label = label;
        }
    }

    public RefillEstimate {
        if (mean.isNegative()) {
            throw new IllegalArgumentException("refill time is negative: " + mean);
        }
    }

    public static RefillEstimate given(Duration mean) {
        return new RefillEstimate(mean, 0, Source.GIVEN);
    }

    /** The mean of the measured preparations, or {@link #DEFAULT} when there are none. */
    public static RefillEstimate measured(List<Duration> samples) {
        if (samples.isEmpty()) {
            return new RefillEstimate(DEFAULT, 0, Source.DEFAULT);
        }
        long totalMicros = 0;
        for (Duration d : samples) {
            totalMicros = Math.addExact(totalMicros, d.toNanos() / 1000);
        }
        return new RefillEstimate(Duration.ofNanos(totalMicros / samples.size() * 1000), samples.size(), Source.MEASURED);
    }

    public double seconds() {
        return mean.toNanos() / 1e9;
    }
}
