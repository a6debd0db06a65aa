package dev.airlock.pool.warm;

/** Builds and destroys the members of a pool: prepared sandboxes in production, fakes in tests. */
public interface MemberFactory<M> {

    /** A complete member for {@code project}, or an exception saying why none could be built. */
    M create(String project) throws Exception;

    /** Removes everything {@code member} holds. Never throws; failures are reported and left to the reaper. */
    void destroy(M member);
}
