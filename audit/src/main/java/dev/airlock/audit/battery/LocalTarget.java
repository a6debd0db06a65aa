package dev.airlock.audit.battery;

/**
 * A target on this machine that a probe must not reach from the sandbox, and that the audit
 * checks IS reachable without Airlock (the positive control): from the host's own namespace, for a
 * listener the audit started, or by the host reading a file.
 */
sealed interface LocalTarget {

    /** A TCP listener the audit started; the control connects from the host and reads {@code marker}. */
    record Tcp(String address, int port, String marker) implements LocalTarget {
    }

    /** A UDP responder the audit started; the control sends a datagram from the host and reads {@code marker}. */
    record Udp(String address, int port, String marker) implements LocalTarget {
    }

    /** An address that answers ICMP echo; the control pings it once from the host's namespace. */
    record Echo(String address) implements LocalTarget {
    }

    /** A file or directory of the host; the control reads it as root on the host. */
    record File(String path) implements LocalTarget {
    }

    /**
     * A server that must answer exactly these bytes when they are sent to it directly (a fronting
     * probe's bytes, naming a production host): the control sends them from the host and expects
     * an answer of the given shape.
     *
     * @param payloadHex the bytes, in hex (a value, so that plans compare)
     */
    record Exchange(String address, int port, String payloadHex, Shape expect) implements LocalTarget {
        static Exchange of(String address, int port, byte[] payload, Shape expect) {
            return new Exchange(address, port, java.util.HexFormat.of().formatHex(payload), expect);
        }
    }

    /** What an answer must look like for the control to count it. */
    enum Shape {
        /** a TLS record: a ServerHello or an alert, both say the server read the ClientHello */
        TLS,
        /** an HTTP status line */
        HTTP,
        /** two HTTP status lines: the second request on the connection was answered too */
        TWO_HTTP
    }

    /**
     * A target in the audit's own workspace, checked by {@link WorkspaceTargets} (which knows where
     * the workspace is on the host), not by {@link HostControls}.
     */
    sealed interface InWorkspace extends LocalTarget {
    }

    /** A directory of the workspace; the control writes a file there as the sandbox user, outside the sandbox. */
    record WritableDir(String relative) implements InWorkspace {
    }

    /**
     * Root writing {@code file} of the workspace after the sandbox ran, where the sandbox planted a
     * link to a host file; the control writes through the planted {@code controlFile} as a plain
     * root write would, and sees its host file change.
     */
    record RootWrite(String file, String controlFile) implements InWorkspace {
    }
}
