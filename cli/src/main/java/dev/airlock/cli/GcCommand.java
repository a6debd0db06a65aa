package dev.airlock.cli;

import dev.airlock.runtime.demo.DemoWorld;
import dev.airlock.sandbox.AuditWorkDirs;
import dev.airlock.sandbox.KernelOp;
import dev.airlock.sandbox.ReapReport;
import dev.airlock.sandbox.SandboxException;
import dev.airlock.sandbox.SandboxLauncher;
import dev.airlock.server.DaemonServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "gc",
        mixinStandardHelpOptions = true,
        description = {
            "Remove what crashed runs left behind (root): namespaces, links, nftables tables, cgroups",
            "and policy routes named with Airlock's alk prefix whose owner is gone. Objects without the",
            "prefix are never touched. The daemon's member workspaces ($AIRLOCK_STATE-workspaces/*/w-*)",
            "of the sandboxes it removes go with them, and, when no daemon runs on $AIRLOCK_STATE, those",
            "that no sandbox holds (a daemon killed while creating one). airlock run does this on every start too.",
            "Agents' work that was kept because it could not be exported ($AIRLOCK_STATE/kept/*) is removed",
            "once its retention window (the daemon's export.keep, default 24h) has passed, never before.",
            "Unpacked images ($AIRLOCK_STATE/images/sha256-*) that no sandbox runs on and nothing has used",
            "for 24h are removed (docs/images.md); the next run that names one unpacks it again.",
            "Work directories of audits that were killed ($AIRLOCK_STATE-audits/a-*: their lease is held by no",
            "process) are removed; a running audit's are never touched."
        },
        footer = {"", "Exit codes: 0 clean; 1 something could not be removed; 125 not root or tools missing."})
final class GcCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            SandboxLauncher.checkHost();
        } catch (SandboxException e) {
            err.println("airlock: " + e.getMessage());
            return ExitCodes.AIRLOCK_ERROR;
        }
        DemoWorld.reap();
        try (SandboxLauncher launcher = SandboxLauncher.system(StateDirectory.root())) {
            ReapReport r = launcher.reap();
            r.removed().forEach(o -> out.println("removed " + o));
            List<String> swept = sweptWorkspaces(launcher, err);
            swept.forEach(w -> out.println("removed " + w));
            List<String> expired = DaemonServer.sweepExpiredWork(StateDirectory.root(), launcher.kernel());
            expired.forEach(w -> out.println("removed " + w + " (its retention window passed)"));
            List<String> images = unusedImages(launcher, err);
            images.forEach(d -> out.println("removed image " + d + " (unused for " + IMAGE_GRACE.toHours() + "h)"));
            List<String> audits = abandonedAudits(launcher, err);
            audits.forEach(d -> out.println("removed " + d + " (the audit that made it is gone)"));
            r.failures().forEach(f -> err.println("airlock: could not remove " + f));
            out.println(r.removed().isEmpty() && swept.isEmpty() && expired.isEmpty() && images.isEmpty() && audits.isEmpty()
                    ? "nothing to remove"
                    : "removed " + r.removed().size() + " objects of "
                    + r.sandboxes().size() + " sandboxes" + (swept.isEmpty() ? "" : " and " + swept.size() + " workspaces no sandbox held")
                    + (expired.isEmpty() ? "" : "; " + expired.size() + " kept work(s) past their retention window")
                    + (images.isEmpty() ? "" : "; " + images.size() + " unused image(s)")
                    + (audits.isEmpty() ? "" : "; " + audits.size() + " killed audit(s)' work directories"));
            return r.clean() ? ExitCodes.OK : ExitCodes.BAD_INPUT;
        }
    }

    /** How long an unpacked image no sandbox runs on stays in the store after its last use (docs/images.md). */
    static final java.time.Duration IMAGE_GRACE = java.time.Duration.ofHours(24);

    /** The store's images past {@link #IMAGE_GRACE} that no sandbox runs on, removed. */
    private static List<String> unusedImages(SandboxLauncher launcher, PrintWriter err) {
        try {
            return launcher.images().collect(IMAGE_GRACE);
        } catch (SandboxException | RuntimeException e) {
            err.println("airlock: could not collect unused images: " + e.getMessage());
            return List.of();
        }
    }

    /** Work directories of killed audits, removed through the kernel's checked tree removal (no link followed). */
    private static List<String> abandonedAudits(SandboxLauncher launcher, PrintWriter err) {
        Path state = StateDirectory.root().toAbsolutePath().normalize();
        List<String> removed = new ArrayList<>();
        try {
            for (Path dir : AuditWorkDirs.abandoned(state, Instant.now())) {
                try {
                    launcher.kernel().execute(new KernelOp.DeleteTree(state, dir));
                    AuditWorkDirs.dropLease(dir);
                    removed.add(dir.toString());
                } catch (SandboxException | IOException e) {
                    err.println("airlock: could not remove the killed audit's " + dir + ": " + e.getMessage());
                }
            }
        } catch (IOException e) {
            err.println("airlock: could not list " + AuditWorkDirs.root(state) + ": " + e.getMessage());
        }
        AuditWorkDirs.removeIfEmpty(state);
        return removed;
    }

    /** Workspaces a killed daemon created but never recorded; only when no daemon runs on the state directory. */
    private static List<String> sweptWorkspaces(SandboxLauncher launcher, PrintWriter err) {
        try {
            return DaemonServer.sweepMemberWorkspacesIfNoDaemon(StateDirectory.root(), launcher).orElse(List.of());
        } catch (IOException e) {
            err.println("airlock: could not check for a daemon on " + StateDirectory.root() + ": " + e.getMessage()
                    + "; unrecorded member workspaces were left (a daemon's start removes them)");
            return List.of();
        }
    }
}
