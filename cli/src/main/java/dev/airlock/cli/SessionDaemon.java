package dev.airlock.cli;

import dev.airlock.server.DaemonClient;
import java.io.PrintWriter;
import java.util.Optional;

/** The running daemon for the {@code sandbox} commands, or the error that says how to start one. */
final class SessionDaemon {

    private SessionDaemon() {
    }

    static Optional<DaemonClient> connect(PrintWriter err) {
        Optional<DaemonClient> c = DaemonClient.ifRunning(DaemonSocket.path());
        if (c.isEmpty()) {
            err.println("airlock: no daemon answers on " + DaemonSocket.path() + "; sessions live in its warm pool."
                    + " Fix: start one, as root, with `airlock daemon --config FILE`, or set AIRLOCK_STATE / AIRLOCK_DAEMON_SOCKET.");
        }
        return c;
    }

    /** The sandbox id that {@code ref} (an id, a unique id prefix or a session name) names, or empty with the error printed. */
    static Optional<String> resolve(DaemonClient daemon, String ref, PrintWriter err) throws java.io.IOException {
        try {
            return Optional.of(daemon.resolveSession(ref));
        } catch (dev.airlock.server.DaemonException e) {
            err.println("airlock: " + e.getMessage());
            return Optional.empty();
        }
    }
}
