package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.airlock.k8s.ControlPlane;
import dev.airlock.k8s.ControlPlaneExtension;
import dev.airlock.k8s.FakeKubelet;
import dev.airlock.k8s.FakeKubeletForClass;
import dev.airlock.pool.state.StateDatabase;
import dev.airlock.pool.usage.ClaimRecord;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A daemon with {@code backend: kubernetes} whose pool has no Ready pod serves claims cold, as on
 * one host: {@code airlock run} and {@code POST /v1/claims} start a pod for the claim and wait for
 * it, through the real kube-apiserver. The test plays the scheduler and kubelet (binds the pod to a
 * {@link FakeKubelet}'s node, marks it Ready); a pod it leaves alone runs into the timeout.
 */
@ExtendWith(ControlPlaneExtension.class)
class DaemonKubernetesColdIT {

    private static final String POLICY = "version: 1\nproject: payments\nnetwork:\n  allow:\n    - github.com\n";
    @RegisterExtension
    static final FakeKubeletForClass kubelet = new FakeKubeletForClass();
    private static final java.util.concurrent.Executor OWN_THREAD = r -> Thread.ofPlatform().daemon().start(r);

    @Test
    void run_onAnEmptyPool_startsAPodRunsTheCommandInItAndCountsACold(ControlPlane cp, @TempDir Path dir) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        Path socket = dir.resolve("state/daemon.sock");
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config(dir, cp.kubeconfig(), ns, "")), quiet())) {
            DaemonClient client = DaemonClient.ifRunning(socket).orElseThrow();
            String node = cp.registerNode(kubelet.get());
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            AtomicReference<JsonNode> start = new AtomicReference<>();
            // on its own thread: a blocked common pool (one thread on a 2-core machine) would stall the Kubernetes client's completions
            CompletableFuture<JsonNode> run = CompletableFuture.supplyAsync(() -> {
                try {
                    return client.run("payments", List.of("sh", "-c", "echo cold"), Map.of(), InputStream.nullInputStream(), out,
                            new ByteArrayOutputStream(), start::set);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, OWN_THREAD);

            await("the run's own pod", () -> agents(k, ns).size() == 1);
            Pod started = agents(k, ns).get(0);
            assertThat(started.getMetadata().getLabels()).containsEntry("airlock.dev/state", "claimed");
            assertThat(run).as("no Ready pod yet: the run waits").isNotDone();
            cp.bindAndMarkReady(ns, node);

            JsonNode last = run.get(60, TimeUnit.SECONDS);
            assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("cold\n");
            assertThat(last.path("exit").asInt()).isZero();
            assertThat(start.get().path("warm").asBoolean()).isFalse();
            assertThat(start.get().path("pod").asText()).isEqualTo(started.getMetadata().getName());
            await("the run's pod deleted", () -> agents(k, ns).stream().allMatch(p -> p.getMetadata().getDeletionTimestamp() != null));
            assertThat(status(client).path("coldClaims").asInt()).isEqualTo(1);
            assertThat(status(client).path("warmClaims").asInt()).isZero();
            assertThat(status(client).path("coldStartRate").asDouble()).isEqualTo(1.0);
            assertThat(scrape(socket)).contains("airlock_claims_total{project=\"payments\",result=\"cold\"} 1.0");
        }
        try (StateDatabase db = StateDatabase.openReadOnly(dir.resolve("state/airlock.db"))) {
            assertThat(db.queryAll(Instant.EPOCH)).as("the usage history the sizing reads").singleElement()
                    .satisfies(r -> assertThat(r.result()).isEqualTo(ClaimRecord.Result.COLD));
        }
    }

    @Test
    void claim_whosePodIsNotReadyInTime_answers503WithWhatItWaitsOn_andLeavesNoPod_whileAReadyOneIsClaimed(ControlPlane cp, @TempDir Path dir)
            throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        Path socket = dir.resolve("state/daemon.sock");
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config(dir, cp.kubeconfig(), ns, "  coldStartTimeout: 3s\n")), quiet())) {
            DaemonClient client = DaemonClient.ifRunning(socket).orElseThrow();

            DaemonClient.Response refused = claim(client);

            assertThat(refused.status()).isEqualTo(503);
            assertThat(refused.error()).contains("no Ready pod of payments to claim").contains("was not Ready within 3 s")
                    .contains("it is not scheduled").contains("The pod was deleted.").contains("Fix:");
            await("no pod left", () -> agents(k, ns).isEmpty());
            assertThat(status(client).path("failedClaims").asInt()).isEqualTo(1);

            // control: the same claim, its pod made Ready in time, is served
            CompletableFuture<DaemonClient.Response> claim = claimLater(client);
            await("the claim's pod", () -> agents(k, ns).size() == 1);
            DaemonKubernetesIT.markReady(k, ns, agents(k, ns).get(0).getMetadata().getName());
            DaemonClient.Response served = claim.get(30, TimeUnit.SECONDS);
            assertThat(served.status()).as(served.body().toString()).isEqualTo(201);
            assertThat(served.body().path("warm").asBoolean()).isFalse();
            assertThat(client.get("/v1/sandboxes").body()).singleElement().satisfies(n -> assertThat(n.path("warm").asBoolean()).isFalse());
            assertThat(status(client).path("coldClaims").asInt()).isEqualTo(1);
            assertThat(scrape(socket)).contains("airlock_claims_total{project=\"payments\",result=\"failed\"} 1.0")
                    .contains("airlock_claims_total{project=\"payments\",result=\"cold\"} 1.0");
        }
    }

    @Test
    void claim_whoseClientGoesAwayWhileThePodStarts_deletesThePod(ControlPlane cp, @TempDir Path dir) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        Path socket = dir.resolve("state/daemon.sock");
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config(dir, cp.kubeconfig(), ns, "")), quiet())) {
            DaemonClient client = DaemonClient.ifRunning(socket).orElseThrow();
            String body = "{\"project\": \"payments\"}";
            try (java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
                ch.connect(java.net.UnixDomainSocketAddress.of(socket));
                ch.write(java.nio.ByteBuffer.wrap(("POST /v1/claims HTTP/1.1\r\nHost: airlock\r\nContent-Type: application/json\r\nContent-Length: "
                        + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII)));
                await("the claim's pod", () -> agents(k, ns).size() == 1);
            } // as an interrupted `airlock sandbox create`: the connection closes while the pod starts

            await("the pod deleted", () -> agents(k, ns).isEmpty());
            await("counted failed", () -> status(client).path("failedClaims").asInt() == 1);
            assertThat(client.get("/v1/sandboxes").body()).isEmpty();
        }
    }

    @Test
    void claim_waitingWhenTheDaemonStops_isAnsweredThatItStops_andItsPodDeleted(ControlPlane cp, @TempDir Path dir) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        Path socket = dir.resolve("state/daemon.sock");
        DaemonServer server = DaemonServer.start(DaemonConfig.load(config(dir, cp.kubeconfig(), ns, "")), quiet());
        try {
            DaemonClient client = DaemonClient.ifRunning(socket).orElseThrow();
            CompletableFuture<DaemonClient.Response> claim = claimLater(client);
            await("the claim's pod", () -> agents(k, ns).size() == 1);

            server.close();

            DaemonClient.Response answer = claim.get(30, TimeUnit.SECONDS);
            assertThat(answer.status()).isEqualTo(503);
            assertThat(answer.error()).contains("was still starting when the daemon shut down").contains("The pod was deleted.");
            await("no pod left", () -> agents(k, ns).isEmpty());
        } finally {
            server.close();
        }
    }

    @Test
    void claim_overTheProjectsHardLimit_answers503AsOnOneHost_andStartsNoPod_whileTheClaimWithinItIsServed(ControlPlane cp, @TempDir Path dir)
            throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        Path socket = dir.resolve("state/daemon.sock");
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config(dir, cp.kubeconfig(), ns, "", "    hardLimit: 1\n")), quiet())) {
            DaemonClient client = DaemonClient.ifRunning(socket).orElseThrow();
            // within the limit: the first claim starts its pod and waits for it
            CompletableFuture<DaemonClient.Response> first = claimLater(client);
            await("the first claim's pod", () -> agents(k, ns).size() == 1);

            DaemonClient.Response refused = claim(client);

            assertThat(refused.status()).isEqualTo(503);
            assertThat(refused.error()).isEqualTo("project payments has 1 sandboxes (pods), its hard limit; no pod was created for this claim."
                    + " Fix: release some, or raise the hard limit in the daemon configuration.");
            assertThat(agents(k, ns)).as("no pod for the refused claim").hasSize(1);
            assertThat(status(client).path("failedClaims").asInt()).isEqualTo(1);
            assertThat(scrape(socket)).contains("airlock_claims_total{project=\"payments\",result=\"failed\"} 1.0");

            DaemonKubernetesIT.markReady(k, ns, agents(k, ns).get(0).getMetadata().getName());
            DaemonClient.Response served = first.get(30, TimeUnit.SECONDS);
            assertThat(served.status()).as(served.body().toString()).isEqualTo(201);
            assertThat(status(client).path("coldClaims").asInt()).isEqualTo(1);
        }
    }

    private static Path config(Path dir, Path kubeconfig, String ns, String extra) throws java.io.IOException {
        return config(dir, kubeconfig, ns, extra, "");
    }

    private static Path config(Path dir, Path kubeconfig, String ns, String extra, String projectExtra) throws java.io.IOException {
        Files.writeString(dir.resolve("airlock.yaml"), POLICY);
        return Files.writeString(dir.resolve("daemon.yaml"), "version: 1\nstate: state\nsocket: state/daemon.sock\n"
                + "backend: kubernetes\nkubernetes:\n  kubeconfig: " + kubeconfig + "\n  namespace: " + ns + "\n"
                + "  gatewayImage: registry.test/airlock:0.1.0\n  agentImage: registry.test/devbox:1\n" + extra
                + "projects:\n  - policy: airlock.yaml\n    size: 0\n" + projectExtra);
    }

    /** {@code POST /v1/claims} for project payments, as `airlock sandbox create` asks. */
    private static DaemonClient.Response claim(DaemonClient client) throws java.io.IOException {
        return client.post("/v1/claims", JsonNodeFactory.instance.objectNode().put("project", "payments"));
    }

    /** The same claim on a thread of its own: a cold claim waits for its pod, which the test makes Ready (or not). */
    private static CompletableFuture<DaemonClient.Response> claimLater(DaemonClient client) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return claim(client);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, OWN_THREAD);
    }

    private static List<Pod> agents(KubernetesClient k, String ns) {
        return k.pods().inNamespace(ns).withLabel("airlock.dev/project", "payments").withLabel("app", "airlock-agent").list().getItems();
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

    private static String scrape(Path socket) throws Exception {
        return DaemonKubernetesIT.scrape(socket);
    }

    private static PrintStream quiet() {
        return new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
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
