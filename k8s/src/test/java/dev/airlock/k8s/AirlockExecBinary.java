package dev.airlock.k8s;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * The pod's stdin relay (packaging/exec/airlock-exec.c) built for tests, as scripts/package-deb.sh
 * builds it ({@code gcc -static -Os}), once per JVM into the module's {@code target/airlock-exec/}.
 * Without gcc or a static libc (libc6-dev) the caller is skipped saying why, and fails with
 * {@code CI=true} (.ci/run installs both).
 */
public final class AirlockExecBinary {

    /** Relative to a module's directory, where Maven runs its tests. */
    static final Path SOURCE = Path.of("..", "packaging", "exec", "airlock-exec.c");
    private static Path built;

    private AirlockExecBinary() {
    }

    /** The built relay. */
    public static synchronized Path path() throws IOException, InterruptedException {
        if (built != null) {
            return built;
        }
        Path gcc = Path.of("/usr/bin/gcc");
        if (!Files.isExecutable(gcc)) {
            unavailable("no /usr/bin/gcc: the pod's stdin relay (packaging/exec/airlock-exec.c) is not built");
        }
        Path dir = Files.createDirectories(Path.of("target", "airlock-exec").toAbsolutePath());
        Path out = dir.resolve("airlock-exec");
        Process p = new ProcessBuilder(gcc.toString(), "-static", "-Os", "-Wall", "-Wextra", "-Werror", "-o", out.toString(), SOURCE.toString())
                .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            if (log.contains("cannot find -lc")) {
                unavailable("gcc finds no static libc (libc.a, package libc6-dev): the pod's stdin relay is not built");
            }
            Assertions.fail("gcc did not build " + SOURCE + ":\n" + log);
        }
        built = out;
        return built;
    }

    /** The directory the relay is in: what a pod has at {@code /airlock/bin}. */
    public static Path directory() throws IOException, InterruptedException {
        return path().getParent();
    }

    private static void unavailable(String why) {
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            Assertions.fail(why + ", and CI=true requires it (.ci/run installs gcc and libc6-dev)");
        }
        Assumptions.abort(why + " (with CI=true this fails instead)");
    }
}
