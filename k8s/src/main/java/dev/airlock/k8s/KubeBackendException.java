package dev.airlock.k8s;

/**
 * A Kubernetes backend operation that could not be done: what failed and the fix, in one message.
 * Nothing half-applied is left behind when this is thrown from an apply.
 */
public final class KubeBackendException extends Exception {

    private static final long serialVersionUID = 1L;

    public KubeBackendException(String message) {
        super(message);
    }

    public KubeBackendException(String message, Throwable cause) {
        super(message, cause);
    }
}
