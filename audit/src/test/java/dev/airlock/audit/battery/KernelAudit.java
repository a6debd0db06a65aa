package dev.airlock.audit.battery;

import dev.airlock.sandbox.SandboxException;
import dev.airlock.sandbox.SandboxLauncher;
import dev.airlock.sandbox.PreparedSandbox;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
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

    /**
     * The deliberate holes, host and sandbox side: TCP from the sandbox to its host-side address
     * (other than the proxy port) is accepted before TPROXY, and UDP to it (other than DNS) passes.
     */
    static void weaken(PreparedSandbox p) {
        String table = p.nftTable();
        String in = "iifname \"" + p.hostVeth() + "\" ip daddr " + p.hostAddress() + " ";
        must(host("nft", "insert", "rule", "inet", table, "prerouting", in + "tcp dport != 3128 accept"));
        must(host("nft", "insert", "rule", "inet", table, "input", in + "tcp dport != 3128 accept"));
        must(host("nft", "insert", "rule", "inet", table, "prerouting", in + "udp dport != 53 accept"));
        must(host("nft", "insert", "rule", "inet", table, "input", in + "udp dport != 53 accept"));
        must(host("ip", "netns", "exec", p.netns(), "nft", "insert", "rule", "inet", table, "output",
                "ip daddr " + p.hostAddress() + " udp dport != 53 accept"));
    }

    static void must(String out) {
        if (out.startsWith("FAILED")) {
            throw new IllegalStateException(out);
        }
    }

    static String host(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(20, TimeUnit.SECONDS) || p.exitValue() != 0) {
                return "FAILED " + String.join(" ", cmd) + ": " + out;
            }
            return out;
        } catch (IOException | InterruptedException e) {
            return "FAILED " + e;
        }
    }
}
