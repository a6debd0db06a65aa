package dev.airlock.pool.template;

import java.nio.file.Path;
import java.util.List;

/**
 * Runs a template's {@code workspace.setup} commands on its tree, appending all output to
 * {@code log}. In production ({@link SandboxSetupRunner}) each command runs in a fresh sandbox with
 * the project's policy in its setup phase; tests without root substitute a local runner.
 */
public interface SetupRunner {

    /** What one setup needs. The tree is a plain, writable workspace; {@code log} exists and is appended to. */
    record Request(String project, Path tree, List<String> steps, Path log, ProgressSink progress) {
        public Request {
            steps = List.copyOf(steps);
        }
    }

    /** Runs the steps in order, stopping at the first that fails; 0 when every step succeeded, else that step's exit code. */
    int run(Request request) throws TemplateException;
}
