package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Real git for export tests, hermetic: no system or global configuration, a fixed identity, no
 * network (only local paths). {@link #sandboxShell} stands in for a sandbox's exec: a shell in the
 * workspace directory, as the test's own user.
 */
final class GitFixture {

    private GitFixture() {
    }

    /** Runs git in {@code repo}; fails the test unless it exits 0; returns stdout, trimmed. */
    static String git(Path repo, String... args) throws Exception {
        Result r = tryGit(repo, args);
        assertThat(r.exit()).as("git " + List.of(args) + " in " + repo + ": " + r.err()).isZero();
        return r.out();
    }

    record Result(int exit, String out, String err) {
    }

    static Result tryGit(Path repo, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("git", "-C", repo.toString(), "-c", "user.name=t", "-c", "user.email=t@example.test",
                "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        hermetic(pb);
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), out.strip(), err.strip());
    }

    static void hermetic(ProcessBuilder pb) {
        pb.environment().put("GIT_CONFIG_NOSYSTEM", "1");
        pb.environment().put("GIT_CONFIG_GLOBAL", "/dev/null");
        pb.environment().put("GIT_TERMINAL_PROMPT", "0");
        pb.environment().put("LC_ALL", "C");
    }

    /** A new repository at {@code dir} on branch main with one commit (README). Returns that commit. */
    static String init(Path dir) throws Exception {
        Files.createDirectories(dir);
        git(dir, "init", "-q", "-b", "main");
        Files.writeString(dir.resolve("README"), "one\n");
        git(dir, "add", "-A");
        git(dir, "commit", "-q", "-m", "first");
        return git(dir, "rev-parse", "HEAD");
    }

    static String commit(Path repo, String message, String file, String content) throws Exception {
        Files.createDirectories(repo.resolve(file).getParent());
        Files.writeString(repo.resolve(file), content);
        git(repo, "add", "--", file);
        git(repo, "commit", "-q", "-m", message);
        return git(repo, "rev-parse", "HEAD");
    }

    /** The sandbox's exec, stood in for by a shell in {@code workspace} with git's configuration cut off as the daemon does. */
    static SandboxShell sandboxShell(Path workspace) {
        return cmd -> {
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(workspace.toFile());
            hermetic(pb);
            return pb.start();
        };
    }

    /**
     * Plants, in {@code repo}, what an agent could to run code on the host: hooks (in .git/hooks and
     * in a core.hooksPath of its choosing) and a core.fsmonitor command, each appending its name
     * to {@code marker}.
     */
    static void plantHostTraps(Path repo, Path marker) throws Exception {
        Path hooks = repo.resolve(".git/hooks");
        Path other = repo.resolve(".git/planted-hooks");
        Files.createDirectories(hooks);
        Files.createDirectories(other);
        for (Path dir : List.of(hooks, other)) {
            for (String h : List.of("post-checkout", "reference-transaction", "pre-auto-gc", "post-merge", "pre-commit", "post-index-change",
                    "fsmonitor-watchman")) {
                Path f = dir.resolve(h);
                Files.writeString(f, "#!/bin/sh\necho " + h + " >> " + marker + "\n");
                Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
        }
        Path fsmonitor = repo.resolve(".git/fsmonitor.sh");
        Files.writeString(fsmonitor, "#!/bin/sh\necho fsmonitor >> " + marker + "\nexit 1\n");
        Files.setPosixFilePermissions(fsmonitor, PosixFilePermissions.fromString("rwxr-xr-x"));
        git(repo, "config", "core.hooksPath", other.toString());
        git(repo, "config", "core.fsmonitor", fsmonitor.toString());
    }
}
