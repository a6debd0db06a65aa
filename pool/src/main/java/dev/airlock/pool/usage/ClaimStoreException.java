package dev.airlock.pool.usage;

/** The usage database could not be opened, read or written; the message names the file and the fix. */
public final class ClaimStoreException extends Exception {

    ClaimStoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
