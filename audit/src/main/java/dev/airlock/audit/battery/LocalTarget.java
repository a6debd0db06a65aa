package dev.airlock.audit.battery;

/**
 * A target on this machine that a probe must not reach from the sandbox, and that the audit
 * checks IS reachable without Airlock (the positive control): from the host's own namespace, for a
 * listener the audit started, or by the host reading a file.
 */
public sealed interface LocalTarget {

    /** A TCP listener the audit started; the control connects from the host and reads {@code marker}. */
    record Tcp(String address, int port, String marker) implements LocalTarget {
    }

    /** A UDP responder the audit started; the control sends a datagram from the host and reads {@code marker}. */
    record Udp(String address, int port, String marker) implements LocalTarget {
    }

    /** A file or directory of the host; the control reads it as root on the host. */
    record File(String path) implements LocalTarget {
    }
}
