package dev.airlock.pool.template;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The git commands templates need, run as Airlock (root) on repositories Airlock owns: the
 * per-project mirror, and a tree before any sandbox has touched it. Never in a workspace a
 * sandbox has written to: git reads {@code .git/config} (hooks, {@code core.fsmonitor}…) from the
 * repository it runs in, so that would hand the sandbox a command as root. Catch-up in a used
 * workspace runs inside the sandbox instead ({@link CatchUp}).
 *
 * <p>The environment is fixed: no system or global configuration, no terminal prompts, and only
 * the transports a {@code source} may use ({@code ext::} would run a command of the source's
 * choosing).
 */
final class Git {

    /** Bounds one git command; a clone of a large repository over a slow link takes minutes. */
    private static final long TIMEOUT_MINUTES = 60;
    static final String PROTOCOLS = "file:git:http:https:ssh";

    private final Path git;

    Git(Path git) {
        this.git = git;
    }

    static Git system() throws TemplateException {
        for (String d : List.of("/usr/bin", "/bin", "/usr/local/bin")) {
            Path p = Path.of(d, "git");
            if (Files.isExecutable(p)) {
                return new Git(p);
            }
        }
        throw new TemplateException("templates need git. Fix: apt-get install git");
    }

    record Result(int exit, byte[] out, String err) {
        String text() {
            return new String(out, StandardCharsets.UTF_8).strip();
        }
    }

    /** Runs git in {@code dir} (null: anywhere) with {@code args}; {@code stderrChunks} sees stderr as it comes (progress). */
    Result run(Path dir, List<String> args, Consumer<String> stderrChunks) throws TemplateException {
        List<String> argv = new ArrayList<>(List.of(git.toString(), "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false",
                "-c", "protocol.file.allow=always"));
        if (dir != null) {
            argv.addAll(List.of("-C", dir.toString()));
        }
        argv.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(argv);
        GitEnvironment.isolate(pb.environment(), PROTOCOLS);
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new TemplateException("cannot run git: " + e + ". Fix: apt-get install git", e);
        }
        CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> readAll(p.getInputStream()));
        StringBuilder err = new StringBuilder();
        try (InputStream in = p.getErrorStream()) {
            byte[] buf = new byte[4096];
            for (int n; (n = in.read(buf)) > 0; ) {
                String chunk = new String(buf, 0, n, StandardCharsets.UTF_8);
                err.append(chunk);
                stderrChunks.accept(chunk);
            }
        } catch (IOException e) {
            // git ended
        }
        try {
            if (!p.waitFor(TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new TemplateException("git " + String.join(" ", args) + " ran past " + TIMEOUT_MINUTES + " minutes and was stopped."
                        + " Fix: check the source's network path.");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new TemplateException("interrupted while running git " + String.join(" ", args), e);
        }
        return new Result(p.exitValue(), out.join(), err.toString());
    }

    private static byte[] readAll(InputStream in) {
        try (in; ByteArrayOutputStream b = new ByteArrayOutputStream()) {
            in.transferTo(b);
            return b.toByteArray();
        } catch (IOException e) {
            return new byte[0];
        }
    }

    /** Runs git and requires success; the failure names the command and git's last words. */
    String ok(Path dir, String... args) throws TemplateException {
        Result r = run(dir, List.of(args), s -> { });
        if (r.exit() != 0) {
            throw failed(List.of(args), r);
        }
        return r.text();
    }

    static TemplateException failed(List<String> args, Result r) {
        String err = r.err().strip();
        int cut = Math.max(0, err.length() - 800);
        return new TemplateException("git " + String.join(" ", args) + " failed (exit " + r.exit() + "): " + err.substring(cut)
                + ". Fix: check workspace.source and workspace.ref in airlock.yaml, and that the source is reachable from this host.");
    }

    /**
     * Clones {@code source} as a bare mirror into {@code mirror}, or fetches into the existing one (pruning deleted branches).
     * A local source may belong to another user than root ({@link LocalSource}).
     */
    void mirror(String source, Path mirror, Consumer<String> progress) throws TemplateException {
        // A repository of this host, even one another user owns, is read with safe.directory for it alone (LocalSource).
        List<String> uploadPack = LocalSource.path(source).map(p -> List.of("--upload-pack=" + LocalSource.uploadPack(git, p))).orElse(List.of());
        List<String> args = new ArrayList<>();
        if (Files.isDirectory(mirror.resolve("objects"))) {
            args.addAll(List.of("--git-dir=" + mirror, "fetch", "--prune", "--progress"));
            args.addAll(uploadPack);
            // from the source as the policy names it now (the upload-pack above is for that one), not the mirror's origin
            args.addAll(List.of(source, "+refs/heads/*:refs/heads/*"));
        } else {
            args.addAll(List.of("clone", "--mirror", "--no-local", "--progress"));
            args.addAll(uploadPack);
            args.addAll(List.of("--", source, mirror.toString()));
        }
        Result r = run(null, args, progress);
        if (r.exit() != 0) {
            throw failed(args, r);
        }
    }

    /** The commit {@code refs/heads/<ref>} points at in {@code mirror}. */
    String head(Path mirror, String ref) throws TemplateException {
        Result r = run(null, List.of("--git-dir=" + mirror, "rev-parse", "--verify", "--quiet", "refs/heads/" + ref + "^{commit}"), s -> { });
        if (r.exit() != 0) {
            throw new TemplateException("branch '" + ref + "' does not exist in the source. Fix: set workspace.ref in airlock.yaml to"
                    + " an existing branch.");
        }
        return r.text();
    }

    /** The content of {@code path} at {@code commit}, or empty when there is no such file there. */
    Optional<byte[]> show(Path mirror, String commit, String path) throws TemplateException {
        Result r = run(null, List.of("--git-dir=" + mirror, "cat-file", "blob", commit + ":" + path), s -> { });
        return r.exit() == 0 ? Optional.of(r.out()) : Optional.empty();
    }

    /** How many commits {@code to} has that {@code from} does not ({@code git rev-list --count from..to}). */
    int behind(Path mirror, String from, String to) throws TemplateException {
        return Integer.parseInt(ok(null, "--git-dir=" + mirror, "rev-list", "--count", from + ".." + to));
    }

    /** True when {@code ref} is a valid branch name (no option, no range, no path tricks). */
    boolean validBranch(String ref) throws TemplateException {
        return !ref.startsWith("-") && run(null, List.of("check-ref-format", "--branch", ref), s -> { }).exit() == 0;
    }
}
