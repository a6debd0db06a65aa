package dev.airlock.pool.template;

import dev.airlock.policy.Phase;
import dev.airlock.runtime.SandboxRun;
import dev.airlock.sandbox.SandboxException;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Runs each setup command in its own fresh sandbox through {@link SandboxRun}: the project policy
 * in {@link Phase#SETUP} (its allow rules plus {@code network.setup.allow}; the organisation's
 * production set still applies), the template tree as the plain writable workspace, stdout and
 * stderr, and Airlock's own summary of what was blocked, appended to the log. Root steps run into
 * the request's root layer, sealed after the last of them ({@link SetupRunner.Request#layerFor}).
 */
public final class SandboxSetupRunner implements SetupRunner {

    private final Path policy;
    private final Optional<Path> org;
    private final Optional<Path> hosts;
    private final Path stateDir;

    public SandboxSetupRunner(Path policy, Optional<Path> org, Optional<Path> hosts, Path stateDir) {
        this.policy = policy;
        this.org = org;
        this.hosts = hosts;
        this.stateDir = stateDir;
    }

    @Override
    public int run(Request r) throws TemplateException {
        int n = r.steps().size();
        for (int i = 0; i < n; i++) {
            String step = r.steps().get(i);
            r.progress().setupStep(i + 1, n, step);
            int code;
            try (PrintStream log = new PrintStream(new FileOutputStream(r.log().toFile(), true), true, StandardCharsets.UTF_8)) {
                log.println("airlock: setup step " + (i + 1) + "/" + n + ": " + step);
                log.flush();
                if (i < r.rootSteps()) {
                    log.println("airlock: as root of the sandbox's user namespace, into the image's root layer " + r.layer().orElseThrow());
                }
                code = new SandboxRun(log).run(new SandboxRun.Options(policy, org, hosts, r.tree(), Map.of(), Optional.empty(),
                        List.of("/bin/sh", "-c", step), stateDir, Phase.SETUP, Optional.of(r.log()), r.layerFor(i)));
                log.println("airlock: setup step " + (i + 1) + "/" + n + " exited " + code);
                if (code == 0 && i == r.rootSteps() - 1) {
                    // The last root step is done: the layer becomes root's and inert, and read-only from here on.
                    try {
                        SandboxRun.sealRootLayer(stateDir, r.project(), r.layer().orElseThrow(), log);
                    } catch (SandboxException e) {
                        throw new TemplateException("cannot seal the root layer of " + r.project() + ": " + e.getMessage(), e);
                    }
                }
            } catch (IOException e) {
                throw new TemplateException("cannot write the setup log " + r.log() + ": " + e + ". Fix: check the state directory.", e);
            }
            if (code != 0) {
                return code;
            }
        }
        return 0;
    }
}
