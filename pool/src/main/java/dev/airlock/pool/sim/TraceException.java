package dev.airlock.pool.sim;

/** A usage trace that cannot be read; the message is {@code file:line: problem; fix: how}. */
public final class TraceException extends Exception {

    TraceException(String message) {
        super(message);
    }
}
