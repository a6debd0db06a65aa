package dev.airlock.audit.battery;

import dev.airlock.sandbox.SandboxException;
import dev.airlock.sandbox.SandboxLauncher;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/** The root check of the audit's kernel tests: fail with {@code CI=true}, skip (saying why) elsewhere. */
final class KernelAudit {

    private KernelAudit() {
    }

    static void requireRoot() {
        String missing = null;
        try {
            SandboxLauncher.checkHost();
        } catch (SandboxException e) {
            missing = e.getMessage();
        }
        if (missing == null) {
            List<String> absent = Stream.of("git", "python3", "curl", "bash").filter(t -> Stream.of("/usr/bin", "/bin")
                    .noneMatch(d -> Files.isExecutable(Path.of(d, t)))).toList();
            if (!absent.isEmpty()) {
                missing = "the demo world needs " + absent + " (Debian: apt-get install git python3 curl)";
            }
        }
        if (missing == null) {
            return;
        }
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            Assertions.fail("audit kernel test cannot run, and CI=true requires it: " + missing);
        }
        Assumptions.abort("audit kernel test skipped: " + missing + " (with CI=true this fails instead)");
    }
}
