package dev.airlock.runtime;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Finds the command the sandbox will run, as the sandbox will see it (the host's system
 * directories are mounted read-only inside), so that "not found" (127) and "not runnable" (126)
 * are reported as the shell would, before any sandbox is built.
 */
final class CommandLookup {

    /** The sandbox's PATH: system directories only; the workspace comes first for ./scripts. */
    static final String SANDBOX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    enum Problem { NOT_FOUND, NOT_EXECUTABLE }

    private CommandLookup() {
    }

    static Optional<Problem> check(String command, Path workspace) {
        if (command.indexOf('/') >= 0) {
            Path p = command.startsWith("/") ? Path.of(command) : workspace.resolve(command);
            if (command.startsWith("/workspace/")) {
                p = workspace.resolve(command.substring("/workspace/".length()));
            }
            if (!Files.exists(p)) {
                return Optional.of(Problem.NOT_FOUND);
            }
            return Files.isRegularFile(p) && Files.isExecutable(p) ? Optional.empty() : Optional.of(Problem.NOT_EXECUTABLE);
        }
        for (String dir : SANDBOX_PATH.split(":")) {
            Path p = Path.of(dir, command);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return Optional.empty();
            }
        }
        return Optional.of(Problem.NOT_FOUND);
    }
}
