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
