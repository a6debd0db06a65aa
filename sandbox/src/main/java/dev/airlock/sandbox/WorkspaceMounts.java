package dev.airlock.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The bubblewrap mounts that keep parts of a writable workspace read-only inside the sandbox
 * ({@link WorkspaceProtection}), placed after the workspace's own bind.
 *
 * <p>Design: a mount point cannot be renamed, removed or replaced from inside the sandbox (EBUSY),
 * and it has no capabilities to unmount it. So {@code .git} (a directory) is bound read-write over
 * itself, which pins it: the sandbox cannot move it aside and create a repository of its own at
 * that name (renaming a parent of a mount point is refused as well: the workspace itself is one).
 * Then {@code hooks} and {@code config} are bound read-only over themselves; a missing one gets a
 * read-only empty placeholder (bubblewrap creates the empty mount point as the sandbox user), so
 * the sandbox cannot create it either. A {@code .git} file (a worktree's or submodule's
 * {@code gitdir:} pointer) is bound read-only, so it cannot be pointed at a directory the sandbox
 * made. A {@code hooks} or {@code config} that is a link, or anything other than a directory or a
 * file, is refused: bubblewrap would follow it, as the sandbox user, when it mounts.
 */
final class WorkspaceMounts {

    /** Placeholder names in a sandbox's run directory (root's, 0755): an empty directory and an empty file, read-only. */
    static final String EMPTY_DIR = "empty-dir";
    static final String EMPTY_FILE = "empty-file";
    /** Bounds the walk through {@code .git/modules} (nested submodules): git directories and depth. */
    private static final int MAX_GIT_DIRS = 64;
    private static final int MAX_DEPTH = 8;

    private WorkspaceMounts() {
    }

    /**
     * The extra bubblewrap arguments for workspace {@code ws} (a real path on the host), with
     * placeholders in {@code runFiles}.
     */
    static List<String> of(Path ws, WorkspaceProtection p, Path runFiles) throws SandboxException {
        List<String> a = new ArrayList<>();
        if (p.gitMetadata()) {
            git(ws, runFiles, a);
        }
        for (Path f : p.files()) {
            WorkspaceProtection.inside(ws, f).ifPresent(rel -> {
                a.addAll(List.of("--ro-bind", ws.resolve(rel).toString(), BwrapArgs.WORKSPACE + "/" + rel));
            });
        }
        return List.copyOf(a);
    }

    private static void git(Path ws, Path runFiles, List<String> a) throws SandboxException {
        Path dotGit = ws.resolve(".git");
        BasicFileAttributes at = lstat(dotGit);
        String inside = BwrapArgs.WORKSPACE + "/.git";
        if (at == null || at.isSymbolicLink()) {
            // No repository here, or a link to one elsewhere (outside the workspace, invisible inside): see SECURITY.md.
            return;
        }
        if (at.isRegularFile()) {
            a.addAll(List.of("--ro-bind", dotGit.toString(), inside));
            return;
        }
        if (!at.isDirectory()) {
            return;
        }
        a.addAll(List.of("--bind", dotGit.toString(), inside));
        int[] budget = {MAX_GIT_DIRS};
        gitDir(dotGit, inside, runFiles, a, budget, 0);
    }

    /** hooks, config and config.worktree of one git directory, then its submodules' git directories. */
    private static void gitDir(Path dir, String inside, Path runFiles, List<String> a, int[] budget, int depth) throws SandboxException {
        if (--budget[0] < 0) {
            throw new SandboxException("the workspace's git directory " + dir + " has more than " + MAX_GIT_DIRS
                    + " submodule git directories; they cannot all be made read-only. Fix: set workspace: {writableGitConfig: true}"
                    + " in airlock.yaml (and accept that the sandbox can change them), or run in a smaller checkout.");
        }
        protect(dir.resolve("hooks"), inside + "/hooks", true, runFiles, a);
        protect(dir.resolve("config"), inside + "/config", false, runFiles, a);
        BasicFileAttributes wt = lstat(dir.resolve("config.worktree"));
        if (wt != null) {
            protect(dir.resolve("config.worktree"), inside + "/config.worktree", false, runFiles, a);
        }
        Path modules = dir.resolve("modules");
        BasicFileAttributes m = lstat(modules);
        if (m != null && m.isDirectory() && depth < MAX_DEPTH) {
            modules(modules, inside + "/modules", runFiles, a, budget, depth + 1);
        }
    }

    /** Under {@code modules/}, a directory with a HEAD is a git directory; others are path segments of a submodule's name. */
    private static void modules(Path dir, String inside, Path runFiles, List<String> a, int[] budget, int depth) throws SandboxException {
        List<Path> children;
        try (Stream<Path> s = Files.list(dir)) {
            children = s.sorted().toList();
        } catch (IOException e) {
            return;
        }
        for (Path c : children) {
            BasicFileAttributes at = lstat(c);
            if (at == null || !at.isDirectory()) {
                continue;
            }
            String in = inside + "/" + c.getFileName();
            if (lstat(c.resolve("HEAD")) != null) {
                gitDir(c, in, runFiles, a, budget, depth);
            } else if (depth < MAX_DEPTH) {
                modules(c, in, runFiles, a, budget, depth + 1);
            }
        }
    }

    private static void protect(Path host, String inside, boolean directory, Path runFiles, List<String> a) throws SandboxException {
        BasicFileAttributes at = lstat(host);
        if (at == null) {
            a.addAll(List.of("--ro-bind", runFiles.resolve(directory ? EMPTY_DIR : EMPTY_FILE).toString(), inside));
        } else if (directory ? at.isDirectory() : at.isRegularFile()) {
            a.addAll(List.of("--ro-bind", host.toString(), inside));
        } else {
            throw new SandboxException(host + " is " + (at.isSymbolicLink() ? "a symbolic link" : "not a " + (directory ? "directory" : "file"))
                    + "; it cannot be made read-only in the sandbox without following it. Fix: replace it with a real "
                    + (directory ? "directory" : "file") + " (git config core.hooksPath points hooks elsewhere), or set workspace:"
                    + " {writableGitConfig: true} in airlock.yaml.");
        }
    }

    private static BasicFileAttributes lstat(Path p) {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            return null;
        }
    }
}
