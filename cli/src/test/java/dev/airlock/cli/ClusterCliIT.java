package dev.airlock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.airlock.k8s.ControlPlane;
import dev.airlock.k8s.ControlPlaneExtension;
import dev.airlock.server.DaemonClient;
import dev.airlock.server.DaemonConfig;
import dev.airlock.server.DaemonServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line against a daemon on {@code backend: kubernetes} (a real kube-apiserver, pods marked
 * Ready through the API): {@code airlock pool status} prints the daemon's own figures and
 * {@code airlock sandbox create} claims a Ready pod. The CLI runs as its own process, as a user runs
 * it, since it finds the daemon through {@code AIRLOCK_DAEMON_SOCKET}.
 */
@ExtendWith(ControlPlaneExtension.class)
class ClusterCliIT {

    @Test
    void poolStatusAndSandboxCreate_againstAKubernetesDaemon_showTheDaemonsFigures(ControlPlane cp, @TempDir Path dir) throws Exception {
        String ns = cp.newNamespace();
        Files.writeString(dir.resolve("airlock.yaml"), "version: 1\nproject: payments\nnetwork:\n  allow:\n    - github.com\n");
        Path config = Files.writeString(dir.resolve("daemon.yaml"), "version: 1\nstate: state\nsocket: state/daemon.sock\n"
                + "backend: kubernetes\nkubernetes:\n  kubeconfig: " + cp.kubeconfig() + "\n  namespace: " + ns + "\n"
                + "  gatewayImage: registry.test/airlock:0.1.0\n  agentImage: registry.test/devbox:1\n"
                + "projects:\n  - policy: airlock.yaml\n    size: 3\n");
        Path socket = dir.resolve("state/daemon.sock");
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), new PrintStream(new ByteArrayOutputStream()))) {
            DaemonClient daemon = DaemonClient.ifRunning(socket).orElseThrow();
            await("3 agent pods", () -> cp.admin().pods().inNamespace(ns).withLabel("airlock.dev/project", "payments").list().getItems().size() == 3);
            cp.markAllReady(ns);
            await("3 ready", () -> project(daemon).path("ready").asInt() == 3);

            Run json = cli(socket, "pool", "status", "--json");
            assertThat(json.code()).as(json.err()).isZero();
            JsonNode printed = new ObjectMapper().readTree(json.out()).path("projects").get(0);
            JsonNode direct = project(daemon);
            for (String figure : List.of("project", "desired", "ready", "warming", "inUse", "sizing")) {
                assertThat(printed.path(figure)).as(figure).isEqualTo(direct.path(figure));
            }
            Run table = cli(socket, "pool", "status");
            assertThat(table.code()).as(table.err()).isZero();
            assertThat(row(table.out())).as(table.out()).startsWith("payments", "3", "3", "0", "0");

            Run created = cli(socket, "sandbox", "create", "--project", "payments");
            assertThat(created.code()).as(created.err()).isZero();
            String id = created.out().strip();
            assertThat(created.err()).contains("session " + id + " of payments").contains("(warm, claimed in");
            JsonNode held = daemon.get("/v1/sandboxes").body();
            assertThat(held).singleElement().satisfies(n -> assertThat(n.path("sandbox").asText()).isEqualTo(id));
            String pod = held.get(0).path("pod").asText();
            assertThat(cp.admin().pods().inNamespace(ns).withName(pod).get().getMetadata().getLabels())
                    .containsEntry("airlock.dev/state", "claimed");

            await("the claim in use", () -> project(daemon).path("inUse").asInt() == 1);
            Run after = cli(socket, "pool", "status");
            JsonNode now = project(daemon);
            assertThat(row(after.out())).as(after.out()).startsWith("payments", now.path("desired").asText(), now.path("ready").asText(),
                    now.path("warming").asText(), "1");
            assertThat(after.out()).contains(id);
        }
    }

    private record Run(int code, String out, String err) {
    }

    private static Run cli(Path socket, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(), "-cp",
                System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("AIRLOCK_DAEMON_SOCKET", socket.toString());
        Path out = Files.createTempFile("alk-cli", ".out");
        Path err = Files.createTempFile("alk-cli", ".err");
        try {
            Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("the CLI did not end within 60 s (a hang, not a timing claim): " + args[0]);
            }
            return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** The pool table's first project row, split on blanks. */
    private static List<String> row(String table) {
        return table.lines().filter(l -> l.startsWith("payments")).findFirst().map(l -> List.of(l.trim().split(" +"))).orElseThrow();
    }

    private static JsonNode project(DaemonClient c) {
        try {
            return c.get("/v1/status").body().path("projects").get(0);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        for (int i = 0; i < 600; i++) {
            if (condition.getAsBoolean()) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("not within 60 s: " + what);
    }
}
