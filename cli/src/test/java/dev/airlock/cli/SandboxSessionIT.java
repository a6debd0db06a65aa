package dev.airlock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.airlock.server.DaemonClient;
import dev.airlock.server.DaemonConfig;
import dev.airlock.server.DaemonServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 10 item 3 as a user meets it, against the real kernel: {@code airlock sandbox create},
 * two {@code exec}s that share the workspace, {@code attach}, {@code list}, {@code pool status},
 * {@code stop}, and a forgotten session that its idle timeout ends. The daemon runs in this JVM;
 * every CLI command runs in its own JVM, as an operator runs it (AIRLOCK_STATE names the daemon).
 */
class SandboxSessionIT {

    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @BeforeAll
    static void root() {
        SandboxHostRequired.require("sessions");
    }

    /** Two projects: {@code sess-it} with the default idle timeout (8h), {@code sess-idle} with 2 s. */
    Path writeConfig() throws IOException {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        for (String p : List.of("sess-it", "sess-idle")) {
            Files.writeString(tmp.resolve(p + ".yaml"), String.join("\n", "version: 1", "project: " + p, "network:",
                    "  allow: [allowed.example.test]", "resources: { memory: 256MiB, cpus: 1, pids: 128 }", ""));
        }
        Files.writeString(tmp.resolve("org.yaml"), String.join("\n", "version: 1", "production:", "  - cidr: 198.19.252.0/24", ""));
        Files.writeString(tmp.resolve("hosts"), "198.19.252.1 prod.example.test\n");
        Files.writeString(tmp.resolve("daemon.yaml"), String.join("\n", "version: 1", "state: " + tmp.resolve("state"), "org: org.yaml",
                "hosts: hosts", "audits: false", "projects:",
                "  - policy: sess-it.yaml", "    size: 1", "    hardLimit: 4",
                "  - policy: sess-idle.yaml", "    size: 1", "    hardLimit: 4", "    sessions: { idleTimeout: 2s }", ""));
        return tmp.resolve("daemon.yaml");
    }

    record Child(int code, String out, String err) {
    }

    /** The CLI in its own JVM; {@code stdin} (may be null: /dev/null) is the file it reads. */
    Child cli(Path stdin, String... args) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-cp",
                System.getProperty("java.class.path"), Main.class.getName()));
        argv.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(argv).directory(tmp.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(stdin == null ? new java.io.File("/dev/null") : stdin.toFile()));
        pb.environment().put("AIRLOCK_STATE", tmp.resolve("state").toString());
        pb.environment().remove("AIRLOCK_DAEMON_SOCKET");
        Path err = Files.createTempFile(tmp, "cli", ".err");
        pb.redirectError(err.toFile());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int code = p.waitFor();
        return new Child(code, out, Files.readString(err));
    }

    Child cli(String... args) throws IOException, InterruptedException {
        return cli(null, args);
    }

    static void eventually(BooleanSupplier c, String what) throws InterruptedException {
        for (int i = 0; i < 600 && !c.getAsBoolean(); i++) {
            Thread.sleep(50);
        }
        assertThat(c.getAsBoolean()).as(what).isTrue();
    }

    static JsonNode get(DaemonClient c, String path) {
        try {
            return c.get(path).body();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    static int ready(DaemonClient c, String project) {
        for (JsonNode p : get(c, "/v1/status").path("projects")) {
            if (p.path("project").asText().equals(project)) {
                return p.path("ready").asInt();
            }
        }
        return -1;
    }

    static boolean claimed(DaemonClient c, String id) {
        for (JsonNode n : get(c, "/v1/sandboxes")) {
            if (n.path("sandbox").asText().equals(id) && n.path("state").asText().equals("claimed")) {
                return true;
            }
        }
        return false;
    }

    @Test
    void session_createExecTwiceAttachListStop_andAForgottenOneExpires() throws Exception {
        ByteArrayOutputStream daemonLog = new ByteArrayOutputStream();
        PrintStream log = new PrintStream(new java.io.OutputStream() {
            @Override
            public synchronized void write(int b) {
                System.err.write(b);
                daemonLog.write(b);
            }

            @Override
            public synchronized void write(byte[] b, int off, int len) {
                System.err.write(b, off, len);
                daemonLog.write(b, off, len);
            }
        }, true, StandardCharsets.UTF_8);
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(writeConfig()), log)) {
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            eventually(() -> ready(c, "sess-it") == 1 && ready(c, "sess-idle") == 1, "both pools warm");

            Child created = cli("sandbox", "create", "--policy", "sess-it.yaml", "--name", "work", "-q");
            assertThat(created.code()).as(created.err()).isZero();
            String id = created.out().strip();
            assertThat(id).matches("alk[0-9a-f]{8}");
            assertThat(created.err()).as("-q prints only the id").isEmpty();

            Child dup = cli("sandbox", "create", "--project", "sess-it", "--name", "work");
            assertThat(dup.code()).isEqualTo(125);
            assertThat(dup.err()).contains("a session named work exists").contains("Fix:");

            // the first exec writes a file, the second (by id prefix) reads it: one workspace across commands
            Child first = cli("sandbox", "exec", "work", "--", "/bin/sh", "-c", "echo hello > note.txt; pwd; echo to-stderr >&2");
            assertThat(first.code()).as(first.err()).isZero();
            assertThat(first.out()).isEqualTo("/workspace\n");
            assertThat(first.err()).contains("to-stderr");
            Child second = cli("sandbox", "exec", id.substring(0, 7), "--", "cat", "note.txt");
            assertThat(second.code()).as(second.err()).isZero();
            assertThat(second.out()).isEqualTo("hello\n");
            Child exit = cli("sandbox", "exec", id, "--", "/bin/sh", "-c", "exit 7");
            assertThat(exit.code()).as("the command's exit status").isEqualTo(7);

            // exec -i streams stdin up; attach is a login shell in the same workspace that reads stdin
            Path input = Files.writeString(tmp.resolve("stdin.txt"), "line from stdin\n");
            Child piped = cli(input, "sandbox", "exec", "-i", "work", "--", "/bin/sh", "-c", "cat > piped.txt; cat piped.txt");
            assertThat(piped.out()).isEqualTo("line from stdin\n");
            Path script = Files.writeString(tmp.resolve("shell.txt"), "cat note.txt piped.txt\nexit 3\n");
            Child attached = cli(script, "sandbox", "attach", "work");
            assertThat(attached.code()).as(attached.err()).isEqualTo(3);
            assertThat(attached.out()).contains("hello\nline from stdin\n");
            assertThat(attached.err()).contains("a new shell in session " + id);

            Child unknown = cli("sandbox", "exec", "alk0nosuch", "--", "true");
            assertThat(unknown.code()).isEqualTo(125);
            assertThat(unknown.err()).contains("no session alk0nosuch; see `airlock sandbox list`");

            Child list = cli("sandbox", "ls");
            assertThat(list.code()).as(list.err()).isZero();
            assertThat(list.out()).contains("SANDBOX").containsPattern(id + " +work +sess-it +warm +\\S+ +\\S+ +8h ");
            JsonNode json = JSON.readTree(cli("sandbox", "list", "--json").out());
            assertThat(json).hasSize(1);
            assertThat(json.get(0).path("sandbox").asText()).isEqualTo(id);
            assertThat(json.get(0).path("name").asText()).isEqualTo("work");
            assertThat(json.get(0).path("idleTimeout").asText()).isEqualTo("PT8H");
            assertThat(json.get(0).path("running").asInt()).isZero();
            assertThat(java.time.Instant.parse(json.get(0).path("lastActivity").asText()))
                    .as("the last exec's end, after the claim").isAfter(java.time.Instant.parse(json.get(0).path("createdAt").asText()));
            Child status = cli("pool", "status");
            assertThat(status.out()).contains("SESSIONS").contains("Sessions:").contains(id);

            Child stop = cli("sandbox", "stop", "work");
            assertThat(stop.code()).as(stop.err()).isZero();
            assertThat(stop.out()).isEqualTo(id + "\n");
            assertThat(claimed(c, id)).isFalse();
            eventually(() -> !Files.exists(Path.of("/run/netns", id)), "the stopped session's sandbox is destroyed");
            Child again = cli("sandbox", "stop", id);
            assertThat(again.code()).isEqualTo(1);
            assertThat(again.err()).contains("no session " + id);

            // a forgotten session: nothing runs in it, and its project's idle timeout (2 s) ends it
            Child forgotten = cli("sandbox", "create", "--project", "sess-idle", "-q");
            assertThat(forgotten.code()).as(forgotten.err()).isZero();
            String idle = forgotten.out().strip();
            eventually(() -> !claimed(c, idle), "the idle session is released");
            eventually(() -> !Files.exists(Path.of("/run/netns", idle)), "its sandbox is destroyed");
            assertThat(daemonLog.toString(StandardCharsets.UTF_8)).contains("session " + idle + " of sess-idle released: idle since")
                    .contains("idle timeout (2s)");
            assertThat(server.daemon().meters().scrape()).contains("airlock_sessions_expired_total{project=\"sess-idle\"} 1.0")
                    .contains("airlock_sessions_expired_total{project=\"sess-it\"} 0.0");
        }
    }
}
