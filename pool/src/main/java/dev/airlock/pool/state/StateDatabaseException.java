package dev.airlock.pool.state;

/** The state database could not be opened, read or written; the message names the file and the fix. */
public final class StateDatabaseException extends Exception {

    StateDatabaseException(String message, Throwable cause) {
        super(message, cause);
    }
}
