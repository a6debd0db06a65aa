package dev.airlock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.airlock.server.DaemonClient;
import dev.airlock.server.DaemonConfig;
import dev.airlock.server.DaemonServer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 10 (6), its "done when": {@code airlock run --no-daemon} and {@code airlock audit} work
 * while a daemon runs on the same state directory, and {@code airlock log verify} verifies all
 * records of all three. The cold run and the (quick) audit run at the same time, each in its own
 * JVM as an operator runs them, while the daemon serves a pooled run; each writer has its own
 * project, so the log shows whose records are there. Nothing leaves the sandboxes' namespaces:
 * the commands ask the gateway for a production name, which it denies without dialing, and the
 * quick audit's probes are refused by the gateway (metadata, production) or dropped by the
 * sandbox's own nftables (the UDP to another resolver).
 */
class AuditBesideDaemonIT {

    @TempDir
    Path tmp;

    record Child(int code, String out, String err) {
    }

    /** The CLI in its own JVM, {@code AIRLOCK_STATE} naming the daemon's state directory. */
    private Child cli(String... args) {
        try {
            List<String> argv = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-cp",
                    System.getProperty("java.class.path"), Main.class.getName()));
            argv.addAll(List.of(args));
            ProcessBuilder pb = new ProcessBuilder(argv).directory(tmp.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            pb.environment().put("AIRLOCK_STATE", tmp.resolve("state").toString());
            Path err = Files.createTempFile(tmp, "cli", ".err");
            pb.redirectError(err.toFile());
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int code = p.waitFor();
            return new Child(code, out, Files.readString(err));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private void policy(String file, String project) throws IOException {
        Files.writeString(tmp.resolve(file), String.join("\n", "version: 1", "project: " + project, "network:",
                "  allow: [allowed.example.test]", "resources: { memory: 256MiB, cpus: 1, pids: 128 }", ""));
    }

    private Set<String> sandboxesOf(String project) {
        Child log = cli("log", "--json", "--project", project);
        assertThat(log.code()).as(log.err()).isZero();
        ObjectMapper json = new ObjectMapper();
        return log.out().lines().filter(l -> !l.isBlank()).map(l -> {
            try {
                return json.readTree(l).path("sandbox").asText();
            } catch (IOException e) {
                throw new AssertionError(l, e);
            }
        }).collect(Collectors.toSet());
    }

    @Test
    void coldRunAndAudit_besideARunningDaemon_recordIntoOneChain_andVerifyCoversAllThree() throws Exception {
        DaemonSoakIT.requireRoot();
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        policy("airlock.yaml", "pooled-side");
        policy("cold.yaml", "cold-side");
        policy("audited.yaml", "audit-side");
        Files.writeString(tmp.resolve("org.yaml"), String.join("\n", "version: 1", "production:", "  - cidr: 198.19.252.0/24", ""));
        Files.writeString(tmp.resolve("hosts"), "198.19.252.1 prod.example.test\n");
        Files.writeString(tmp.resolve("daemon.yaml"), String.join("\n", "version: 1", "state: " + tmp.resolve("state"), "org: org.yaml",
                "hosts: hosts", "audits: false", "projects:", "  - policy: airlock.yaml", "    size: 1", "    hardLimit: 4", ""));
        Path ws = Files.createDirectories(tmp.resolve("cold-workspace"));
        Files.setPosixFilePermissions(ws, PosixFilePermissions.fromString("rwxr-xr-x"));
        String pooledId;
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(tmp.resolve("daemon.yaml")), System.err)) {
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            DaemonSoakIT.eventually(() -> DaemonSoakIT.ready(tmp.resolve("state/daemon.sock")) == 1, "one sandbox warm");

            List<String> cold = new ArrayList<>(List.of("run", "--no-daemon", "--policy", "cold.yaml", "--org", "org.yaml", "--hosts",
                    "hosts", "--workspace", ws.toString(), "--"));
            cold.addAll(DaemonSoakIT.COMMAND);
            CompletableFuture<Child> coldRun = CompletableFuture.supplyAsync(() -> cli(cold.toArray(String[]::new)));
            CompletableFuture<Child> audit = CompletableFuture.supplyAsync(() -> cli("audit", "--quick", "--policy", "audited.yaml",
                    "--org", "org.yaml", "--hosts", "hosts", "--format", "json"));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            List<JsonNode> started = new ArrayList<>();
            JsonNode last = c.run("pooled-side", DaemonSoakIT.COMMAND, Map.of(), new ByteArrayInputStream(new byte[0]), out,
                    OutputStream.nullOutputStream(), started::add);
            assertThat(last.path("exit").asInt()).isZero();
            assertThat(out.toString(StandardCharsets.UTF_8)).contains("HTTP/1.1 403");
            pooledId = started.get(0).path("sandbox").asText();

            Child coldResult = coldRun.get();
            assertThat(coldResult.code()).as("the cold run beside the daemon: " + coldResult.err()).isZero();
            assertThat(coldResult.out()).contains("HTTP/1.1 403");
            Child auditResult = audit.get();
            assertThat(auditResult.err()).doesNotContain("already open");
            assertThat(auditResult.code()).as("the audit beside the daemon: " + auditResult.out() + auditResult.err()).isZero();
        }

        Child verify = cli("log", "verify");
        assertThat(verify.code()).as(verify.out() + verify.err()).isZero();
        long lines = Files.readAllLines(tmp.resolve("state/audit.log")).stream().filter(l -> !l.isBlank()).count();
        assertThat(verify.out()).as("verify covers every record in the log").contains("intact, " + lines + " record");
        assertThat(sandboxesOf("pooled-side")).as("the daemon's records").contains(pooledId);
        assertThat(sandboxesOf("cold-side")).as("the cold run's records").isNotEmpty().doesNotContain(pooledId);
        assertThat(sandboxesOf("audit-side")).as("the audit's records").isNotEmpty().doesNotContain(pooledId);
    }
}
