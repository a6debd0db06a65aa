package dev.airlock.sandbox;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * What the kernel tests share: the root check (fail with {@code CI=true}, skip elsewhere), running
 * host commands and sandboxed ones with bounds, workspaces the sandbox user can use, and the list of
 * {@code alk} objects no live sandbox owns (which must always be empty after a reap).
 */
final class KernelSupport {

    /** Bounds every host command the tests run; they take milliseconds. */
    static final Duration ADMIN = Duration.ofSeconds(20);

    private KernelSupport() {
    }

    /** Fails with {@code CI=true}, skips (saying why) elsewhere, when this machine cannot run sandboxes. */
    static void requireRoot(String... testTools) {
        String missing = null;
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            missing = "needs Linux";
        } else {
            try {
                SandboxLauncher.checkHost();
            } catch (SandboxException e) {
                missing = e.getMessage();
            }
        }
        if (missing == null) {
            List<String> absent = java.util.stream.Stream.of(testTools)
                    .filter(t -> java.util.stream.Stream.of("/usr/sbin", "/usr/bin", "/sbin", "/bin").noneMatch(d -> Files.isExecutable(Path.of(d, t))))
                    .toList();
            if (!absent.isEmpty()) {
                missing = "the test needs " + absent + " (Debian: apt-get install socat iputils-ping bash coreutils)";
            }
        }
        if (missing == null) {
            return;
        }
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            Assertions.fail("sandbox kernel test cannot run, and CI=true requires it: " + missing);
        }
        String why = "sandbox kernel test skipped: " + missing + " (with CI=true this fails instead)";
        System.err.println("[sandbox-it] " + why);
        Assumptions.abort(why);
    }

    /** What a command did; {@code exit} is -1 when it was killed for running past its bound. */
    record Result(String command, int exit, String out, String err) {
        boolean ok() {
            return exit == 0;
        }

        @Override
        public String toString() {
            return "`" + command + "` exited " + exit + "\nstdout: " + out.strip() + "\nstderr: " + err.strip();
        }
    }

    static Result run(Duration timeout, String... argv) {
        return runWithInput(timeout, "", argv);
    }

    static Result runWithInput(Duration timeout, String stdin, String... argv) {
        ProcessBuilder pb = new ProcessBuilder(argv);
        pb.environment().put("LC_ALL", "C");
        try {
            return finish(String.join(" ", argv), pb.start(), stdin, timeout);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + String.join(" ", argv), e);
        }
    }

    /** A command that must succeed; its stdout. */
    static String admin(String... argv) {
        Result r = run(ADMIN, argv);
        if (!r.ok()) {
            throw new IllegalStateException(r.toString());
        }
        return r.out();
    }

    static Result finish(String command, Process p, String stdin, Duration timeout) {
        CompletableFuture<String> out = drain(p.getInputStream());
        CompletableFuture<String> err = drain(p.getErrorStream());
        try (var in = p.getOutputStream()) {
            in.write(stdin.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            // it did not read its input
        }
        boolean done;
        try {
            done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            done = false;
        }
        if (!done) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        return new Result(command, done ? p.exitValue() : -1, out.join(), err.join());
    }

    private static CompletableFuture<String> drain(InputStream in) {
        return CompletableFuture.supplyAsync(() -> {
            try (in) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "";
            }
        });
    }

    /** Runs {@code script} with /bin/sh in sandbox {@code p} (its one command), bounded. */
    static Result inSandbox(SandboxLauncher l, PreparedSandbox p, Duration timeout, String script) {
        try {
            Process pr = l.claim(p, List.of("/bin/sh", "-c", script), Map.of(), ProcessBuilder.Redirect.PIPE,
                    ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.PIPE);
            return finish("sandbox: " + script, pr, "", timeout);
        } catch (SandboxException e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    /**
     * A workspace the sandbox user owns, in a directory everyone can search (the sandbox user's
     * bubblewrap binds it as that user).
     */
    static Path workspace(Path parent, String name) throws IOException {
        Files.setPosixFilePermissions(parent, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path ws = Files.createDirectories(parent.resolve(name));
        SandboxUser u = SandboxUser.fromEnvironment(System.getenv());
        Files.setAttribute(ws, "unix:uid", u.uid());
        Files.setAttribute(ws, "unix:gid", u.gid());
        return ws;
    }

    /** The ids of the leases in the machine-wide registry whose owner is alive. */
    static Set<String> liveLeases() {
        Set<String> ids = new HashSet<>();
        new Registry(SystemKernelOps.RUN_DIR).leases().values().forEach(l -> l.record()
                .filter(r -> r.owner().pid() > 0 && SystemKernelOps.startTicks(r.owner().pid()) == r.owner().startTicks())
                .ifPresent(r -> ids.add(l.id())));
        return ids;
    }

    /**
     * Every object of the launcher's exact shapes on this host that no live lease owns, as the
     * tools print them: `ip netns list`, `ip -o link`, `nft list tables`, the cgroup roots, and
     * `ip rule` (the shared TPROXY rule, when no lease at all is left).
     */
    static List<String> leftovers(CgroupLayout layout) {
        Set<String> live = liveLeases();
        List<String> out = new ArrayList<>();
        for (String line : admin("ip", "netns", "list").split("\n")) {
            String name = line.trim().split("\\s+")[0];
            if (Names.NETNS.matcher(name).matches() && !live.contains(name)) {
                out.add("netns " + name);
            }
        }
        for (String line : admin("ip", "-o", "link").split("\n")) {
            String[] f = line.split(":\\s+");
            if (f.length > 1) {
                String name = f[1].split("@")[0];
                if ((Names.HOST_LINK.matcher(name).matches() || Names.SANDBOX_LINK.matcher(name).matches())
                        && !live.contains(name.substring(0, 11))) {
                    out.add("link " + name);
                }
            }
        }
        for (String line : admin("nft", "list", "tables").split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 3 && Names.NFT_TABLE.matcher(f[2]).matches() && !live.contains("alk" + f[2].substring(4))) {
                out.add("nft table " + f[1] + " " + f[2]);
            }
        }
        for (Path root : layout.roots()) {
            try (var s = Files.list(root)) {
                s.map(p -> p.getFileName().toString()).filter(n -> Names.CGROUP.matcher(n).matches() && !live.contains(n))
                        .forEach(n -> out.add("cgroup " + root.resolve(n)));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        if (new Registry(SystemKernelOps.RUN_DIR).leases().isEmpty()
                && admin("ip", "rule").contains("fwmark " + PolicyRoute.markHex() + " lookup " + PolicyRoute.table())) {
            out.add("ip rule fwmark " + PolicyRoute.markHex());
        }
        for (String id : new Registry(SystemKernelOps.RUN_DIR).fileDirs()) {
            if (!live.contains(id)) {
                out.add("files " + SystemKernelOps.RUN_DIR.resolve(id));
            }
        }
        return out;
    }
}
