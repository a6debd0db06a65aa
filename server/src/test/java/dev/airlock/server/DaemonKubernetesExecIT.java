package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.airlock.k8s.AccessCheck;
import dev.airlock.k8s.ControlPlane;
import dev.airlock.k8s.ControlPlaneExtension;
import dev.airlock.k8s.FakeKubelet;
import dev.airlock.k8s.FakeKubeletForClass;
import dev.airlock.k8s.PodExec;
import dev.airlock.sandbox.WindowSize;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code airlock run} and {@code airlock sandbox exec} on {@code backend: kubernetes}, end to end
 * through the real kube-apiserver: the daemon claims a Ready pod and runs the command in its agent
 * container through {@code pods/exec}; the API server relays it to the pod's node, whose kubelet
 * here is a {@link FakeKubelet} (it runs the command on this host: what reaches it and what comes
 * back is real, the container is not). The client is {@link DaemonClient}, the CLI's own.
 */
@ExtendWith(ControlPlaneExtension.class)
class DaemonKubernetesExecIT {

    private static final String POLICY = "version: 1\nproject: payments\nnetwork:\n  allow:\n    - github.com\n";
    @RegisterExtension
    static final FakeKubeletForClass kubelet = new FakeKubeletForClass();

    @Test
    void run_pipes_givesOutErrAndTheExitCode_stdinReachesTheCommand_andThePodIsReleased(ControlPlane cp, @TempDir Path dir) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        Path config = config(dir, cp.kubeconfig(), ns, 2);
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), quiet())) {
            DaemonClient client = DaemonClient.ifRunning(dir.resolve("state/daemon.sock")).orElseThrow();
            readyOnTheFakeNode(cp, client, ns, 2);
            int before = kubelet.get().execs().size();

            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            AtomicReference<JsonNode> start = new AtomicReference<>();
            // as `airlock run -- sh -c '…'` sends it: the project by its policy file
            JsonNode last = client.runPolicy(dir.resolve("airlock.yaml"), List.of("sh", "-c", "echo out; echo err >&2; exit 7"), Map.of("K", "v"),
                    InputStream.nullInputStream(), out, err, start::set).orElseThrow();
            assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("out\n");
            assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("err\n");
            assertThat(last.path("exit").asInt()).isEqualTo(7);
            String pod = start.get().path("pod").asText();
            assertThat(start.get().path("warm").asBoolean()).isTrue();
            assertThat(start.get().path("workspace").asText()).isEqualTo("empty");
            FakeKubelet.Exec seen = kubelet.get().execs().get(before);
            assertThat(seen.namespace()).isEqualTo(ns);
            assertThat(seen.pod()).isEqualTo(pod);
            assertThat(seen.container()).isEqualTo("agent");
            // piped: under the pod's stdin relay (which sets the variables)
            assertThat(seen.command()).containsExactly(PodExec.RELAY, "K=v", "--", "sh", "-c", "echo out; echo err >&2; exit 7");
            await("the run's pod deleted", () -> gone(k, ns, pod));
            assertThat(client.get("/v1/sandboxes").body()).isEmpty();

            // stdin reaches the command
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            JsonNode read = client.run("payments", List.of("sh", "-c", "read line; echo got:$line"), Map.of(),
                    new ByteArrayInputStream("from-the-caller\n".getBytes(StandardCharsets.UTF_8)), got, new ByteArrayOutputStream(), n -> { });
            assertThat(got.toString(StandardCharsets.UTF_8)).isEqualTo("got:from-the-caller\n");
            assertThat(read.path("exit").asInt()).isZero();
            assertThat(status(client).path("warmClaims").asInt()).isEqualTo(2);
        }
    }

    /**
     * {@code echo x | airlock run -- cat} ends: the end of the client's body is the end of the
     * command's input (the relay's end frame), after every byte of it.
     */
    @Test
    void run_pipedInput_reachesTheCommandByteExact_andItsEndIsTheCommandsEndOfFile(ControlPlane cp, @TempDir Path dir) throws Exception {
        String ns = cp.newNamespace();
        Path config = config(dir, cp.kubeconfig(), ns, 4);
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), quiet())) {
            DaemonClient client = DaemonClient.ifRunning(dir.resolve("state/daemon.sock")).orElseThrow();
            readyOnTheFakeNode(cp, client, ns, 4);

            Ran cat = run(client, "x\n".getBytes(StandardCharsets.UTF_8), "cat");
            assertThat(cat.out()).isEqualTo("x\n");
            assertThat(cat.exit()).isZero();

            Ran lines = run(client, "a\nb\n".getBytes(StandardCharsets.UTF_8), "wc", "-l");
            assertThat(lines.out().strip()).isEqualTo("2");
            assertThat(lines.exit()).isZero();

            byte[] big = new byte[4 << 20];
            new java.util.Random(12).nextBytes(big);
            Ran sum = run(client, big, "sha256sum");
            assertThat(sum.out()).isEqualTo(java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(big)) + "  -\n");
            assertThat(sum.exit()).isZero();

            Ran missing = run(client, "ignored".getBytes(StandardCharsets.UTF_8), "no-such-command-alk");
            assertThat(missing.exit()).isEqualTo(127);
            assertThat(missing.err()).startsWith("airlock: no-such-command-alk: command not found in the pod (PATH ");
        }
    }

    private record Ran(String out, String err, int exit) {
    }

    /** {@code printf INPUT | airlock run -- COMMAND}, as the CLI sends it, with a guard against a hang. */
    private static Ran run(DaemonClient client, byte[] input, String... command) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            java.util.concurrent.Future<JsonNode> last = threads.submit(() -> client.run("payments", List.of(command), Map.of(),
                    new ByteArrayInputStream(input), out, err, n -> { }));
            int exit = last.get(60, java.util.concurrent.TimeUnit.SECONDS).path("exit").asInt();
            return new Ran(out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8), exit);
        }
    }

    @Test
    void run_onATerminal_givesTheCommandATerminalAndTheWindowSize(ControlPlane cp, @TempDir Path dir) throws Exception {
        String ns = cp.newNamespace();
        Path config = config(dir, cp.kubeconfig(), ns, 1);
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), quiet())) {
            DaemonClient client = DaemonClient.ifRunning(dir.resolve("state/daemon.sock")).orElseThrow();
            readyOnTheFakeNode(cp, client, ns, 1);
            int before = kubelet.get().execs().size();
            AtomicReference<Consumer<WindowSize>> resizer = new AtomicReference<>();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            // the keys typed: a line, then the window grows while the command waits for it
            JsonNode last = client.run("payments", List.of("sh", "-c", "read x; test -t 0 && echo on-a-tty:$x; exit 3"), Map.of(),
                    Optional.of(new DaemonClient.Tty(new WindowSize(24, 80), resizer::set)), new TypedLine(resizer), out, new ByteArrayOutputStream(),
                    n -> { });
            assertThat(out.toString(StandardCharsets.UTF_8)).contains("on-a-tty:typed");
            assertThat(last.path("exit").asInt()).isEqualTo(3);
            FakeKubelet.Exec seen = kubelet.get().execs().get(before);
            assertThat(seen.tty()).isTrue();
            assertThat(seen.command()).as("a terminal's input is keys, ^D its end: no relay").startsWith("env");
            assertThat(seen.resizes()).startsWith("{\"Width\":80,\"Height\":24}").contains("{\"Width\":120,\"Height\":50}");
        }
    }

    @Test
    void sandboxExec_inAClaimedPod_runsThereAndTheClaimStays(ControlPlane cp, @TempDir Path dir) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        Path config = config(dir, cp.kubeconfig(), ns, 1);
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), quiet())) {
            DaemonClient client = DaemonClient.ifRunning(dir.resolve("state/daemon.sock")).orElseThrow();
            readyOnTheFakeNode(cp, client, ns, 1);
            DaemonClient.Response claimed = client.post("/v1/claims", JsonNodeFactory.instance.objectNode().put("project", "payments"));
            assertThat(claimed.status()).as(claimed.body().toString()).isEqualTo(201);
            String id = claimed.body().path("sandbox").asText();
            String pod = claimed.body().path("pod").asText();
            int before = kubelet.get().execs().size();

            ByteArrayOutputStream out = new ByteArrayOutputStream();
            JsonNode last = client.exec(client.resolveSession(id.substring(0, 6)), List.of("sh", "-c", "echo in-session; exit 4"), Map.of(),
                    InputStream.nullInputStream(), out, new ByteArrayOutputStream());
            assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("in-session\n");
            assertThat(last.path("exit").asInt()).isEqualTo(4);
            assertThat(kubelet.get().execs().get(before).pod()).isEqualTo(pod);
            assertThat(k.pods().inNamespace(ns).withName(pod).get().getMetadata().getLabels()).containsEntry("airlock.dev/state", "claimed");

            // without input (sandbox exec without -i) the command reads end-of-file, as on one host
            ByteArrayOutputStream eof = new ByteArrayOutputStream();
            try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
                java.util.concurrent.Future<JsonNode> reading = threads.submit(() -> client.exec(id, List.of("sh", "-c", "cat; echo after-eof"),
                        Map.of(), InputStream.nullInputStream(), eof, new ByteArrayOutputStream()));
                assertThat(reading.get(60, java.util.concurrent.TimeUnit.SECONDS).path("exit").asInt()).as("cat ended: its input was closed").isZero();
            }
            assertThat(eof.toString(StandardCharsets.UTF_8)).isEqualTo("after-eof\n");
            assertThat(kubelet.get().execs().getLast().command()).as("the empty body's end is the relay's end frame").startsWith(PodExec.RELAY);

            // with input (sandbox exec -i): the bytes, then end-of-file
            ByteArrayOutputStream piped = new ByteArrayOutputStream();
            JsonNode pipedLast = client.exec(id, List.of("sh", "-c", "cat; echo after-eof"), Map.of(),
                    new ByteArrayInputStream("from -i\n".getBytes(StandardCharsets.UTF_8)), piped, new ByteArrayOutputStream());
            assertThat(piped.toString(StandardCharsets.UTF_8)).isEqualTo("from -i\nafter-eof\n");
            assertThat(pipedLast.path("exit").asInt()).isZero();

            // an id this daemon never gave out is refused with the fix, and nothing reaches a kubelet
            assertThatThrownBy(() -> client.exec("alk00000000", List.of("true"), Map.of(), InputStream.nullInputStream(),
                    new ByteArrayOutputStream(), new ByteArrayOutputStream()))
                    .isInstanceOf(DaemonException.class).hasMessageContaining("no claimed sandbox alk00000000").hasMessageContaining("Fix:");
            assertThat(kubelet.get().execs()).hasSize(before + 3);
            assertThat(client.delete("/v1/sandboxes/" + id).status()).isEqualTo(200);
        }
    }

    @Test
    void run_whoseClientGoesAway_endsTheExecAndDeletesThePod(ControlPlane cp, @TempDir Path dir) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        Path config = config(dir, cp.kubeconfig(), ns, 1);
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), quiet())) {
            Path socket = dir.resolve("state/daemon.sock");
            DaemonClient client = DaemonClient.ifRunning(socket).orElseThrow();
            readyOnTheFakeNode(cp, client, ns, 1);
            String pod;
            try (java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
                ch.connect(java.net.UnixDomainSocketAddress.of(socket));
                byte[] line = "{\"project\":\"payments\",\"command\":[\"sleep\",\"600\"]}\n".getBytes(StandardCharsets.UTF_8);
                ch.write(java.nio.ByteBuffer.wrap(("POST /v1/run HTTP/1.1\r\nHost: airlock\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + Integer.toHexString(line.length) + "\r\n" + new String(line, StandardCharsets.UTF_8) + "\r\n").getBytes(StandardCharsets.UTF_8)));
                InputStream in = java.nio.channels.Channels.newInputStream(ch);
                StringBuilder seen = new StringBuilder();
                while (!seen.toString().contains("\"pod\":\"")) { // the start line: the command runs
                    int b = in.read();
                    assertThat(b).as("the answer so far: " + seen).isNotNegative();
                    seen.append((char) b);
                }
                JsonNode listed = client.get("/v1/sandboxes").body();
                assertThat(listed).singleElement().satisfies(n -> assertThat(n.path("kind").asText()).isEqualTo("run"));
                pod = listed.get(0).path("pod").asText();
                assertThat(gone(k, ns, pod)).isFalse();
            } // the client goes away (as a killed `airlock run` does)
            await("the run's pod deleted", () -> gone(k, ns, pod));
            await("no claim left", () -> {
                try {
                    return client.get("/v1/sandboxes").body().isEmpty();
                } catch (java.io.IOException e) {
                    return false;
                }
            });
        }
    }

    @Test
    void run_onAPodNoKubeletServes_failsWithTheFix_andReleasesThePod(ControlPlane cp, @TempDir Path dir) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        Path config = config(dir, cp.kubeconfig(), ns, 1);
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), quiet())) {
            DaemonClient client = DaemonClient.ifRunning(dir.resolve("state/daemon.sock")).orElseThrow();
            await("a pod", () -> status(client).path("warming").asInt() == 1);
            cp.markAllReady(ns); // Ready, but on no node: the API server has no kubelet to send the exec to
            await("a Ready pod", () -> status(client).path("ready").asInt() == 1);
            String pod = k.pods().inNamespace(ns).withLabel("airlock.dev/project", "payments").list().getItems().get(0).getMetadata().getName();
            assertThatThrownBy(() -> client.run("payments", List.of("true"), Map.of(), InputStream.nullInputStream(), new ByteArrayOutputStream(),
                    new ByteArrayOutputStream(), n -> { }))
                    .isInstanceOf(DaemonException.class).hasMessageContaining("cannot run a command in pod " + ns + "/" + pod + " (pods/exec)")
                    .hasMessageContaining("Fix: check that the pod is Running on a node");
            await("the run's pod deleted", () -> gone(k, ns, pod));
        }
    }

    @Test
    void daemon_withoutThePodsExecRule_refusesToStartNamingIt_andWithTheRuleRunsCommands(ControlPlane cp, @TempDir Path dir) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient admin = cp.admin();
        var withoutExec = AccessCheck.NEEDED.stream().filter(g -> !g.resource().equals("pods/exec"))
                .map(g -> new PolicyRuleBuilder().withApiGroups(g.group()).withResources(g.resource()).withVerbs(g.verbs()).build()).toList();
        admin.resource(new RoleBuilder().withNewMetadata().withName("airlock").withNamespace(ns).endMetadata().withRules(withoutExec).build()).create();
        admin.resource(new RoleBindingBuilder().withNewMetadata().withName("airlock").withNamespace(ns).endMetadata()
                .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("Role").withName("airlock").endRoleRef()
                .addNewSubject().withKind("User").withApiGroup("rbac.authorization.k8s.io").withName(ControlPlane.RESTRICTED_USER).endSubject()
                .build()).create();
        Path config = config(dir, cp.restrictedKubeconfig(), ns, 1);

        assertThatThrownBy(() -> DaemonServer.start(DaemonConfig.load(config), quiet()))
                .isInstanceOf(DaemonException.class).hasMessageContaining("lacks 2 permission(s) in namespace " + ns + ": get pods/exec, create pods/exec")
                .hasMessageContaining("Nothing was applied").hasMessageContaining("resources: [pods/exec]\n    verbs: [get, create]");
        assertThat(DaemonClient.ifRunning(dir.resolve("state/daemon.sock"))).isEmpty();

        // Control: the same account once its Role has the rule (the shipped Role's) starts and runs a command.
        admin.rbac().roles().inNamespace(ns).withName("airlock").edit(r -> {
            r.getRules().add(new PolicyRuleBuilder().withApiGroups("").withResources("pods/exec").withVerbs("get", "create").build());
            return r;
        });
        try (KubernetesClient restricted = dev.airlock.k8s.KubeClients.connect(Optional.of(cp.restrictedKubeconfig()))) {
            // the API server's RBAC informer picks the edit up; the daemon's start asks the same question
            await("the rule in force", () -> {
                try {
                    return AccessCheck.missing(restricted, ns).isEmpty();
                } catch (dev.airlock.k8s.KubeBackendException e) {
                    return false;
                }
            });
        }
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), quiet())) {
            DaemonClient client = DaemonClient.ifRunning(dir.resolve("state/daemon.sock")).orElseThrow();
            readyOnTheFakeNode(cp, client, ns, 1);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            JsonNode last = client.run("payments", List.of("sh", "-c", "echo allowed"), Map.of(), InputStream.nullInputStream(), out,
                    new ByteArrayOutputStream(), n -> { });
            assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("allowed\n");
            assertThat(last.path("exit").asInt()).isZero();
        }
    }

    /** Keys typed on the caller's terminal: after the window grew to 50x120, "typed" and Enter, then nothing more. */
    private static final class TypedLine extends InputStream {
        private final AtomicReference<Consumer<WindowSize>> resizer;
        private byte[] pending;
        private int at;

        TypedLine(AtomicReference<Consumer<WindowSize>> resizer) {
            this.resizer = resizer;
        }

        @Override
        public int read() {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0];
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (pending == null) {
                try {
                    await("the client registered for resizes", () -> resizer.get() != null);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return -1;
                }
                resizer.get().accept(new WindowSize(50, 120));
                pending = "typed\r".getBytes(StandardCharsets.US_ASCII);
            }
            if (at >= pending.length) {
                try {
                    Thread.sleep(60_000); // a terminal's input has no end: the run ends when the command does
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return -1;
            }
            int n = Math.min(len, pending.length - at);
            System.arraycopy(pending, at, b, off, n);
            at += n;
            return n;
        }
    }

    /** Plays the scheduler and the kubelet: the pool's pods on the fake kubelet's node, Running and Ready. */
    private static void readyOnTheFakeNode(ControlPlane cp, DaemonClient client, String ns, int size) throws Exception {
        await(size + " pods", () -> status(client).path("warming").asInt() == size);
        cp.bindAndMarkReady(ns, cp.registerNode(kubelet.get()));
        await(size + " Ready pods", () -> status(client).path("ready").asInt() == size);
    }

    private static boolean gone(KubernetesClient k, String ns, String pod) {
        Pod p = k.pods().inNamespace(ns).withName(pod).get();
        return p == null || p.getMetadata().getDeletionTimestamp() != null;
    }

    private static Path config(Path dir, Path kubeconfig, String ns, int size) throws java.io.IOException {
        Files.writeString(dir.resolve("airlock.yaml"), POLICY);
        return Files.writeString(dir.resolve("daemon.yaml"), "version: 1\nstate: state\nsocket: state/daemon.sock\n"
                + "backend: kubernetes\nkubernetes:\n  kubeconfig: " + kubeconfig + "\n  namespace: " + ns + "\n"
                + "  gatewayImage: registry.test/airlock:0.1.0\n  agentImage: registry.test/devbox:1\n"
                + "projects:\n  - policy: airlock.yaml\n    size: " + size + "\n");
    }

    private static PrintStream quiet() {
        return new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    }

    private static JsonNode status(DaemonClient c) {
        try {
            DaemonClient.Response r = c.get("/v1/status");
            assertThat(r.status()).isEqualTo(200);
            return r.body().path("projects").get(0);
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
