package dev.airlock.pool.template;

import java.nio.file.Path;
import java.util.List;

/**
 * Runs a template's {@code workspace.setup} commands on its tree, appending all output to
 * {@code log}. In production ({@link SandboxSetupRunner}) each command runs in a fresh sandbox with
 * the project's policy in its setup phase; tests without root substitute a local runner.
 */
public interface SetupRunner {

    /**
     * What one setup needs. The tree is a plain, writable workspace; {@code log} exists and is
     * appended to. The first {@code rootSteps} steps run as root of the sandbox's user namespace
     * into root layer {@code layer} of the project's image, which is sealed after the last of them;
     * the later steps run as the sandbox user on the image with that layer stacked read-only
     * (docs/images.md, "Setup as root"). {@code layer} is present exactly when {@code rootSteps > 0}.
     */
    record Request(String project, Path tree, List<String> steps, int rootSteps, java.util.Optional<String> layer, Path log,
            ProgressSink progress) {
        public Request {
            steps = List.copyOf(steps);
            if (rootSteps < 0 || rootSteps > steps.size() || (rootSteps > 0) != layer.isPresent()) {
                throw new IllegalArgumentException("root steps " + rootSteps + " of " + steps.size() + " with layer " + layer);
            }
        }

        /** Every step as the sandbox user, no root layer. */
        public Request(String project, Path tree, List<String> steps, Path log, ProgressSink progress) {
            this(project, tree, steps, 0, java.util.Optional.empty(), log, progress);
        }

        /** The root layer step {@code i} (from 0) runs with: writable for a root step, the sealed one after them, none without. */
        public java.util.Optional<dev.airlock.runtime.TemplateLayer> layerFor(int i) {
            return layer.map(name -> new dev.airlock.runtime.TemplateLayer(name, i < rootSteps));
        }
    }

    /** Runs the steps in order, stopping at the first that fails; 0 when every step succeeded, else that step's exit code. */
    int run(Request request) throws TemplateException;
}
