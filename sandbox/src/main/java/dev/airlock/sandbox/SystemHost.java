package dev.airlock.sandbox;

import static dev.airlock.sandbox.SystemKernelOps.COMMAND_TIMEOUT_MS;
import static dev.airlock.sandbox.SystemKernelOps.ROOT_PATH;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The real host's primitive side effects ({@link Host}): commands run to completion under
 * {@code setpriv --pdeathsig KILL}, forked by {@link Spawner}'s thread, bounded in time; file
 * writes and reads; root's tree operations through {@link RootFiles}.
 *
 * <p>Each command runs in a session of its own ({@code setsid}, which execs in place: the JVM's
 * child leads no process group). Ctrl-C in the terminal that started Airlock signals the whole
 * foreground process group: an {@code nft} or {@code ip} caught mid-run died with it (exit 130),
 * and the teardown the JVM then ordered found half-removed objects ("not fully removed"). Now only
 * the JVM hears it, and it stops in order.
 */
final class SystemHost implements Host {
    private final Tools tools;

    SystemHost(Tools tools) {
        this.tools = tools;
    }

    @Override
    public Result exec(List<String> argv, String stdin) throws SandboxException {
        List<String> full = new ArrayList<>(List.of(tools.setsid().toString(), "--wait", tools.setpriv().toString(), "--pdeathsig", "KILL", "--"));
        full.addAll(argv);
        ProcessBuilder pb = new ProcessBuilder(full);
        pb.environment().clear();
        pb.environment().put("PATH", ROOT_PATH);
        pb.environment().put("LC_ALL", "C");
        Process p;
        try {
            p = Spawner.start(pb); // on the long-lived thread: pdeathsig follows the thread that forks
        } catch (IOException e) {
            throw new SandboxException("cannot run " + String.join(" ", argv) + ": " + e, e);
        }
        CompletableFuture<String> err = drain(p.getErrorStream());
        CompletableFuture<String> out = drain(p.getInputStream());
        try (OutputStream in = p.getOutputStream()) {
            in.write(stdin.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            // the command did not read its input; its exit status says why
        }
        try {
            if (!p.waitFor(COMMAND_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new SandboxException("`" + String.join(" ", argv) + "` did not finish in " + COMMAND_TIMEOUT_MS
                        + " ms and was killed. Fix: check the host's load and `dmesg`.");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new SandboxException("interrupted while running " + String.join(" ", argv), e);
        }
        return new Result(argv, p.exitValue(), out.join(), err.join());
    }

    private static CompletableFuture<String> drain(InputStream in) {
        CompletableFuture<String> f = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try (in) {
                f.complete(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                f.complete("");
            }
        });
        return f;
    }

    @Override
    public Process start(ProcessBuilder pb) throws IOException {
        // a sandbox's --die-with-parent watches the thread that forks it: see Spawner
        return Spawner.start(pb);
    }

    @Override
    public void write(Path file, String value) throws IOException {
        Files.write(file, value.getBytes(StandardCharsets.US_ASCII), StandardOpenOption.WRITE);
    }

    @Override
    public String read(Path file) throws IOException {
        return Files.readString(file);
    }

    @Override
    public boolean exists(Path p) {
        return Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS);
    }

    @Override
    public List<String> list(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    @Override
    public void mkdir(Path dir) throws IOException {
        Files.createDirectory(dir);
    }

    @Override
    public boolean rmdir(Path dir) throws IOException {
        return Files.deleteIfExists(dir);
    }

    @Override
    public void kill(long pid) {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }

    @Override
    public Path realPath(Path p) throws IOException {
        return p.toRealPath();
    }

    @Override
    public void chown(Path p, int uid, int gid) throws IOException {
        Files.setAttribute(p, "unix:uid", uid, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(p, "unix:gid", gid, java.nio.file.LinkOption.NOFOLLOW_LINKS);
    }

    @Override
    public void chmod(Path p, String mode) throws IOException {
        Files.setPosixFilePermissions(p, java.nio.file.attribute.PosixFilePermissions.fromString(mode));
    }


    @Override
    public void deleteTree(Path dir, boolean keepMounts) throws IOException {
        // A sandbox wrote these trees: no link in them is followed, no mount entered.
        RootFiles.deleteTree(dir, keepMounts);
    }

    @Override
    public void chownTree(Path dir, int uid, int gid) throws IOException {
        RootFiles.chownTree(dir, uid, gid);
    }

    @Override
    public void createWorkspace(Path dir, int uid, int gid) throws IOException {
        RootFiles.createWorkspace(dir, uid, gid);
    }

    @Override
    public void prepareRootLayer(Path image, Path upper, int uid, int gid) throws IOException {
        RootLayerFiles.prepare(image, upper, uid, gid);
    }

    @Override
    public void sealRootLayer(Path upper, Path work, Path layer) throws IOException {
        RootLayerFiles.seal(upper, work, layer);
    }

    @Override
    public void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
