package dev.airlock.pool.warm;

/** Builds and destroys the members of a pool: prepared sandboxes in production, fakes in tests. */
public interface MemberFactory<M> {

    /** A complete member for {@code project}, or an exception saying why none could be built. */
    M create(String project) throws Exception;

    /**
     * Whether a ready member can still be handed out (its init may have died while it waited). An
     * unusable member is destroyed instead of claimed. Checked under the pool's lock: keep it cheap.
     */
    default boolean usable(M member) {
        return true;
    }

    /**
     * Completes when {@code member} dies: in production when its init process exits (the kernel's
     * word, through the JVM's process reaper). The pool counts and replaces a member that dies while
     * ready; the completion of a claimed member (its command ended) is ignored. The default never
     * completes (members that cannot die on their own).
     */
    default java.util.concurrent.CompletionStage<MemberDeath> death(M member) {
        return new java.util.concurrent.CompletableFuture<>();
    }

    /** Removes everything {@code member} holds. Never throws; failures are reported and left to the reaper. */
    void destroy(M member);
}
