package dev.airlock.pool.state;

/** The state database could not be opened, read or written; the message names the file and the fix. */
public final class StateDatabaseException extends Exception {

    /** Public so that fakes of the interfaces can fail as the database does. */
    public StateDatabaseException(String message, Throwable cause) {
        super(message, cause);
    }
}
