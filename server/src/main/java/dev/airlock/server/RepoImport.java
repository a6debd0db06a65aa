package dev.airlock.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The second half of export: the work {@link WorkCapture} produced, brought into the user's
 * repository as the branch {@code airlock/<sandbox>} and the file {@code .git/airlock/<sandbox>.patch}.
 *
 * <p>Design: what the host trusts. The bundle and the patch are data the sandbox made; nothing
 * else of the sandbox is read. git runs here in the <em>user's</em> repository only, as that
 * repository's owner (so its new objects stay the user's, and nothing runs as root in a directory
 * root does not own), with a fixed environment: no system or global configuration, no hooks
 * ({@code core.hooksPath=/dev/null}), no fsmonitor, no automatic gc, only the file protocol. Every
 * object of the bundle is checked before the user's repository stores one ({@link #check}: fsck
 * in a scratch repository). The bundle is fetched from a copy in a fresh directory, never from the
 * sandbox's repository. Its ref names are
 * not trusted: only its {@code HEAD} is fetched, into a scratch ref, checked to be the commit the
 * status step reported, and then given the one branch name with {@code update-ref} and an empty old
 * value, which refuses a branch that exists (nothing is ever overwritten). The patch is written
 * with {@code noclobber}, as the owner, and is never applied: the user reviews it.
 */
final class RepoImport {

    static final String BRANCH_PREFIX = "airlock/";
    private static final long TIMEOUT_MINUTES = 30;
    /** Where the owner's export directory is made (the JVM's temporary directory, /tmp by default). */
    private static final Path TMP = Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath().normalize();

    /** What an import produced: the repository, the branch (when there were commits), the patch (when there were changes), and the one line to show. */
    record Imported(Path repository, Optional<String> branch, Optional<Path> patch, String summary) {
    }

    /** The import was refused or failed: the message says why and what to do. */
    static final class ImportException extends Exception {
        ImportException(String message) {
            super(message);
        }
    }

    private final List<Path> forbidden;

    /** {@code forbidden}: directories no target may be in (the state directory and the member workspaces: sandboxes' own repositories). */
    RepoImport(List<Path> forbidden) {
        this.forbidden = forbidden.stream().map(RepoImport::real).toList();
    }

    /** Imports {@code work} of sandbox {@code id} into the repository at {@code repository}. */
    Imported into(Path repository, String id, WorkCapture.Captured work) throws ImportException {
        Path repo = checkTarget(repository);
        AsOwner git = AsOwner.of(repo);
        Result dir = git.git(List.of("rev-parse", "--absolute-git-dir"), Optional.empty());
        if (dir.exit() != 0) {
            throw new ImportException(repo + " is not a git repository (" + dir.err() + "). Fix: export to a repository with --to REPO.");
        }
        Path gitDir = Path.of(dir.out());
        String branch = BRANCH_PREFIX + id;
        Path patch = gitDir.resolve("airlock").resolve(id + ".patch");
        if (work.bundle().isPresent() && git.git(List.of("rev-parse", "-q", "--verify", "refs/heads/" + branch), Optional.empty()).exit() == 0) {
            throw new ImportException("branch " + branch + " exists in " + repo + "; it is never overwritten. Fix: look at it (git -C " + repo
                    + " log " + branch + "), delete it if it is stale (git branch -D " + branch + "), or export to another repository with --to REPO.");
        }
        if (work.patch().isPresent() && Files.exists(patch, LinkOption.NOFOLLOW_LINKS)) {
            throw new ImportException(patch + " exists; it is never overwritten. Fix: move it aside, or export to another repository with --to REPO.");
        }
        if (work.bundle().isPresent()) {
            fetch(git, repo, id, branch, work);
        }
        if (work.patch().isPresent()) {
            Result w = git.run(List.of("/bin/sh", "-c", "mkdir -p -- \"$(dirname -- \"$1\")\" && set -C && cat > \"$1\"", "airlock-export",
                    patch.toString()), Optional.of(work.patch().get()));
            if (w.exit() != 0) {
                throw new ImportException("cannot write " + patch + " (" + w.err() + ")" + (work.bundle().isPresent() ? "; branch " + branch
                        + " was created" : "") + ". Fix: check the repository's permissions, or export to another repository with --to REPO.");
            }
        }
        Optional<String> b = work.bundle().map(x -> branch);
        Optional<Path> p = work.patch().map(x -> patch);
        return new Imported(repo, b, p, summary(repo, id, work, b, p));
    }

    /** The repository's real path, refused when it is not a directory or lies in a sandbox's own area. */
    private Path checkTarget(Path repository) throws ImportException {
        Path repo;
        try {
            repo = repository.toRealPath();
        } catch (IOException e) {
            throw new ImportException("repository " + repository + " does not exist. Fix: give an existing git repository with --to REPO.");
        }
        if (!Files.isDirectory(repo)) {
            throw new ImportException(repo + " is not a directory. Fix: give a git repository with --to REPO.");
        }
        for (Path f : forbidden) {
            if (repo.startsWith(f)) {
                throw new ImportException(repo + " is inside " + f + ", where sandboxes' own repositories live; git never runs there on the host."
                        + " Fix: export to the project's repository with --to REPO.");
            }
        }
        return repo;
    }

    /** The bundle, copied where the owner can read it, fetched by its HEAD into a scratch ref, then named as the branch. */
    private static void fetch(AsOwner git, Path repo, String id, String branch, WorkCapture.Captured work) throws ImportException {
        String scratch = "refs/airlock-export/" + id;
        Path tmp = null;
        try {
            // The export directory is the repository owner's from the start: the owner creates it,
            // writes the bundle into it (root only opens its own bundle for the owner's stdin) and
            // removes it, so root never writes or deletes in the shared temporary directory.
            Result mk = git.run(List.of(AsOwner.firstExecutable("mktemp"), "-d", "-p", TMP.toString(), "airlock-export-XXXXXXXXXX"),
                    Optional.empty());
            if (mk.exit() != 0 || !Path.of(mk.out()).startsWith(TMP)) {
                throw new ImportException("cannot make a directory in " + TMP + " for the export: " + mk.err()
                        + ". Fix: check " + TMP + " (space, permissions).");
            }
            tmp = Path.of(mk.out());
            Path bundle = tmp.resolve("work.bundle");
            Result copy = git.run(List.of("/bin/sh", "-c", "set -C && cat > \"$1\" && chmod 0400 \"$1\"", "airlock-export",
                    bundle.toString()), work.bundle());
            if (copy.exit() != 0) {
                throw new ImportException("cannot hand the bundle to git in " + repo + ": " + copy.err() + ". Fix: check " + TMP
                        + " (space, permissions).");
            }
            check(git, repo, tmp, bundle);
            Result f = git.git(List.of("-c", "transfer.fsckObjects=true", "-c", "fetch.fsckObjects=true", "-c", "gc.auto=0", "-c",
                    "maintenance.auto=false", "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules",
                    bundle.toString(), "+HEAD:" + scratch), Optional.empty());
            if (f.exit() != 0) {
                throw new ImportException("git fetch of the sandbox's commits into " + repo + " failed: " + f.err()
                        + ". Fix: if it names missing prerequisite commits, the repository lacks the commit the sandbox started at: fetch"
                        + " it (or export to a clone that has it with --to REPO).");
            }
            Result tip = git.git(List.of("rev-parse", "-q", "--verify", scratch + "^{commit}"), Optional.empty());
            if (tip.exit() != 0 || !tip.out().equals(work.head())) {
                throw new ImportException("the bundle's HEAD (" + tip.out() + ") is not the commit the sandbox reported (" + work.head()
                        + "); nothing was imported. Fix: export again.");
            }
            Result u = git.git(List.of("update-ref", "-m", "airlock: export of sandbox " + id, "refs/heads/" + branch, work.head(), ""),
                    Optional.empty());
            if (u.exit() != 0) {
                throw new ImportException("cannot create branch " + branch + " in " + repo + ": " + u.err() + ". Fix: delete the branch if it"
                        + " is stale, or export to another repository with --to REPO.");
            }
        } finally {
            git.git(List.of("update-ref", "-d", scratch), Optional.empty());
            if (tmp != null) {
                // as the owner (rm follows no link); on failure the system's tmp cleaning takes it
                git.run(List.of(AsOwner.firstExecutable("rm"), "-rf", "--", tmp.toString()), Optional.empty());
            }
        }
    }

    /**
     * Checks every object of the bundle before the user's repository sees one: the bundle is
     * fetched into a scratch repository of ours (its objects beside the user's through
     * {@code objects/info/alternates}, read only, so the bundle's prerequisites resolve) and that
     * repository's own pack, which holds exactly the bundle's objects, goes through
     * {@code git index-pack --strict} (fsck of every object, a tree entry named like {@code .git}
     * an error, and every link checked). git 2.39 fetches a bundle without {@code fetch.fsckObjects}
     * (seen: a tree with a {@code .GIT} entry and a commit with a bad email came through).
     */
    private static void check(AsOwner git, Path repo, Path tmp, Path bundle) throws ImportException {
        Result objects = git.git(List.of("rev-parse", "--path-format=absolute", "--git-common-dir"), Optional.empty());
        if (objects.exit() != 0) {
            throw new ImportException("cannot find the object directory of " + repo + ": " + objects.err() + ". Fix: export to another repository"
                    + " with --to REPO.");
        }
        Path scratch = tmp.resolve("check.git");
        Result init = git.gitIn(tmp, List.of("-c", "init.defaultBranch=check", "init", "-q", "--bare", scratch.toString()));
        if (init.exit() != 0) {
            throw new ImportException("cannot make a scratch repository in " + tmp + " to check the sandbox's commits: " + init.err()
                    + ". Fix: check /tmp (space, permissions).");
        }
        Result alt = git.run(List.of("/bin/sh", "-c", "printf '%s\n' \"$1\" > \"$2\"", "airlock-export", objects.out() + "/objects",
                scratch.resolve("objects/info/alternates").toString()), Optional.empty());
        Result f = alt.exit() != 0 ? alt : git.gitIn(scratch, List.of("-c", "gc.auto=0", "-c", "maintenance.auto=false", "fetch", "--quiet",
                "--no-tags", "--no-write-fetch-head", bundle.toString(), "+HEAD:refs/heads/check"), Optional.empty());
        if (f.exit() != 0) {
            throw new ImportException("git fetch of the sandbox's commits failed: " + f.err() + ". Fix: if it names missing prerequisite commits, "
                    + repo + " lacks the commit the sandbox started at: fetch it, or export to a clone that has it with --to REPO.");
        }
        List<Path> packs;
        try (java.util.stream.Stream<Path> s = Files.list(scratch.resolve("objects/pack"))) {
            packs = s.filter(p -> p.getFileName().toString().endsWith(".pack")).toList();
        } catch (IOException e) {
            throw new ImportException("cannot list the scratch repository's packs in " + scratch + ": " + e + ". Fix: check /tmp.");
        }
        int n = 0;
        for (Path pack : packs) {
            // index-pack --strict runs fsck on every object of the pack (a '.git' tree entry is an error) and checks its links
            Result fsck = git.gitIn(scratch, List.of("index-pack", "--strict", "-o", tmp.resolve("verify-" + n++ + ".idx").toString(),
                    pack.toString()), Optional.empty());
            if (fsck.exit() != 0) {
                throw new ImportException("the sandbox's commits hold objects git's fsck refuses (" + fsck.err() + "); nothing was imported."
                        + " Fix: look at the work inside the sandbox; a branch is never made of such objects.");
            }
        }
    }

    /** The one line that says where the work is and how to review and merge it. */
    static String summary(Path repo, String id, WorkCapture.Captured work, Optional<String> branch, Optional<Path> patch) {
        List<String> parts = new ArrayList<>();
        String base = work.base().isEmpty() ? "" : work.base().substring(0, 12);
        branch.ifPresent(b -> parts.add("branch " + b + " (" + work.commits() + (work.commits() == 1 ? " commit" : " commits")
                + "; review: git -C " + repo + " log -p " + (base.isEmpty() ? "" : base + "..") + b + "; merge: git -C " + repo + " merge " + b + ")"));
        patch.ifPresent(p -> parts.add(p + " (uncommitted changes" + (branch.isPresent()
                ? "; apply on the branch: git -C " + repo + " switch " + branch.get() + " && git -C " + repo + " apply " + p
                : " on " + work.head().substring(0, 12) + "; review: git -C " + repo + " apply --stat " + p + "; apply: git -C " + repo + " apply " + p)
                + ")"));
        return "airlock: the work of " + id + " is in " + repo + ": " + String.join(" and ", parts);
    }

    private static Path real(Path p) {
        try {
            return p.toRealPath();
        } catch (IOException e) {
            return p.toAbsolutePath().normalize();
        }
    }

    /** A command's exit, its stdout (trimmed) and the end of its stderr. */
    record Result(int exit, String out, String err) {
    }

    /**
     * Runs git (and one shell line) in the repository as its owner: directly when that is this
     * process's user, else through {@code setpriv} (root only), always with a cleared environment.
     */
    static final class AsOwner {
        private final Path repo;
        private final int uid;
        private final int gid;
        private final boolean switchUser;

        private AsOwner(Path repo, int uid, int gid, boolean switchUser) {
            this.repo = repo;
            this.uid = uid;
            this.gid = gid;
            this.switchUser = switchUser;
        }

        static AsOwner of(Path repo) throws ImportException {
            try {
                int uid = (Integer) Files.getAttribute(repo, "unix:uid");
                int gid = (Integer) Files.getAttribute(repo, "unix:gid");
                return new AsOwner(repo, uid, gid, uid != effectiveUid());
            } catch (IOException | UnsupportedOperationException e) {
                throw new ImportException("cannot tell who owns " + repo + ": " + e + ". Fix: export to a repository on a local file system.");
            }
        }

        /** This process's effective uid, from /proc/self/status ("Uid: real effective saved fs"). */
        static int effectiveUid() throws IOException {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    return Integer.parseInt(line.substring(4).trim().split("\\s+")[1]);
                }
            }
            throw new IOException("no Uid line in /proc/self/status");
        }

        Result git(List<String> args, Optional<Path> stdin) {
            return gitIn(repo, args, stdin);
        }

        /** git as the owner in {@code dir} (the repository, or a scratch directory of ours). */
        Result gitIn(Path dir, List<String> args, Optional<Path> stdin) {
            List<String> cmd = new ArrayList<>(List.of(gitBinary(), "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false",
                    "-C", dir.toString()));
            cmd.addAll(args);
            return run(cmd, stdin);
        }

        Result gitIn(Path dir, List<String> args) {
            return gitIn(dir, args, Optional.empty());
        }

        Result run(List<String> command, Optional<Path> stdin) {
            List<String> argv = new ArrayList<>();
            if (switchUser) {
                argv.addAll(List.of(setpriv(), "--reuid=" + uid, "--regid=" + gid, "--clear-groups", "--"));
            }
            argv.addAll(command);
            ProcessBuilder pb = new ProcessBuilder(argv).directory(repo.toFile());
            dev.airlock.pool.template.GitEnvironment.isolate(pb.environment(), "file");
            if (stdin.isEmpty()) {
                pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            }
            Process p;
            try {
                p = pb.start();
            } catch (IOException e) {
                return new Result(127, "", "cannot run " + argv.get(0) + ": " + e.getMessage());
            }
            Thread feeder = null;
            if (stdin.isPresent()) {
                feeder = Thread.ofVirtual().start(() -> {
                    try (OutputStream o = p.getOutputStream()) {
                        Files.copy(stdin.get(), o);
                    } catch (IOException e) {
                        // the command ended early; its exit status tells
                    }
                });
            }
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            Thread errors = Thread.ofVirtual().start(() -> {
                try (InputStream e = p.getErrorStream()) {
                    e.transferTo(err);
                } catch (IOException e) {
                    // ended
                }
            });
            try (InputStream out = p.getInputStream()) {
                byte[] o = out.readNBytes(1 << 20);
                out.transferTo(OutputStream.nullOutputStream());
                if (!p.waitFor(TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
                    p.destroyForcibly();
                    return new Result(124, "", "timed out after " + TIMEOUT_MINUTES + " minutes");
                }
                errors.join();
                if (feeder != null) {
                    feeder.join();
                }
                String e = err.toString(StandardCharsets.UTF_8).strip();
                return new Result(p.exitValue(), new String(o, StandardCharsets.UTF_8).strip(),
                        WorkCapture.abbreviate(e.length() > 2000 ? e.substring(e.length() - 2000) : e));
            } catch (IOException e) {
                p.destroyForcibly();
                return new Result(125, "", e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
                return new Result(125, "", "interrupted");
            }
        }

        private static String gitBinary() {
            return firstExecutable("git");
        }

        private static String setpriv() {
            return firstExecutable("setpriv");
        }

        private static String firstExecutable(String name) {
            for (String d : List.of("/usr/bin", "/bin", "/usr/local/bin")) {
                Path p = Path.of(d, name);
                if (Files.isExecutable(p)) {
                    return p.toString();
                }
            }
            return "/usr/bin/" + name;
        }
    }
}
