package dev.airlock.cli;

import dev.airlock.sandbox.SandboxException;
import dev.airlock.sandbox.SandboxLauncher;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/** The kernel tests' precondition: a host that runs sandboxes. With CI=true its absence fails the test; elsewhere it skips, saying why. */
final class SandboxHostRequired {

    private SandboxHostRequired() {
    }

    /** {@code what} names the tests for the message; {@code tools} are further executables they need. */
    static void require(String what, String... tools) {
        try {
            SandboxLauncher.checkHost();
            for (String tool : tools) {
                if (!Files.isExecutable(Path.of(tool))) {
                    throw new SandboxException(tool + " is missing");
                }
            }
        } catch (SandboxException e) {
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                Assertions.fail(what + " need a host that runs sandboxes, and CI=true requires it: " + e.getMessage());
            }
            Assumptions.abort(what + " skipped: " + e.getMessage() + " (with CI=true this fails instead)");
        }
    }
}
