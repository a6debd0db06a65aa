package dev.airlock.audit.battery;

import dev.airlock.runtime.AuditWorkDirectory;
import dev.airlock.sandbox.LinkSafeFiles;
import dev.airlock.sandbox.SandboxException;
import dev.airlock.sandbox.SandboxUser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The host half of the probes that aim at what a sandbox leaves in its workspace (issue 15 §3,
 * §4): a repository whose {@code .git/hooks} and {@code .git/config} the sandbox tries to write,
 * and a directory where it plants links before root writes there.
 *
 * <p>Layout, made before the sandbox starts, in the audit's work directory:
 * <pre>
 *   work/workspace/.git/{hooks,objects,refs}, .git/HEAD, .git/config   the sandbox user's
 *   work/workspace/out/                                                the sandbox user's
 *   work/root-write/events.txt, control.txt                           root's canaries, outside the workspace
 * </pre>
 * The probe links {@code out/events.jsonl} to {@code ../../root-write/events.txt} (relative, so
 * the battery needs no host path; on the host it leads to the canary). Then root writes
 * {@code out/events.jsonl} as Airlock writes an {@code --events} file, and the canary says whether
 * the write followed the link.
 */
final class WorkspaceTargets {

    /** How root writes a file into a directory a sandbox wrote: Airlock's way, or (in a test) a plain write. */
    interface RootWriter {
        void write(Path file, byte[] data) throws IOException;
    }

    /** Airlock's own: {@link LinkSafeFiles#replaceFile}. */
    static final RootWriter AIRLOCK = LinkSafeFiles::replaceFile;

    static final String OUT = "out";
    static final String CANARIES = "root-write";
    static final String CANARY = "events.txt";
    static final String CONTROL_CANARY = "control.txt";
    private static final String CANARY_TEXT = "root-write canary\n";

    private WorkspaceTargets() {
    }

    /**
     * Lays out the targets in {@code workspace} (and beside it, in {@code work}) for the sandbox
     * user {@code user}, to whom root gives its trees through the kernel's checks.
     */
    static void prepare(Path workspace, SandboxUser user, AuditWorkDirectory work) throws IOException, SandboxException {
        Path git = workspace.resolve(".git");
        for (String d : List.of("hooks", "objects", "refs/heads", "info")) {
            Files.createDirectories(git.resolve(d));
        }
        Files.writeString(git.resolve("HEAD"), "ref: refs/heads/main\n");
        Files.writeString(git.resolve("config"), "[core]\n\trepositoryformatversion = 0\n\tbare = false\n");
        Files.createDirectories(workspace.resolve(OUT));
        work.giveTo(git, user);
        work.giveTo(workspace.resolve(OUT), user);
        Path canaries = Files.createDirectories(workspace.resolveSibling(CANARIES));
        Files.writeString(canaries.resolve(CANARY), CANARY_TEXT);
        Files.writeString(canaries.resolve(CONTROL_CANARY), CANARY_TEXT);
    }

    /** The positive control of a workspace target checked before its probe runs ({@link LocalTarget.WritableDir}). */
    static ControlResult before(LocalTarget.WritableDir d, Path workspace, SandboxUser user) {
        Path dir = workspace.resolve(d.relative());
        String what = "the sandbox user writes a file in " + dir + " from the host (outside the sandbox)";
        String setpriv = Files.isExecutable(Path.of("/usr/bin/setpriv")) ? "/usr/bin/setpriv" : "/bin/setpriv";
        List<String> cmd = List.of(setpriv, "--reuid=" + user.uid(), "--regid=" + user.gid(), "--clear-groups", "--",
                "/bin/sh", "-c", "printf x > \"$1/.airlock-control\" && rm -f \"$1/.airlock-control\"", "sh", dir.toString());
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new ControlResult(what, false, "did not finish");
            }
            return new ControlResult(what, p.exitValue() == 0, p.exitValue() == 0 ? "written and removed" : "exit " + p.exitValue() + ": " + out);
        } catch (IOException e) {
            return new ControlResult(what, false, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new ControlResult(what, false, "interrupted");
        }
    }

    /**
     * The positive control of {@link LocalTarget.RootWrite}, after the probe planted its links: a
     * plain root write through the planted control link lands in its host canary.
     */
    static ControlResult after(LocalTarget.RootWrite r, Path workspace) {
        Path link = workspace.resolve(r.controlFile());
        Path canary = workspace.resolveSibling(CANARIES).resolve(CONTROL_CANARY);
        String what = "a plain root write through the link the sandbox planted at " + link;
        try {
            if (!Files.isSymbolicLink(link)) {
                return new ControlResult(what, false, "no link was planted there");
            }
            Files.writeString(link, "written through the link\n");
            boolean landed = !Files.readString(canary).equals(CANARY_TEXT);
            return new ControlResult(what, landed, landed ? "landed in " + canary : canary + " unchanged");
        } catch (IOException e) {
            return new ControlResult(what, false, e.getMessage());
        }
    }

    /**
     * Root's write of {@link LocalTarget.RootWrite#file} with {@code writer}, after the sandbox
     * planted a link there: reached when the host canary changed. {@code planted} is what the
     * sandbox side reported; unless it planted the links, the probe could not run.
     */
    static Outcome rootWrite(LocalTarget.RootWrite r, Path workspace, Outcome planted, RootWriter writer) {
        if (!planted.observation().equals(Optional.of(Observed.SUCCEEDED))) {
            return new Outcome.Reported(Observed.CANNOT_RUN, "the sandbox could not plant its links: " + planted.detail(), planted.exit(),
                    planted.output());
        }
        Path file = workspace.resolve(r.file());
        Path canary = workspace.resolveSibling(CANARIES).resolve(CANARY);
        String log = planted.output();
        try {
            boolean link = Files.isSymbolicLink(file);
            writer.write(file, "{\"event\":\"decision\",\"name\":\"audit.invalid\"}\n".getBytes(StandardCharsets.UTF_8));
            String now = Files.readString(canary);
            String detail = (link ? "" : "(no link at " + file + ") ");
            if (!now.equals(CANARY_TEXT)) {
                return new Outcome.Reported(Observed.REACHED, detail + "root's write of " + file + " followed the planted link into " + canary,
                        planted.exit(), log);
            }
            boolean replaced = !Files.isSymbolicLink(file) && Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS);
            return new Outcome.Reported(Observed.BLOCKED, detail + "root replaced " + (replaced ? "the link with a file" : file) + "; " + canary
                    + " unchanged", planted.exit(), log);
        } catch (IOException e) {
            return new Outcome.Reported(Observed.CANNOT_RUN, "root's write failed: " + e.getMessage(), planted.exit(), log);
        }
    }
}
