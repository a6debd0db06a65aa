package dev.airlock.server;

import dev.airlock.pool.template.SetupRunner;
import dev.airlock.pool.template.TemplateException;
import dev.airlock.runtime.SandboxHost;
import dev.airlock.sandbox.SandboxException;
import dev.airlock.sandbox.WorkspaceProtection;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * Template setup inside the daemon: each step runs in a fresh sandbox of the daemon's own host
 * (its gateway, its audit log), with the project's policy in its setup phase
 * ({@code network.setup.allow} added, production still denied). A separate {@code airlock run}
 * would open a second writer on the daemon's audit log, which the log refuses.
 */
final class HostSetupRunner implements SetupRunner {

    private final SandboxHost host;
    /** Read per step: a reload's setup rules and resources apply from the next step on. */
    private final LivePolicy policy;

    HostSetupRunner(SandboxHost host, LivePolicy policy) {
        this.host = host;
        this.policy = policy;
    }

    @Override
    public int run(Request r) throws TemplateException {
        int n = r.steps().size();
        try (OutputStream log = new FileOutputStream(r.log().toFile(), true)) {
            for (int i = 0; i < n; i++) {
                String step = r.steps().get(i);
                r.progress().setupStep(i + 1, n, step);
                write(log, "airlock: setup step " + (i + 1) + "/" + n + ": " + step + "\n");
                if (i < r.rootSteps()) {
                    write(log, "airlock: as root of the sandbox's user namespace, into the image's root layer " + r.layer().orElseThrow() + "\n");
                }
                int code = step(r, step, r.layerFor(i), log);
                write(log, "airlock: setup step " + (i + 1) + "/" + n + " exited " + code + "\n");
                if (code != 0) {
                    return code;
                }
                if (i == r.rootSteps() - 1) {
                    // The last root step's sandbox is gone: the layer becomes root's and inert, read-only from here on.
                    try {
                        host.launcher().sealRootLayer(r.project(), r.layer().orElseThrow());
                    } catch (SandboxException e) {
                        throw new TemplateException("cannot seal the root layer of " + r.project() + ": " + e.getMessage(), e);
                    }
                }
            }
            return 0;
        } catch (IOException e) {
            throw new TemplateException("cannot write the setup log " + r.log() + ": " + e + ". Fix: check the state directory.", e);
        }
    }

    private int step(Request r, String step, java.util.Optional<dev.airlock.runtime.TemplateLayer> layer, OutputStream log) throws TemplateException, IOException {
        SandboxHost.Member m;
        try {
            // A setup's git writes (git submodule update --init writes .git/config and .git/modules) stay
            // possible: nobody runs git on the host in a template tree (root only in the mirror; catch-up in a sandbox).
            // Setup runs inside the project's image (docs/images.md), like the members built on its template.
            m = host.prepare(r.project(), policy.setupEngine(), policy.resources(), r.tree(), false, new WorkspaceProtection(false, List.of()),
                    policy.settings().trust(), dev.airlock.runtime.ProjectImage.root(host.launcher(), policy.policy()), layer);
        } catch (SandboxException e) {
            throw new TemplateException("cannot build a sandbox for the setup of " + r.project() + ": " + e.getMessage(), e);
        }
        try {
            Process p = host.start(m, List.of("/bin/sh", "-c", step), Map.of());
            p.getOutputStream().close();
            Thread err = Thread.ofVirtual().start(() -> copy(p.getErrorStream(), log));
            copy(p.getInputStream(), log);
            err.join();
            return p.waitFor();
        } catch (SandboxException e) {
            throw new TemplateException("cannot start the setup of " + r.project() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TemplateException("interrupted during the setup of " + r.project(), e);
        } finally {
            host.destroy(m);
        }
    }

    private static void copy(InputStream in, OutputStream log) {
        byte[] buf = new byte[8192];
        try (in) {
            for (int n; (n = in.read(buf)) > 0; ) {
                synchronized (log) {
                    log.write(buf, 0, n);
                    log.flush();
                }
            }
        } catch (IOException e) {
            // the step ended
        }
    }

    private static void write(OutputStream log, String line) throws IOException {
        synchronized (log) {
            log.write(line.getBytes(StandardCharsets.UTF_8));
            log.flush();
        }
    }
}
