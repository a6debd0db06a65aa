package dev.airlock.cli;

import java.nio.file.Path;

/** Where the command line looks for the daemon: {@code $AIRLOCK_DAEMON_SOCKET}, else STATE/daemon.sock. */
final class DaemonSocket {

    private DaemonSocket() {
    }

    static Path path() {
        String env = System.getenv("AIRLOCK_DAEMON_SOCKET");
        return env != null && !env.isBlank() ? Path.of(env) : StateDirectory.root().resolve("daemon.sock");
    }
}
