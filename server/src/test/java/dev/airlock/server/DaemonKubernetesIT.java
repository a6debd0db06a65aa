package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.airlock.k8s.ControlPlane;
import dev.airlock.k8s.ControlPlaneExtension;
import dev.airlock.pool.state.StateDatabase;
import dev.airlock.pool.usage.ClaimRecord;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code airlock daemon} with {@code backend: kubernetes} against a real kube-apiserver (no kubelet:
 * the test marks pods Ready through the status subresource): the project's objects are applied, the
 * pool keeps its size, {@code /v1/status} and {@code /metrics} report it under the local daemon's
 * names, a claim relabels a Ready pod and lands in the usage history, and a policy edit updates the
 * ConfigMap and rotates the pods. Commands in pods: {@link DaemonKubernetesExecIT}.
 */
@ExtendWith(ControlPlaneExtension.class)
class DaemonKubernetesIT {

    private static final String POLICY = """
            version: 1
            project: payments
            network:
              allow:
                - github.com
            """;
    private static final String ORG = """
            version: 1
            production:
              - cidr: 198.19.20.0/24
            """;

    @Test
    void daemon_onKubernetes_appliesThePoolsReportsThemClaimsAndReloads(ControlPlane cp, @TempDir Path dir) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        Path policy = Files.writeString(dir.resolve("airlock.yaml"), POLICY);
        Files.writeString(dir.resolve("org.yaml"), ORG);
        // size auto, no history yet: the recommendation falls back to pool.min
        Files.writeString(dir.resolve("web.yaml"), "version: 1\nproject: web\nnetwork:\n  allow: [registry.npmjs.org]\npool: { min: 2, max: 4 }\n");
        Path config = Files.writeString(dir.resolve("daemon.yaml"), "version: 1\nstate: state\nsocket: state/daemon.sock\norg: org.yaml\n"
                + "backend: kubernetes\nkubernetes:\n  kubeconfig: " + cp.kubeconfig() + "\n  namespace: " + ns + "\n"
                + "  image: registry.test/airlock\n  agentImage: registry.test/devbox:1\n  podCidr: 10.244.0.0/16\n"
                + "projects:\n  - policy: airlock.yaml\n    size: 3\n  - policy: web.yaml\n");
        ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
        PrintStream log = new PrintStream(logBytes, true, StandardCharsets.UTF_8);
        Path socket = dir.resolve("state/daemon.sock");
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), log)) {
            assertThat(logBytes.toString(StandardCharsets.UTF_8)).contains("serving [payments, web] as pods in namespace " + ns);
            Map<String, String> ours = Map.of("app.kubernetes.io/managed-by", "airlock", "airlock.dev/project", "payments");
            assertThat(k.configMaps().inNamespace(ns).withName("airlock-payments-policy").get().getData()).containsEntry("airlock.yaml", POLICY);
            // kubernetes.image: the gateway runs the image scripts/build-oci-image.sh tags with this Airlock's version
            assertThat(k.apps().deployments().inNamespace(ns).withName("airlock-payments-gateway").get().getSpec().getTemplate().getSpec()
                    .getContainers().get(0).getImage()).isEqualTo("registry.test/airlock:" + AirlockVersion.current());
            assertThat(k.apps().deployments().inNamespace(ns).withLabels(ours).list().getItems()).singleElement()
                    .satisfies(d -> assertThat(d.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs())
                            .as("the pods' DNS is answered by range").containsSequence("--dns-clients", "10.244.0.0/16"));
            assertThat(k.services().inNamespace(ns).withLabels(ours).list().getItems()).hasSize(1);
            assertThat(k.network().networkPolicies().inNamespace(ns).list().getItems()).isNotEmpty()
                    .allSatisfy(np -> assertThat(np.getMetadata().getLabels()).containsEntry("app.kubernetes.io/managed-by", "airlock"));

            DaemonClient client = DaemonClient.ifRunning(socket).orElseThrow();
            await("3 agent pods", () -> agents(k, ns).size() == 3);
            cp.markAllReady(ns);
            await("3 ready in the status", () -> project(client).path("ready").asInt() == 3);
            JsonNode p = project(client);
            assertThat(p.path("desired").asInt()).isEqualTo(3);
            assertThat(p.path("inUse").asInt()).isZero();
            assertThat(p.path("sizing").asText()).isEqualTo("fixed");
            await("web's auto-sized pool at pool.min", () -> status(client).path("projects").get(1).path("warming").asInt()
                    + status(client).path("projects").get(1).path("ready").asInt() == 2);
            JsonNode web = status(client).path("projects").get(1);
            assertThat(web.path("project").asText()).isEqualTo("web");
            assertThat(web.path("sizing").asText()).isEqualTo("auto");
            assertThat(web.path("desired").asInt()).isEqualTo(2);
            assertThat(scrape(socket)).contains("airlock_pool_ready{project=\"payments\"} 3.0").contains("airlock_pool_desired{project=\"payments\"} 3.0");

            // a claim relabels one Ready pod; the pool makes a replacement
            DaemonClient.Response claimed = client.post("/v1/claims", JsonNodeFactory.instance.objectNode().put("project", "payments"));
            assertThat(claimed.status()).as(claimed.body().toString()).isEqualTo(201);
            String pod = claimed.body().path("pod").asText();
            assertThat(k.pods().inNamespace(ns).withName(pod).get().getMetadata().getLabels()).containsEntry("airlock.dev/state", "claimed");
            await("the claim in use and a replacement warming", () -> project(client).path("inUse").asInt() == 1
                    && project(client).path("warming").asInt() == 1);
            assertThat(project(client).path("warmClaims").asInt()).isEqualTo(1);
            assertThat(client.get("/v1/sandboxes").body()).singleElement().satisfies(n -> {
                assertThat(n.path("pod").asText()).isEqualTo(pod);
                assertThat(n.path("state").asText()).isEqualTo("claimed");
            });
            assertThat(scrape(socket)).contains("airlock_claims_total{project=\"payments\",result=\"warm\"} 1.0");

            // a policy edit: the ConfigMap follows and the unclaimed pods are replaced
            Set<String> before = agents(k, ns).stream().filter(x -> !"claimed".equals(x.getMetadata().getLabels().get("airlock.dev/state")))
                    .map(x -> x.getMetadata().getName()).collect(Collectors.toSet());
            String changed = POLICY + "    - pypi.org\n";
            Files.writeString(policy, changed);
            await("the ConfigMap updated", () -> changed.equals(k.configMaps().inNamespace(ns).withName("airlock-payments-policy").get()
                    .getData().get("airlock.yaml")));
            await("the pool rotated", () -> {
                Set<String> now = agents(k, ns).stream().filter(x -> !"claimed".equals(x.getMetadata().getLabels().get("airlock.dev/state")))
                        .filter(x -> x.getMetadata().getDeletionTimestamp() == null).map(x -> x.getMetadata().getName()).collect(Collectors.toSet());
                return now.size() == 3 && now.stream().noneMatch(before::contains);
            });
            await("one reload counted", () -> project(client).path("policyReloads").asInt() == 1);

            // a broken edit keeps the policy in force and is reported with its line
            Files.writeString(policy, changed + "  bogus: 1\n");
            await("the problem reported", () -> project(client).hasNonNull("policyError"));
            assertThat(project(client).path("policyError").asText()).contains(policy.toString());
            assertThat(k.configMaps().inNamespace(ns).withName("airlock-payments-policy").get().getData()).containsEntry("airlock.yaml", changed);

            assertThat(client.delete("/v1/sandboxes/" + claimed.body().path("sandbox").asText()).status()).isEqualTo(200);
            await("the claimed pod deleted", () -> k.pods().inNamespace(ns).withName(pod).get() == null
                    || k.pods().inNamespace(ns).withName(pod).get().getMetadata().getDeletionTimestamp() != null);
        }
        try (StateDatabase db = StateDatabase.openReadOnly(dir.resolve("state/airlock.db"))) {
            assertThat(db.queryAll(Instant.EPOCH)).as("the usage history the sizing reads").singleElement()
                    .satisfies(r -> assertThat(r.result()).isEqualTo(ClaimRecord.Result.WARM));
        }
    }

    @Test
    void claims_twentyOneConcurrentThroughTheApiForTwentyReadyPods_twentyWarmAndOneCold_allDistinct(ControlPlane cp, @TempDir Path dir)
            throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        Files.writeString(dir.resolve("airlock.yaml"), POLICY);
        Files.writeString(dir.resolve("org.yaml"), ORG);
        Path config = Files.writeString(dir.resolve("daemon.yaml"), "version: 1\nstate: state\nsocket: state/daemon.sock\norg: org.yaml\n"
                + "backend: kubernetes\nkubernetes:\n  kubeconfig: " + cp.kubeconfig() + "\n  namespace: " + ns + "\n"
                + "  gatewayImage: registry.test/airlock:0.1.0\n  agentImage: registry.test/devbox:1\n"
                // 20 claimed + 1 cold + 20 replacements
                + "projects:\n  - policy: airlock.yaml\n    size: 20\n    hardLimit: 41\n");
        Path socket = dir.resolve("state/daemon.sock");
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), new PrintStream(new ByteArrayOutputStream()))) {
            DaemonClient client = DaemonClient.ifRunning(socket).orElseThrow();
            await("20 agent pods", () -> agents(k, ns).size() == 20);
            cp.markAllReady(ns);
            await("20 ready in the status", () -> project(client).path("ready").asInt() == 20);

            // 21 clients at once, each on its own connection as 21 `airlock sandbox create` would be; the replacements the
            // pool makes never turn Ready (no kubelet), so exactly one claim finds nothing left and starts a pod of its own
            int claimants = 21;
            java.util.concurrent.CountDownLatch start = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(claimants);
            List<java.util.concurrent.Future<DaemonClient.Response>> replies = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < claimants; i++) {
                    DaemonClient own = DaemonClient.ifRunning(socket).orElseThrow();
                    replies.add(threads.submit(() -> {
                        start.await();
                        return own.post("/v1/claims", JsonNodeFactory.instance.objectNode().put("project", "payments"));
                    }));
                }
                start.countDown();
            } finally {
                threads.shutdown();
            }
            // the cold claim's pod: claimed from its creation, never a pool member; the test plays its kubelet
            await("the cold claim's pod", () -> agents(k, ns).stream().filter(p -> "claimed".equals(p.getMetadata().getLabels().get("airlock.dev/state")))
                    .count() == 21);
            assertThat(replies.stream().filter(java.util.concurrent.Future::isDone).count()).as("the cold claim waits for its pod").isEqualTo(20);
            await("the pool's 20 replacements and the cold pod warming", () -> project(client).path("warming").asInt() == 21);
            agents(k, ns).stream().filter(p -> "claimed".equals(p.getMetadata().getLabels().get("airlock.dev/state")))
                    .filter(p -> p.getStatus() == null || !"Running".equals(p.getStatus().getPhase()))
                    .forEach(p -> markReady(k, ns, p.getMetadata().getName()));
            List<DaemonClient.Response> answers = new java.util.ArrayList<>();
            for (java.util.concurrent.Future<DaemonClient.Response> f : replies) {
                answers.add(f.get(120, java.util.concurrent.TimeUnit.SECONDS));
            }
            assertThat(answers).as("every claim served").allSatisfy(r -> assertThat(r.status()).as(r.body().toString()).isEqualTo(201));
            assertThat(answers.stream().filter(r -> r.body().path("warm").asBoolean())).as("every Ready pod claimed once").hasSize(20);
            Set<String> pods = answers.stream().map(r -> r.body().path("pod").asText()).collect(Collectors.toSet());
            assertThat(pods).as("no pod handed to two claims").hasSize(21);
            assertThat(answers.stream().map(r -> r.body().path("sandbox").asText()).collect(Collectors.toSet())).hasSize(21);
            // judged from the API server's side too: each won pod is labelled claimed there
            assertThat(pods).allSatisfy(name -> assertThat(k.pods().inNamespace(ns).withName(name).get().getMetadata().getLabels())
                    .containsEntry("airlock.dev/state", "claimed"));
            assertThat(client.get("/v1/sandboxes").body()).hasSize(21);
            await("21 in use in the status", () -> project(client).path("inUse").asInt() == 21);
            assertThat(project(client).path("ready").asInt()).isZero();
            assertThat(project(client).path("coldClaims").asInt()).isEqualTo(1);
            assertThat(scrape(socket)).contains("airlock_claims_total{project=\"payments\",result=\"warm\"} 20.0")
                    .contains("airlock_claims_total{project=\"payments\",result=\"cold\"} 1.0");
        }
    }

    @Test
    void daemon_onKubernetes_unreachableApiServer_failsWithTheFixAndLeavesNoDaemon(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("airlock.yaml"), POLICY);
        // a kubeconfig naming a port nothing listens on (loopback only)
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Files.writeString(dir.resolve("kubeconfig"), "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:" + port
                + "\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n"
                + "current-context: x\n");
        Path config = Files.writeString(dir.resolve("daemon.yaml"), "version: 1\nstate: state\nbackend: kubernetes\nkubernetes:\n  kubeconfig: kubeconfig\n"
                + "  namespace: airlock\n  gatewayImage: g\n  agentImage: a\nprojects:\n  - policy: airlock.yaml\n");
        assertThatThrownBy(() -> DaemonServer.start(DaemonConfig.load(config), new PrintStream(new ByteArrayOutputStream())))
                .isInstanceOf(DaemonException.class).hasMessageContaining("127.0.0.1:" + port).hasMessageContaining("Fix: check that the cluster is running");
        assertThat(DaemonClient.ifRunning(dir.resolve("state/daemon.sock"))).isEmpty();
    }

    @Test
    void daemon_onKubernetes_withoutTheRole_failsNamingWhatIsMissingWithTheRoleAndAppliesNothing(ControlPlane cp, @TempDir Path dir)
            throws Exception {
        String ns = cp.newNamespace();
        Path restricted = minimalConfig(dir.resolve("restricted"), cp.restrictedKubeconfig(), ns);
        assertThatThrownBy(() -> DaemonServer.start(DaemonConfig.load(restricted), new PrintStream(new ByteArrayOutputStream())))
                .isInstanceOf(DaemonException.class).hasMessageContaining("lacks").hasMessageContaining("create configmaps")
                .hasMessageContaining("Nothing was applied").hasMessageContaining("Fix:").hasMessageContaining("kind: Role");
        assertThat(cp.admin().configMaps().inNamespace(ns).withName("airlock-payments-policy").get()).isNull();
        assertThat(DaemonClient.ifRunning(dir.resolve("restricted/state/daemon.sock"))).isEmpty();
        // Positive control: the same configuration with the admin's kubeconfig starts and applies in the same namespace.
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(minimalConfig(dir.resolve("admin"), cp.kubeconfig(), ns)),
                new PrintStream(new ByteArrayOutputStream()))) {
            assertThat(cp.admin().configMaps().inNamespace(ns).withName("airlock-payments-policy").get()).isNotNull();
        }
    }

    @Test
    void daemon_onKubernetes_overAnObjectNotItsOwn_failsWithTheFixAndLeavesItUntouched(ControlPlane cp, @TempDir Path dir) throws Exception {
        KubernetesClient k = cp.admin();
        String ns = cp.newNamespace();
        io.fabric8.kubernetes.api.model.Service users = k.services().inNamespace(ns).resource(new io.fabric8.kubernetes.api.model.ServiceBuilder()
                .withNewMetadata().withName("airlock-payments-gateway").addToLabels("team", "web").endMetadata()
                .withNewSpec().addNewPort().withPort(80).endPort().endSpec().build()).create();
        Path config = minimalConfig(dir.resolve("taken"), cp.kubeconfig(), ns);
        assertThatThrownBy(() -> DaemonServer.start(DaemonConfig.load(config), new PrintStream(new ByteArrayOutputStream())))
                .isInstanceOf(DaemonException.class).hasMessageContaining("Service " + ns + "/airlock-payments-gateway")
                .hasMessageContaining("not managed by Airlock").hasMessageContaining("Nothing was applied").hasMessageContaining("Fix:");
        assertThat(k.configMaps().inNamespace(ns).withName("airlock-payments-policy").get()).isNull();
        assertThat(k.services().inNamespace(ns).withName("airlock-payments-gateway").get().getMetadata().getResourceVersion())
                .isEqualTo(users.getMetadata().getResourceVersion());
        // Positive control: in a namespace without that Service the same daemon starts.
        String free = cp.newNamespace();
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(minimalConfig(dir.resolve("free"), cp.kubeconfig(), free)),
                new PrintStream(new ByteArrayOutputStream()))) {
            assertThat(k.services().inNamespace(free).withName("airlock-payments-gateway").get().getMetadata().getLabels())
                    .containsEntry("app.kubernetes.io/managed-by", "airlock");
        }
    }

    /** One project (payments, pool size 1) in {@code ns}, its files under {@code dir}. */
    private static Path minimalConfig(Path dir, Path kubeconfig, String ns) throws java.io.IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("airlock.yaml"), POLICY);
        Files.writeString(dir.resolve("org.yaml"), ORG);
        return Files.writeString(dir.resolve("daemon.yaml"), "version: 1\nstate: state\nsocket: state/daemon.sock\norg: org.yaml\n"
                + "backend: kubernetes\nkubernetes:\n  kubeconfig: " + kubeconfig + "\n  namespace: " + ns + "\n"
                + "  gatewayImage: registry.test/airlock:0.1.0\n  agentImage: registry.test/devbox:1\n"
                + "projects:\n  - policy: airlock.yaml\n    size: 1\n");
    }

    /** Plays the kubelet for one pod: Running and Ready. */
    static void markReady(KubernetesClient k, String ns, String name) {
        String now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
        k.pods().inNamespace(ns).withName(name).editStatus(x -> {
            x.setStatus(new io.fabric8.kubernetes.api.model.PodStatusBuilder().withPhase("Running").addNewCondition().withType("Ready")
                    .withStatus("True").withLastTransitionTime(now).endCondition().build());
            return x;
        });
    }

    private static List<Pod> agents(KubernetesClient k, String ns) {
        return k.pods().inNamespace(ns).withLabel("airlock.dev/project", "payments").list().getItems();
    }

    private static JsonNode project(DaemonClient c) {
        return status(c).path("projects").get(0);
    }

    private static JsonNode status(DaemonClient c) {
        try {
            DaemonClient.Response r = c.get("/v1/status");
            assertThat(r.status()).isEqualTo(200);
            return r.body();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** {@code /metrics} is text, not JSON: read over the socket as Prometheus would (head, then Content-Length bytes). */
    static String scrape(Path socket) throws Exception {
        try (java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            ch.connect(java.net.UnixDomainSocketAddress.of(socket));
            ch.write(java.nio.ByteBuffer.wrap("GET /metrics HTTP/1.1\r\nHost: airlock\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
            java.io.InputStream in = new java.io.BufferedInputStream(java.nio.channels.Channels.newInputStream(ch));
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                int b = in.read();
                assertThat(b).as("the response head so far: " + head).isNotNegative();
                head.append((char) b);
            }
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
            assertThat(m.find()).as(head.toString()).isTrue();
            return new String(in.readNBytes(Integer.parseInt(m.group(1))), StandardCharsets.UTF_8);
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
