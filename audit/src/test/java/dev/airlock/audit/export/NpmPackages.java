package dev.airlock.audit.export;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Test-time npm packages that carry the schemas the exports are checked against, installed with
 * the npm client from the npm registry into {@code target/npm/<dir>} (reused when already there).
 * Without npm the schema tests fail with {@code CI=true} and skip, saying why, elsewhere.
 */
final class NpmPackages {

    static final Path ROOT = Path.of("target", "npm");

    private NpmPackages() {
    }

    /** Installs {@code name@version} under {@code ROOT/dir}; returns {@code ROOT/dir}. */
    static Path install(String dir, String name, String version) throws IOException, InterruptedException {
        Path prefix = ROOT.resolve(dir).toAbsolutePath();
        Path pkg = prefix.resolve("node_modules").resolve(name).resolve("package.json");
        if (Files.exists(pkg) && Files.readString(pkg).contains("\"version\": \"" + version + "\"")) {
            return prefix;
        }
        String npm = tool("npm");
        Files.createDirectories(prefix);
        Process p = new ProcessBuilder(npm, "install", "--prefix", prefix.toString(), "--no-audit", "--no-fund", "--ignore-scripts",
                "--no-save", "--loglevel=error", name + "@" + version)
                .redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
            p.destroyForcibly();
            Assertions.fail("npm install " + name + "@" + version + " failed: " + new String(out, StandardCharsets.UTF_8));
        }
        return prefix;
    }

    /** The path of {@code name} on this machine, or fail (CI) / skip (elsewhere). */
    static String tool(String name) {
        for (String d : List.of("/usr/bin", "/usr/local/bin", "/bin")) {
            if (Files.isExecutable(Path.of(d, name))) {
                return Path.of(d, name).toString();
            }
        }
        String why = "the export schema test needs " + name + " (Debian: apt-get install nodejs npm)";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            Assertions.fail(why + ", and CI=true requires it");
        }
        System.err.println("[export-schema-it] skipped: " + why.toLowerCase(Locale.ROOT));
        Assumptions.abort(why);
        return null;
    }
}
