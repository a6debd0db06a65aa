package dev.airlock.server;

import java.io.IOException;
import java.util.List;

/**
 * Runs one command inside a sandbox, as its user, in its workspace: the daemon's exec. Export
 * produces its data through this, so that git runs where the workspace's own configuration and
 * hooks can do no harm (tests use a plain shell in a directory instead).
 */
@FunctionalInterface
interface SandboxShell {

    /** Starts {@code command}; stdin, stdout and stderr are the returned process's pipes. */
    Process exec(List<String> command) throws IOException;
}
