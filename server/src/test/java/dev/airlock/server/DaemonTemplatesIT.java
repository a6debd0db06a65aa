package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon's pool over templates at HEAD, against the real kernel: the first build, a HEAD move
 * (claims catch up to 0 behind), an environment change (the template rebuilds and idle members
 * rotate), and a failing setup (the last good template stays, the failure shows). The source is a
 * local git repository the test makes; nothing leaves the machine. The setup step must find the
 * project's {@code trust:} CA (made here with openssl) in its bundle, and each claim says which
 * commit of which branch its workspace is (issue 19).
 */
class DaemonTemplatesIT {

    @TempDir
    Path tmp;

    @BeforeAll
    static void root() {
        Root.require();
    }

    private void git(Path repo, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("git", "-C", repo.toString(), "-c", "user.name=t", "-c", "user.email=t@example.test"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("git " + List.of(args) + ": " + out).isZero();
    }

    private String head(Path repo) throws Exception {
        Process p = new ProcessBuilder("git", "-C", repo.toString(), "rev-parse", "HEAD").start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return out;
    }

    /** A fresh CA certificate (openssl) at {@code pem}; returns a line of its base64, which no other bundle holds. */
    private static String privateCa(Path pem) throws Exception {
        Path key = pem.resolveSibling("company-ca.key");
        Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key.toString(), "-out", pem.toString(), "-days", "2", "-subj", "/CN=Daemon IT CA",
                "-addext", "basicConstraints=critical,CA:TRUE").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        Files.delete(key);
        return Files.readAllLines(pem).get(2);
    }

    private void commit(Path repo, String message, String file, String content) throws Exception {
        Files.writeString(repo.resolve(file), content);
        git(repo, "add", "-A");
        git(repo, "commit", "-q", "-m", message);
    }

    private static String run(DaemonClient c, List<JsonNode> started) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        JsonNode last = c.run("daemon-it", List.of("/bin/sh", "-c", "cat built.txt; git log -1 --format=%s"), Map.of(),
                new ByteArrayInputStream(new byte[0]), out, OutputStream.nullOutputStream(), started::add);
        assertThat(last.path("exit").asInt()).as(out.toString(StandardCharsets.UTF_8)).isZero();
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void pool_overTemplates_followsHead_rebuildsOnEnvironmentChange_keepsTheLastGoodOnFailure() throws Exception {
        Path src = tmp.resolve("src");
        Files.createDirectories(src);
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        git(src, "init", "-q", "-b", "main");
        Files.writeString(src.resolve("package-lock.json"), "v1\n");
        commit(src, "first", "README", "one\n");
        Path config = DaemonFixture.write(tmp, 1, 4);
        String caLine = privateCa(tmp.resolve("company-ca.pem"));
        Files.writeString(tmp.resolve("airlock.yaml"), Files.readString(tmp.resolve("airlock.yaml")) + String.join("\n",
                "trust: [company-ca.pem]",
                "workspace:",
                "  source: " + src,
                "  ref: main",
                // The setup step trusts the project's CA: it is in the one bundle, which npm's cafile names.
                "  setup: [\"test ! -e fail-setup && grep -qF '" + caLine + "' /etc/ssl/certs/ca-certificates.crt"
                        + " && test \\\"$NPM_CONFIG_CAFILE\\\" = /etc/ssl/certs/ca-certificates.crt && cat package-lock.json > built.txt\"]",
                "  cacheKey: [package-lock.json]", ""));
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), System.err, "it")) {
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            DaemonIT.eventually(() -> DaemonIT.status(c).path("ready").asInt() == 1, "the first template built and a member warm");
            String first = DaemonIT.status(c).path("template").asText();
            List<JsonNode> started = new ArrayList<>();
            assertThat(run(c, started)).isEqualTo("v1\nfirst\n");
            assertThat(started.get(0).path("behindAtStart").asInt()).isZero();
            assertThat(started.get(0).path("template").asText()).isEqualTo(head(src));
            assertThat(started.get(0).path("ref").asText()).isEqualTo("main");
            assertThat(started.get(0).has("workspace")).isFalse();

            // HEAD moves, the environment does not: the claim catches up
            commit(src, "second", "README", "two\n");
            server.daemon().refreshTemplates();
            DaemonIT.eventually(() -> DaemonIT.status(c).path("templateBehind").asInt() == 1, "the daemon saw the branch move");
            DaemonIT.eventually(() -> DaemonIT.status(c).path("ready").asInt() == 1, "refilled");
            started.clear();
            assertThat(run(c, started)).isEqualTo("v1\nsecond\n");
            assertThat(started.get(0).path("behind").asInt()).isEqualTo(1);
            assertThat(started.get(0).path("behindAtStart").asInt()).isZero();
            assertThat(DaemonIT.status(c).path("template").asText()).isEqualTo(first);

            // the environment changes: a new template, and the idle member rotates
            commit(src, "third", "package-lock.json", "v2\n");
            server.daemon().refreshTemplates();
            DaemonIT.eventually(() -> !DaemonIT.status(c).path("template").asText().equals(first), "a new template is current");
            String second = DaemonIT.status(c).path("template").asText();
            DaemonIT.eventually(() -> {
                try {
                    JsonNode all = c.get("/v1/sandboxes").body();
                    return all.size() == 1 && DaemonIT.status(c).path("ready").asInt() == 1;
                } catch (java.io.IOException e) {
                    return false;
                }
            }, "the pool rotated to the new template");
            assertThat(run(c, started)).isEqualTo("v2\nthird\n");

            // a failing setup keeps the last good template, and says so
            Files.writeString(src.resolve("fail-setup"), "x\n");
            commit(src, "fourth", "package-lock.json", "v3\n");
            server.daemon().refreshTemplates();
            DaemonIT.eventually(() -> !DaemonIT.status(c).path("templateFailure").isNull(), "the failed build is visible");
            assertThat(DaemonIT.status(c).path("templateFailure").asText()).contains("setup exited");
            assertThat(DaemonIT.status(c).path("template").asText()).isEqualTo(second);
            DaemonIT.eventually(() -> DaemonIT.status(c).path("ready").asInt() == 1, "still serving");
            assertThat(run(c, started)).startsWith("v2\n");
        }
        assertThat(DaemonFixture.leasesOf(ProcessHandle.current().pid())).isEmpty();
    }
}
