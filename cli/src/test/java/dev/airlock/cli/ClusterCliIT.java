package dev.airlock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.airlock.k8s.ControlPlane;
import dev.airlock.k8s.ControlPlaneExtension;
import dev.airlock.k8s.FakeKubelet;
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
 * Ready through the API): {@code airlock pool status} prints the daemon's own figures,
 * {@code airlock sandbox create} claims a Ready pod, and {@code airlock run} and {@code sandbox exec}
 * (the JVM's and the C client's) run commands in pods. The CLI runs as its own process, as a user runs
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

    /**
     * {@code airlock run} and {@code airlock sandbox exec}, from the JVM command line and from the C
     * client, run their command in a pod through the API server's {@code pods/exec}; the pods' node
     * is a {@link FakeKubelet}, which runs the command on this host.
     */
    @Test
    void runAndSandboxExec_fromTheCliAndTheCClient_runInAPodThroughTheApiServer(ControlPlane cp, @TempDir Path dir) throws Exception {
        String ns = cp.newNamespace();
        Path policy = Files.writeString(dir.resolve("airlock.yaml"), "version: 1\nproject: payments\nnetwork:\n  allow:\n    - github.com\n");
        Path config = Files.writeString(dir.resolve("daemon.yaml"), "version: 1\nstate: state\nsocket: state/daemon.sock\n"
                + "backend: kubernetes\nkubernetes:\n  kubeconfig: " + cp.kubeconfig() + "\n  namespace: " + ns + "\n"
                + "  gatewayImage: registry.test/airlock:0.1.0\n  agentImage: registry.test/devbox:1\n"
                + "projects:\n  - policy: airlock.yaml\n    size: 3\n");
        Path socket = dir.resolve("state/daemon.sock");
        Path client = cClient(dir);
        // what the C client hands over to (it must not: everything here is its own)
        Path launcher = Files.writeString(dir.resolve("launcher"), "#!/bin/sh\necho \"handed over: $*\" >&2\nexit 99\n");
        launcher.toFile().setExecutable(true);
        try (FakeKubelet kubelet = FakeKubelet.start();
                DaemonServer server = DaemonServer.start(DaemonConfig.load(config), new PrintStream(new ByteArrayOutputStream()))) {
            DaemonClient daemon = DaemonClient.ifRunning(socket).orElseThrow();
            await("3 agent pods", () -> project(daemon).path("warming").asInt() == 3);
            String node = cp.registerNode(kubelet);
            cp.bindAndMarkReady(ns, node);
            await("3 ready", () -> project(daemon).path("ready").asInt() == 3);

            Run jvm = cli(socket, "run", "--policy", policy.toString(), "--", "sh", "-c", "echo out; echo err >&2; exit 7");
            assertThat(jvm.code()).as(jvm.err()).isEqualTo(7);
            assertThat(jvm.out()).isEqualTo("out\n");
            assertThat(jvm.err()).contains("from the daemon's pool (warm, claimed in").contains("err\n");
            assertThat(kubelet.execs()).last().satisfies(e -> assertThat(e.command()).endsWith("sh", "-c", "echo out; echo err >&2; exit 7"));

            Run c = native_(client, launcher, socket, dir, "run", "--policy", policy.toString(), "--", "sh", "-c", "echo c-out; echo c-err >&2; exit 5");
            assertThat(c.code()).as(c.err()).isEqualTo(5);
            assertThat(c.out()).isEqualTo("c-out\n");
            assertThat(c.err()).doesNotContain("handed over").contains("c-err\n");
            assertThat(kubelet.execs()).hasSize(2);

            await("the pool refilled", () -> project(daemon).path("warming").asInt() >= 1);
            cp.bindAndMarkReady(ns, node);
            Run created = cli(socket, "sandbox", "create", "--project", "payments");
            assertThat(created.code()).as(created.err()).isZero();
            String id = created.out().strip();
            Run exec = cli(socket, "sandbox", "exec", id, "--", "sh", "-c", "echo in-session; exit 4");
            assertThat(exec.code()).as(exec.err()).isEqualTo(4);
            assertThat(exec.out()).isEqualTo("in-session\n");
            Run cExec = native_(client, launcher, socket, dir, "sandbox", "exec", id, "--", "sh", "-c", "echo c-session; exit 3");
            assertThat(cExec.code()).as(cExec.err()).isEqualTo(3);
            assertThat(cExec.out()).isEqualTo("c-session\n");
            String pod = daemon.get("/v1/sandboxes").body().get(0).path("pod").asText();
            assertThat(kubelet.execs().subList(2, 4)).allSatisfy(e -> assertThat(e.pod()).isEqualTo(pod));
        }
    }

    /**
     * {@code echo x | airlock run -- cat} ends, from the JVM command line and from the C client,
     * and so does {@code sandbox exec -i}: the end of the caller's stdin reaches the command in
     * the pod (the relay's end frame), after every byte of it.
     */
    @Test
    void pipedStdin_fromTheCliAndTheCClient_reachesTheCommandInAPod_andItsEndEndsIt(ControlPlane cp, @TempDir Path dir) throws Exception {
        String ns = cp.newNamespace();
        Path policy = Files.writeString(dir.resolve("airlock.yaml"), "version: 1\nproject: payments\nnetwork:\n  allow:\n    - github.com\n");
        Path config = Files.writeString(dir.resolve("daemon.yaml"), "version: 1\nstate: state\nsocket: state/daemon.sock\n"
                + "backend: kubernetes\nkubernetes:\n  kubeconfig: " + cp.kubeconfig() + "\n  namespace: " + ns + "\n"
                + "  gatewayImage: registry.test/airlock:0.1.0\n  agentImage: registry.test/devbox:1\n"
                + "projects:\n  - policy: airlock.yaml\n    size: 4\n");
        Path socket = dir.resolve("state/daemon.sock");
        Path client = cClient(dir);
        Path launcher = Files.writeString(dir.resolve("launcher"), "#!/bin/sh\necho \"handed over: $*\" >&2\nexit 99\n");
        launcher.toFile().setExecutable(true);
        Path x = Files.writeString(dir.resolve("x"), "x\n");
        Path lines = Files.writeString(dir.resolve("lines"), "a\nb\n");
        byte[] big = new byte[4 << 20];
        new java.util.Random(12).nextBytes(big);
        Path bigFile = Files.write(dir.resolve("big"), big);
        String bigSum = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(big));
        try (FakeKubelet kubelet = FakeKubelet.start();
                DaemonServer server = DaemonServer.start(DaemonConfig.load(config), new PrintStream(new ByteArrayOutputStream()))) {
            DaemonClient daemon = DaemonClient.ifRunning(socket).orElseThrow();
            await("4 agent pods", () -> project(daemon).path("warming").asInt() == 4);
            String node = cp.registerNode(kubelet);
            cp.bindAndMarkReady(ns, node);
            await("4 ready", () -> project(daemon).path("ready").asInt() == 4);

            Run cat = finish(cliCommand("run", "--policy", policy.toString(), "--", "cat"), socket, x);
            assertThat(cat.code()).as(cat.err()).isZero();
            assertThat(cat.out()).isEqualTo("x\n");
            Run wc = finish(nativeCommand(client, launcher, dir, "run", "--policy", policy.toString(), "--", "wc", "-l"), socket, lines);
            assertThat(wc.code()).as(wc.err()).isZero();
            assertThat(wc.out().strip()).isEqualTo("2");
            assertThat(wc.err()).doesNotContain("handed over");
            Run sum = finish(nativeCommand(client, launcher, dir, "run", "--policy", policy.toString(), "--", "sha256sum"), socket, bigFile);
            assertThat(sum.code()).as(sum.err()).isZero();
            assertThat(sum.out()).isEqualTo(bigSum + "  -\n");
            Run jvmSum = finish(cliCommand("run", "--policy", policy.toString(), "--", "sha256sum"), socket, bigFile);
            assertThat(jvmSum.code()).as(jvmSum.err()).isZero();
            assertThat(jvmSum.out()).isEqualTo(bigSum + "  -\n");

            await("the pool refilled", () -> project(daemon).path("warming").asInt() >= 1);
            cp.bindAndMarkReady(ns, node);
            await("a ready pod", () -> project(daemon).path("ready").asInt() >= 1);
            Run created = cli(socket, "sandbox", "create", "--project", "payments");
            assertThat(created.code()).as(created.err()).isZero();
            String id = created.out().strip();
            Run exec = finish(cliCommand("sandbox", "exec", "-i", id, "--", "sh", "-c", "cat; echo after-eof"), socket, x);
            assertThat(exec.code()).as(exec.err()).isZero();
            assertThat(exec.out()).isEqualTo("x\nafter-eof\n");
            Run cExec = finish(nativeCommand(client, launcher, dir, "sandbox", "exec", "-i", id, "--", "wc", "-c"), socket, bigFile);
            assertThat(cExec.code()).as(cExec.err()).isZero();
            assertThat(cExec.out().strip()).isEqualTo(Integer.toString(big.length));
            assertThat(kubelet.execs()).allSatisfy(e -> assertThat(e.command().getFirst()).isEqualTo(dev.airlock.k8s.PodExec.RELAY));
        }
    }

    /** The C client built from packaging/client (gcc as NativeClientTest needs it: skipped without, failing with CI=true). */
    private static Path cClient(Path dir) throws Exception {
        return NativeClientTest.compile(Files.createDirectories(dir.resolve("cc")));
    }

    private static Run native_(Path client, Path launcher, Path socket, Path dir, String... args) throws Exception {
        return finish(nativeCommand(client, launcher, dir, args), socket);
    }

    private static ProcessBuilder nativeCommand(Path client, Path launcher, Path dir, String... args) {
        List<String> cmd = new ArrayList<>(List.of(client.toString(), launcher.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
        pb.environment().clear();
        pb.environment().put("PATH", "/usr/bin:/bin");
        return pb;
    }

    private record Run(int code, String out, String err) {
    }

    private static Run cli(Path socket, String... args) throws Exception {
        return finish(cliCommand(args), socket);
    }

    private static ProcessBuilder cliCommand(String... args) {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(), "-cp",
                System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd);
    }

    private static Run finish(ProcessBuilder pb, Path socket) throws Exception {
        return finish(pb, socket, Path.of("/dev/null"));
    }

    /** Runs it with {@code stdin} as its input (a file: `COMMAND < FILE`, as a pipe would end). */
    private static Run finish(ProcessBuilder pb, Path socket, Path stdin) throws Exception {
        pb.environment().put("AIRLOCK_DAEMON_SOCKET", socket.toString());
        pb.redirectInput(ProcessBuilder.Redirect.from(stdin.toFile()));
        Path out = Files.createTempFile("alk-cli", ".out");
        Path err = Files.createTempFile("alk-cli", ".err");
        try {
            Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("the CLI did not end within 60 s (a hang, not a timing claim): " + pb.command().getLast());
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
