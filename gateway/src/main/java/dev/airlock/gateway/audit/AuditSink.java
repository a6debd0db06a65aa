package dev.airlock.gateway.audit;

/**
 * Where the gateway sends audit events. The gateway records a decision <em>before</em> it acts on
 * it: when {@link #submit} returns false the connection is denied with reason {@code fail-closed}
 * (unless the operator chose fail-open), so nothing is ever allowed unrecorded.
 */
public interface AuditSink extends AutoCloseable {

    /**
     * Queues an event for appending. Never blocks the caller for long and never throws.
     *
     * @return false when the event cannot be accepted (queue full, sink failed); the caller must
     *         then fail closed
     */
    boolean submit(AuditEvent event);

    /**
     * Waits until every event this sink accepted before the call is in the log's file (handed to
     * the OS, so that even a {@code kill -9} of this process no longer loses it) or counted as
     * failed, for at most {@code timeout}. A run's end waits here, so that when its client sees the
     * exit status the run's records can be read. Sinks that write synchronously keep the default.
     *
     * @return true when they are; false when the time ran out first
     */
    default boolean awaitWritten(java.time.Duration timeout) throws InterruptedException {
        return true;
    }

    /** False once the sink has failed; stays false until restarted. */
    boolean healthy();

    @Override
    void close();

    /** A sink that accepts and discards everything: only for tests that assert on other things. */
    static AuditSink discarding() {
        return new AuditSink() {
            @Override
            public boolean submit(AuditEvent event) {
                return true;
            }

            @Override
            public boolean healthy() {
                return true;
            }

            @Override
            public void close() {
            }
        };
    }
}
