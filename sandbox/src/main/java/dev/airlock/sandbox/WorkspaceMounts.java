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
 * Then {@code hooks}, {@code config} and {@code config.worktree} are bound read-only over
 * themselves; a missing one gets a read-only empty placeholder (bubblewrap creates the empty mount
 * point as the sandbox user), so the sandbox cannot create it either. {@code commondir}, which git
 * reads in every git directory and which names where config and hooks come from, is bound
 * read-only too; a missing one is first created holding {@code .} (see {@link #commonDir}).
 * Linked worktrees' git directories ({@code worktrees/<name>}) get the same. A {@code .git} file (a worktree's or submodule's
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
        Mounts a = new Mounts(ws);
        if (p.gitMetadata()) {
            git(ws, runFiles, a);
        }
        for (Path f : p.files()) {
            java.util.Optional<String> rel = WorkspaceProtection.inside(ws, f);
            if (rel.isPresent()) {
                a.pinParents(rel.get());
                a.add("--ro-bind", ws.resolve(rel.get()).toString(), BwrapArgs.WORKSPACE + "/" + rel.get());
            }
        }
        return a.args();
    }

    /**
     * The arguments, with every directory between the workspace and a protected part pinned first
     * (bound over itself): a sandbox that could rename a parent could otherwise move the protected
     * part away and put its own in its place. The workspace itself is a mount point already.
     */
    private static final class Mounts {
        private final Path ws;
        private final List<String> args = new ArrayList<>();
        private final java.util.Set<String> pinned = new java.util.HashSet<>();

        Mounts(Path ws) {
            this.ws = ws;
        }

        void add(String option, String source, String dest) {
            args.addAll(List.of(option, source, dest));
        }

        /** Binds {@code rel} (a directory of the workspace) over itself, once. */
        void pin(String rel) {
            if (pinned.add(rel)) {
                add("--bind", ws.resolve(rel).toString(), BwrapArgs.WORKSPACE + "/" + rel);
            }
        }

        /** Pins every directory above {@code rel} below the workspace, top down. */
        void pinParents(String rel) {
            Path parent = Path.of(rel).getParent();
            if (parent == null) {
                return;
            }
            Path p = null;
            for (Path c : parent) {
                p = p == null ? c : p.resolve(c);
                pin(p.toString());
            }
        }

        List<String> args() {
            return List.copyOf(args);
        }
    }

    private static void git(Path ws, Path runFiles, Mounts a) throws SandboxException {
        Path dotGit = ws.resolve(".git");
        BasicFileAttributes at = lstat(dotGit);
        String inside = BwrapArgs.WORKSPACE + "/.git";
        if (at == null || at.isSymbolicLink()) {
            // No repository here, or a link to one elsewhere (outside the workspace, invisible inside): see SECURITY.md.
            return;
        }
        if (at.isRegularFile()) {
            a.add("--ro-bind", dotGit.toString(), inside);
            return;
        }
        if (!at.isDirectory()) {
            return;
        }
        a.pin(".git");
        int[] budget = {MAX_GIT_DIRS};
        gitDir(ws, ".git", ".git", runFiles, a, budget, 0);
    }

    /**
     * hooks, config, config.worktree and commondir of one git directory ({@code rel}, pinned), then
     * its linked worktrees' and submodules' git directories. {@code common} is the git directory
     * its commondir may name ({@code rel} itself, or for {@code worktrees/<name>} the one above).
     */
    private static void gitDir(Path ws, String rel, String common, Path runFiles, Mounts a, int[] budget, int depth) throws SandboxException {
        Path dir = ws.resolve(rel);
        if (--budget[0] < 0) {
            throw new SandboxException("the workspace's git directory " + dir + " has more than " + MAX_GIT_DIRS
                    + " submodule or worktree git directories; they cannot all be made read-only. Fix: set workspace: {writableGitConfig: true}"
                    + " in airlock.yaml (and accept that the sandbox can change them), or run in a smaller checkout.");
        }
        protect(ws, rel + "/hooks", true, runFiles, a);
        protect(ws, rel + "/config", false, runFiles, a);
        // Always, present or not: with extensions.worktreeConfig (sparse-checkout sets it) git reads it if it appears.
        protect(ws, rel + "/config.worktree", false, runFiles, a);
        commonDir(ws, rel, common, runFiles, a);
        BasicFileAttributes m = lstat(dir.resolve("modules"));
        if (m != null && m.isDirectory() && depth < MAX_DEPTH) {
            modules(ws, rel + "/modules", runFiles, a, budget, depth + 1);
        }
        BasicFileAttributes w = lstat(dir.resolve("worktrees"));
        if (w != null && w.isDirectory() && depth < MAX_DEPTH) {
            for (Path c : children(dir.resolve("worktrees"))) {
                BasicFileAttributes at = lstat(c);
                if (at != null && at.isDirectory()) {
                    String child = rel + "/worktrees/" + c.getFileName();
                    a.pinParents(child + "/x");
                    gitDir(ws, child, rel, runFiles, a, budget, depth + 1);
                }
            }
        }
    }

    /**
     * {@code <rel>/commondir} read-only over itself. Git reads it in every git directory, not only a
     * worktree's, and takes config and hooks from the directory it names: a sandbox that could write
     * it would point git at a config of its own. When missing, root creates it holding {@code .}
     * (this directory: what git assumes without one; an empty file would make git fail, and
     * bubblewrap would leave an empty mount point behind), link-safe and owned like its directory.
     * One that names any other directory than {@code common} is refused.
     */
    private static void commonDir(Path ws, String rel, String common, Path runFiles, Mounts a) throws SandboxException {
        Path host = ws.resolve(rel + "/commondir");
        BasicFileAttributes at = lstat(host);
        if (at == null) {
            try {
                LinkSafeFiles.createIfAbsent(ws, rel, "commondir", ".\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            } catch (IOException e) {
                throw new SandboxException("cannot create " + host + " (git's pointer to its common directory, made read-only in the sandbox): "
                        + e.getMessage() + ". Fix: create it yourself holding a single '.', or set workspace: {writableGitConfig: true}"
                        + " in airlock.yaml.", e);
            }
        } else if (at.isRegularFile()) {
            String named = readSmall(host).strip();
            Path target = named.isEmpty() ? null : ws.resolve(rel).resolve(named).normalize();
            if (target == null || !(target.equals(ws.resolve(rel)) || target.equals(ws.resolve(common)))) {
                throw new SandboxException(host + " names '" + named + "' as git's common directory, not " + ws.resolve(common)
                        + "; git would take config and hooks from there. Fix: remove " + host + " if this is not a linked worktree's"
                        + " git directory, or set workspace: {writableGitConfig: true} in airlock.yaml.");
            }
        }
        protect(ws, rel + "/commondir", false, runFiles, a);
    }

    private static String readSmall(Path f) throws SandboxException {
        try (var c = Files.newByteChannel(f, LinkOption.NOFOLLOW_LINKS)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4096);
            while (b.hasRemaining() && c.read(b) >= 0) {
                // fill
            }
            return new String(b.array(), 0, b.position(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new SandboxException("cannot read " + f + ": " + e.getMessage() + ". Fix: make it a readable file.", e);
        }
    }

    private static List<Path> children(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** Under {@code modules/}, a directory with a HEAD is a git directory; others are path segments of a submodule's name. */
    private static void modules(Path ws, String rel, Path runFiles, Mounts a, int[] budget, int depth) throws SandboxException {
        for (Path c : children(ws.resolve(rel))) {
            BasicFileAttributes at = lstat(c);
            if (at == null || !at.isDirectory()) {
                continue;
            }
            String child = rel + "/" + c.getFileName();
            if (lstat(c.resolve("HEAD")) != null) {
                a.pinParents(child + "/x");
                gitDir(ws, child, child, runFiles, a, budget, depth);
            } else if (depth < MAX_DEPTH) {
                modules(ws, child, runFiles, a, budget, depth + 1);
            }
        }
    }

    /** {@code rel} read-only over itself, or an empty read-only placeholder when missing; its parents pinned first. */
    private static void protect(Path ws, String rel, boolean directory, Path runFiles, Mounts a) throws SandboxException {
        Path host = ws.resolve(rel);
        String inside = BwrapArgs.WORKSPACE + "/" + rel;
        BasicFileAttributes at = lstat(host);
        a.pinParents(rel);
        if (at == null) {
            createMountPoint(host, directory);
            a.add("--ro-bind", runFiles.resolve(directory ? EMPTY_DIR : EMPTY_FILE).toString(), inside);
        } else if (directory ? at.isDirectory() : at.isRegularFile()) {
            a.add("--ro-bind", host.toString(), inside);
        } else {
            throw new SandboxException(host + " is " + (at.isSymbolicLink() ? "a symbolic link" : "not a " + (directory ? "directory" : "file"))
                    + "; it cannot be made read-only in the sandbox without following it. Fix: replace it with a real "
                    + (directory ? "directory" : "file") + " (git config core.hooksPath points hooks elsewhere), or set workspace:"
                    + " {writableGitConfig: true} in airlock.yaml.");
        }
    }

    /**
     * Root makes the placeholder's mount point, empty and owned like its git directory, before the
     * sandbox starts: bubblewrap runs as the sandbox user, who cannot create it in a git directory
     * it does not own (a root-owned checkout run by root without sudo, whose sandbox runs as
     * nobody). Nothing is followed: the git directory must be a real directory, and mkdir and an
     * exclusive create never follow a final link. On failure bubblewrap tries, as before.
     */
    private static void createMountPoint(Path host, boolean directory) {
        Path parent = host.getParent();
        BasicFileAttributes p = lstat(parent);
        if (p == null || !p.isDirectory()) {
            return;
        }
        try {
            if (directory) {
                Files.createDirectory(host);
            } else {
                Files.createFile(host);
            }
            var owner = Files.getFileAttributeView(parent, java.nio.file.attribute.PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                    .readAttributes();
            var view = Files.getFileAttributeView(host, java.nio.file.attribute.PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
            view.setOwner(owner.owner());
            view.setGroup(owner.group());
        } catch (IOException | UnsupportedOperationException e) {
            // bubblewrap creates the mount point itself where the sandbox user may
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
