package dev.airlock.pool.warm;

import java.time.Duration;

/** What a pool reports as it works: the daemon turns it into metrics and the usage history. */
public interface PoolListener {

    enum Result {
        WARM, COLD, FAILED;

        public String code() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * A claim ended: how, how long it took, how long the member had been ready (warm claims), and how
     * long building it took (warm: in the background; cold: during the claim; failed: zero).
     */
    void claimed(String project, Result result, Duration took, Duration age, Duration built);

    /** A background build finished in {@code took}. */
    void refilled(String project, Duration took);

    /** A background build failed; the pool backs off. */
    void refillFailed(String project, Throwable error);

    /** A ready member died on its own; the pool has already taken it out of {@code ready} and replaces it. */
    default void memberDied(String project, MemberDeath death) {
    }

    PoolListener NONE = new PoolListener() {
        @Override
        public void claimed(String project, Result result, Duration took, Duration age, Duration built) {
        }

        @Override
        public void refilled(String project, Duration took) {
        }

        @Override
        public void refillFailed(String project, Throwable error) {
        }
    };
}
