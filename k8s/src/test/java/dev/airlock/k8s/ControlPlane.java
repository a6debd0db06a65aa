package dev.airlock.k8s;

import static org.junit.jupiter.api.Assertions.fail;

import io.fabric8.kubernetes.api.model.BindingBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.NodeAddressBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.NodeStatusBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Assumptions;

/**
 * A real Kubernetes control plane for tests, as envtest runs one: etcd and kube-apiserver on
 * 127.0.0.1 with free ports, in a temporary directory, stopped by the PIDs this class started. No
 * kubelet, scheduler or controller manager: pods stay Pending unless a test marks them Ready through
 * the status subresource, and nothing garbage-collects by owner reference.
 *
 * <p>The binaries come from {@code KUBE_APISERVER} (a file) or {@code kube-apiserver} on PATH, and
 * {@code ETCD} or {@code etcd} on PATH. Without them a test is skipped saying why, and fails when
 * {@code CI=true}. The API server makes its own serving certificate ({@code --cert-dir}); clients
 * trust exactly that certificate. Two bearer tokens: an admin ({@code system:masters}) and a user
 * with no role bindings, for the RBAC tests.
 */
public final class ControlPlane implements AutoCloseable {

    public static final String RESTRICTED_USER = "airlock-restricted";
    private static final AtomicInteger NAMESPACES = new AtomicInteger();

    private final Path dir;
    private final List<Process> processes = new ArrayList<>();
    private final String adminToken = UUID.randomUUID().toString().replace("-", "");
    private final String restrictedToken = UUID.randomUUID().toString().replace("-", "");
    private final int apiPort;
    private KubernetesClient admin;

    private ControlPlane(Path dir, int apiPort) {
        this.dir = dir;
        this.apiPort = apiPort;
    }

    public static ControlPlane start() throws Exception {
        Path apiserver = binary("KUBE_APISERVER", "kube-apiserver");
        Path etcd = binary("ETCD", "etcd");
        Path dir = Files.createTempDirectory("alk-kcp-");
        int[] ports = freePorts(3);
        ControlPlane cp = new ControlPlane(dir, ports[2]);
        try {
            cp.launch(apiserver, etcd, ports[0], ports[1]);
            return cp;
        } catch (Exception | AssertionError e) {
            cp.close();
            throw e;
        }
    }

    private void launch(Path apiserver, Path etcd, int etcdPort, int peerPort) throws Exception {
        Path certs = Files.createDirectories(dir.resolve("certs"));
        Path saKey = dir.resolve("sa.key");
        var keys = KeyPairGenerator.getInstance("RSA");
        keys.initialize(2048);
        Files.writeString(saKey, "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(keys.generateKeyPair().getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n");
        Path tokens = dir.resolve("tokens.csv");
        Files.writeString(tokens, adminToken + ",admin,admin,system:masters\n" + restrictedToken + "," + RESTRICTED_USER + "," + RESTRICTED_USER + "\n");
        String etcdUrl = "http://127.0.0.1:" + etcdPort;
        String peerUrl = "http://127.0.0.1:" + peerPort;
        run("etcd", List.of(etcd.toString(), "--name", "alk", "--data-dir", dir.resolve("etcd").toString(),
                "--listen-client-urls", etcdUrl, "--advertise-client-urls", etcdUrl,
                "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl, "--initial-cluster", "alk=" + peerUrl));
        run("kube-apiserver", List.of(apiserver.toString(), "--etcd-servers=" + etcdUrl, "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1", "--secure-port=" + apiPort, "--cert-dir=" + certs,
                "--token-auth-file=" + tokens, "--authorization-mode=RBAC",
                "--service-account-key-file=" + saKey, "--service-account-signing-key-file=" + saKey,
                "--service-account-issuer=https://kubernetes.default.svc", "--service-cluster-ip-range=10.96.0.0/24"));
        waitReady(certs.resolve("apiserver.crt"));
        Files.writeString(kubeconfig(), kubeconfigText("admin", adminToken));
        Files.writeString(dir.resolve("restricted.kubeconfig"), kubeconfigText(RESTRICTED_USER, restrictedToken));
        admin = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(kubeconfig().toFile())).build();
    }

    private void run(String name, List<String> command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile()).start();
        processes.add(p);
    }

    /** Until {@code /readyz} answers 200 (the RBAC bootstrap roles exist then), trusting only the server's own certificate. */
    private void waitReady(Path cert) throws Exception {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(90));
        String last = "no serving certificate yet";
        while (Instant.now().isBefore(deadline)) {
            for (Process p : processes) {
                if (!p.isAlive()) {
                    fail("the control plane exited with " + p.exitValue() + "; see the logs in " + dir);
                }
            }
            if (Files.isRegularFile(cert) && Files.size(cert) > 0) {
                try {
                    HttpClient http = HttpClient.newBuilder().sslContext(trusting(cert)).connectTimeout(Duration.ofSeconds(2)).build();
                    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url() + "/readyz"))
                            .header("Authorization", "Bearer " + adminToken).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
                    if (r.statusCode() == 200) {
                        return;
                    }
                    last = "readyz " + r.statusCode();
                } catch (IOException e) {
                    last = e.toString();
                }
            }
            Thread.sleep(250);
        }
        fail("kube-apiserver was not ready within 90 s (" + last + "); see the logs in " + dir);
    }

    private static SSLContext trusting(Path cert) throws Exception {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        try (InputStream in = Files.newInputStream(cert)) {
            int i = 0;
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                ks.setCertificateEntry("c" + i++, c);
            }
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    private String kubeconfigText(String user, String token) {
        return "apiVersion: v1\nkind: Config\n"
                + "clusters: [{name: alk, cluster: {server: \"" + url() + "\", certificate-authority: \"" + dir.resolve("certs/apiserver.crt") + "\"}}]\n"
                + "users: [{name: " + user + ", user: {token: \"" + token + "\"}}]\n"
                + "contexts: [{name: alk, context: {cluster: alk, user: " + user + "}}]\n"
                + "current-context: alk\n";
    }

    String url() {
        return "https://127.0.0.1:" + apiPort;
    }

    /** The admin's kubeconfig. */
    public Path kubeconfig() {
        return dir.resolve("admin.kubeconfig");
    }

    /** A kubeconfig of a user no role is bound to. */
    public Path restrictedKubeconfig() {
        return dir.resolve("restricted.kubeconfig");
    }

    public KubernetesClient admin() {
        return admin;
    }

    /** Plays the kubelet for every pod of {@code namespace} that is not Ready yet (status subresource). */
    public void markAllReady(String namespace) {
        PodPoolIT.markAllReady(admin, namespace);
    }

    /**
     * Registers a Node whose kubelet is {@code kubelet} (InternalIP 127.0.0.1, its port as the
     * kubelet endpoint), so the API server relays {@code pods/exec} of pods bound to it there.
     */
    public String registerNode(FakeKubelet kubelet) {
        String name = "alk-node-" + NAMESPACES.incrementAndGet();
        admin.nodes().resource(new NodeBuilder().withNewMetadata().withName(name).endMetadata().build()).create();
        admin.nodes().withName(name).editStatus(n -> {
            n.setStatus(new NodeStatusBuilder()
                    .withAddresses(new NodeAddressBuilder().withType("InternalIP").withAddress("127.0.0.1").build())
                    .withNewDaemonEndpoints().withNewKubeletEndpoint().withPort(kubelet.port()).endKubeletEndpoint().endDaemonEndpoints()
                    .addNewCondition().withType("Ready").withStatus("True").endCondition()
                    .build());
            return n;
        });
        return name;
    }

    /**
     * Plays the scheduler and the kubelet for every pod of {@code namespace} not on a node yet: binds
     * it to {@code node} (the {@code binding} subresource, as kube-scheduler does), then marks it
     * Running and Ready.
     */
    public void bindAndMarkReady(String namespace, String node) {
        for (io.fabric8.kubernetes.api.model.Pod p : admin.pods().inNamespace(namespace).list().getItems()) {
            if (p.getSpec().getNodeName() == null || p.getSpec().getNodeName().isEmpty()) {
                admin.resource(new BindingBuilder().withNewMetadata().withName(p.getMetadata().getName()).withNamespace(namespace).endMetadata()
                        .withNewTarget().withApiVersion("v1").withKind("Node").withName(node).endTarget().build()).inNamespace(namespace).create();
            }
        }
        markAllReady(namespace);
    }

    /** A fresh namespace, so tests of one class do not see each other's objects. */
    public String newNamespace() {
        String name = "alk-t" + NAMESPACES.incrementAndGet();
        admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build()).create();
        return name;
    }

    private static Path binary(String variable, String name) {
        Optional<Path> found = Optional.ofNullable(System.getenv(variable)).filter(s -> !s.isBlank()).map(Path::of);
        if (found.isEmpty()) {
            for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
                Path p = Path.of(d.isEmpty() ? "." : d, name);
                if (Files.isExecutable(p)) {
                    found = Optional.of(p);
                    break;
                }
            }
        }
        if (found.isPresent() && Files.isExecutable(found.get())) {
            return found.get();
        }
        String why = name + " not found: set " + variable + " to the binary or put it on PATH (docs/kubernetes.md, Testing; "
                + ".ci/run installs etcd-server and unpacks kube-apiserver)";
        if ("true".equals(System.getenv("CI"))) {
            fail(why);
        }
        Assumptions.abort(why);
        throw new AssertionError(why);
    }

    private static int[] freePorts(int n) throws IOException {
        int[] out = new int[n];
        List<ServerSocket> held = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
                held.add(s);
                out[i] = s.getLocalPort();
            }
        } finally {
            for (ServerSocket s : held) {
                s.close();
            }
        }
        return out;
    }

    @Override
    public void close() throws Exception {
        if (admin != null) {
            admin.close();
        }
        for (int i = processes.size() - 1; i >= 0; i--) {
            Process p = processes.get(i);
            p.destroy();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
        if (!Boolean.getBoolean("airlock.keepControlPlane")) {
            try (var walk = Files.walk(dir)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
