package dev.airlock.cli;

import java.nio.file.Path;

/** Where Airlock keeps its state: {@code $AIRLOCK_STATE}, else a root or per-user default. */
final class StateDirectory {

    private StateDirectory() {
    }

    static Path root() {
        String env = System.getenv("AIRLOCK_STATE");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        if ("root".equals(System.getProperty("user.name"))) {
            return Path.of("/var/lib/airlock");
        }
        return Path.of(System.getProperty("user.home"), ".local", "state", "airlock");
    }

    static Path auditLog() {
        return root().resolve("audit.log");
    }
}
