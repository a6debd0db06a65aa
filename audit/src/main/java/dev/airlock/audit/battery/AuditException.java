package dev.airlock.audit.battery;

/** Airlock could not run the audit (bad input, a host that cannot run sandboxes): exit 125, with the reason. */
public final class AuditException extends Exception {

    public AuditException(String message) {
        super(message);
    }

    public AuditException(String message, Throwable cause) {
        super(message, cause);
    }
}
