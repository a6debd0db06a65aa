package dev.airlock.sandbox;

/**
 * A sandbox could not be built, started or checked. The message says what failed and how to fix
 * it; for a failed command it also carries the command line and what the command printed on stderr.
 * The launcher fails closed: when this is thrown, no command runs in a half-built sandbox.
 */
public final class SandboxException extends Exception {

    private static final long serialVersionUID = 1L;

    public SandboxException(String message) {
        super(message);
    }

    public SandboxException(String message, Throwable cause) {
        super(message, cause);
    }
}
