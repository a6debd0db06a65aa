package dev.airlock.sandbox;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * One run of an image tool (skopeo, buildah) found in root's tool directories, with a clean
 * environment and a time limit: a registry that never answers must not hang a run or the daemon.
 * Output goes to a temporary file, so a chatty tool cannot block on a full pipe while we wait.
 */
final class ImageTool {

    private static final List<Path> TOOL_DIRS = List.of(Path.of("/usr/bin"), Path.of("/usr/sbin"), Path.of("/usr/local/bin"), Path.of("/bin"));

    /** What the tool printed on standard output. */
    record Result(byte[] stdout) {
    }

    private ImageTool() {
    }

    /** The tool's path, or empty when none of root's tool directories has it. */
    static Optional<Path> find(String name) {
        return TOOL_DIRS.stream().map(d -> d.resolve(name)).filter(Files::isExecutable).findFirst();
    }

    /**
     * Runs {@code name} with {@code args}; a non-zero exit throws with {@code failure}, the
     * command line and the end of what it said on stderr. {@code missing}: the fix when it is not installed.
     */
    static Result run(String name, List<String> args, Duration limit, String missing, String failure) throws SandboxException {
        Path tool = find(name).orElseThrow(() -> new SandboxException(name + " is not installed (looked in " + TOOL_DIRS + "). Fix: " + missing));
        List<String> argv = new java.util.ArrayList<>();
        argv.add(tool.toString());
        argv.addAll(args);
        Path out = null;
        Path err = null;
        try {
            out = Files.createTempFile("alk-tool-", ".out");
            err = Files.createTempFile("alk-tool-", ".err");
            ProcessBuilder pb = new ProcessBuilder(argv).redirectOutput(out.toFile()).redirectError(err.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            pb.environment().keySet().retainAll(List.of("HOME", "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"));
            pb.environment().put("PATH", SystemKernelOps.ROOT_PATH);
            Process p = pb.start();
            if (!p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly().waitFor();
                throw new SandboxException(failure + ": `" + String.join(" ", argv) + "` did not finish in " + limit.toSeconds()
                        + " s. Fix: check that the registry is reachable from this host.");
            }
            if (p.exitValue() != 0) {
                String text = Files.readString(err, StandardCharsets.UTF_8).strip();
                throw new SandboxException(failure + ": `" + String.join(" ", argv) + "` exited " + p.exitValue() + ": "
                        + (text.length() > 2000 ? "…" + text.substring(text.length() - 2000) : text));
            }
            return new Result(Files.readAllBytes(out));
        } catch (IOException e) {
            throw new SandboxException(failure + ": cannot run " + tool + ": " + e + ". Fix: " + missing, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SandboxException(failure + ": interrupted", e);
        } finally {
            for (Path p : new Path[] {out, err}) {
                if (p != null) {
                    try {
                        Files.deleteIfExists(p);
                    } catch (IOException ignored) {
                        // a temp file left in /tmp is harmless
                    }
                }
            }
        }
    }
}
