package dev.airlock.gateway.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.host.HostFactsService;
import dev.airlock.gateway.host.InterfaceAddresses;
import dev.airlock.gateway.proxy.Gateway;
import dev.airlock.gateway.proxy.GatewayLimits;
import dev.airlock.gateway.proxy.GatewayMetrics;
import dev.airlock.gateway.registry.Sandbox;
import dev.airlock.gateway.registry.SandboxRegistry;
import dev.airlock.gateway.resolve.HostsFile;
import dev.airlock.gateway.resolve.Resolver;
import dev.airlock.policy.HostFacts;
import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.ProductionAddresses;
import dev.airlock.policy.ProjectReach;
import dev.airlock.policy.Reason;
import dev.airlock.policy.address.HostAddresses;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.address.IpLiterals;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 15 §2 and issue 18 (1, a, b) against the real kernel: what no project can open, judged from
 * the target's side. Each leak is reproduced first (the gateway as it was, without the host's
 * addresses or the production names' addresses), then shown closed with the same bytes, and the
 * target logs nothing; each has a positive control from the host.
 *
 * <ul>
 *   <li>The host's own address: the host end of the test hosts' link (198.18.0.1, assigned by
 *       {@link TestNetwork}) with a listener this JVM binds there. An allowed name whose hosts-map
 *       answer is that address reached it through the transparent path and the explicit proxy.
 *   <li>The host's loopback: following the old advice {@code cidr: 127.0.0.1/32} opened a listener
 *       on the host's 127.0.0.1. Now it does not; only an organisation exception does.
 *   <li>Production by address: the fake production host (198.18.0.12) by IP literal, inside a
 *       project cidr, and through another allowed name that resolves there.
 * </ul>
 * Needs root; see {@link TestNetwork} for the topology and its cleanup guarantees.
 */
class HostReachIT {

    private static final Duration CLIENT = Duration.ofSeconds(20);
    private static final Duration AWAIT = Duration.ofSeconds(10);
    /** The explicit proxy, reached at the host end of the sandbox's link (as SandboxSession wires it). */
    private static final int EXPLICIT_PORT = 3128;
    private static final String PRODUCTION_HOST = "198.18.0.12";

    private static final String ECHO = """
            exec 3<>"/dev/tcp/$1/$2" || exit 10
            printf '%s\\n' "$3" >&3 || exit 11
            IFS= read -r -t 10 reply <&3 || exit 12
            printf '%s' "$reply"
            """;

    private static TestNetwork net;
    private static Commands.Daemon origins;
    private static LoggingListener onHostAddress;
    private static LoggingListener onLoopback;

    private AuditRecorder audit;
    private Gateway gateway;
    private HostFactsService facts;

    @BeforeAll
    static void network() throws Exception {
        TestNetwork.requireKernel("bash", "curl");
        net = TestNetwork.create();
        origins = net.startInOrigins(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), Origin.class.getName(),
                "echo", PRODUCTION_HOST + ":22");
        origins.await("ready"::equals, Duration.ofSeconds(60));
        onHostAddress = new LoggingListener(TestNetwork.HOST_ORIGIN_SIDE);
        onLoopback = new LoggingListener("127.0.0.1");
    }

    @AfterAll
    static void teardown() throws IOException {
        try {
            if (onHostAddress != null) {
                onHostAddress.close();
            }
            if (onLoopback != null) {
                onLoopback.close();
            }
            if (origins != null) {
                origins.close();
            }
        } finally {
            if (net != null) {
                net.close();
                assertThat(TestNetwork.leftovers(Pattern.compile(net.id))).isEmpty();
            }
        }
    }

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.close();
            gateway = null;
        }
        if (facts != null) {
            facts.close();
            facts = null;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // (i) an allowed name whose answer is the host's own address

    @Test
    void hostAddress_anAllowedNameAnsweringIt_isRefusedOnBothPaths_andTheListenerSeesNothing() throws Exception {
        String policy = "version: 1\nproject: demo\nnetwork:\n  allow:\n    - host: hostsvc.test\n      ports: [" + onHostAddress.port()
                + "]\n";
        String hosts = TestNetwork.HOST_ORIGIN_SIDE + " hostsvc.test\n";
        String target = "hostsvc.test:" + onHostAddress.port();

        // Positive control: the listener answers from the host.
        Commands.Result direct = net.onHost(CLIENT, "bash", "-c", ECHO, "_", TestNetwork.HOST_ORIGIN_SIDE,
                String.valueOf(onHostAddress.port()), "from-host");
        assertThat(direct.out()).as(direct.toString()).startsWith("HTTP/1.1 200");
        long before = onHostAddress.accepted();

        // Reproduce: a gateway that does not know the host's addresses relays both paths to the host.
        Sandbox sb = start(policy, null, hosts, HostFacts.NONE);
        Commands.Result leakT = sandboxEcho(synthetic(sb, "hostsvc.test"), onHostAddress.port(), "via-transparent");
        assertThat(leakT.out()).as("the leak: " + leakT).startsWith("HTTP/1.1 200");
        Commands.Result leakE = curlViaProxy("http://" + target + "/");
        assertThat(leakE.out()).as("the leak: " + leakE).contains("host-service");
        assertThat(onHostAddress.accepted()).as("reached the host's own service twice").isEqualTo(before + 2);
        stop();

        // Closed: the gateway as wired now reads the host's interfaces (198.18.0.1 is on one of them).
        facts = HostFactsService.start(InterfaceAddresses.SYSTEM, List.of(), HostsFile.parse("hosts", hosts), System.err);
        assertThat(facts.facts().hostAddresses().get().contains(ip(TestNetwork.HOST_ORIGIN_SIDE))).isTrue();
        long closedFrom = onHostAddress.accepted();
        sb = start(policy, null, hosts, facts.facts());
        Commands.Result t = sandboxEcho(synthetic(sb, "hostsvc.test"), onHostAddress.port(), "via-transparent");
        assertThat(t.exit()).as(t.toString()).isIn(11, 12);
        assertThat(audit.await(AuditEvent.Event.DECISION, e -> e.via() == AuditEvent.Via.TRANSPARENT, AWAIT).reason())
                .isEqualTo(Reason.HOST_ADDRESS);
        Commands.Result e = curlViaProxy("http://" + target + "/");
        assertThat(e.out()).as(e.toString()).contains("403").contains("host-address").doesNotContain("host-service")
                .doesNotContain("cidr: " + TestNetwork.HOST_ORIGIN_SIDE);
        assertThat(audit.await(AuditEvent.Event.DECISION, x -> x.via() == AuditEvent.Via.EXPLICIT, AWAIT).reason())
                .isEqualTo(Reason.HOST_ADDRESS);
        Thread.sleep(300);
        assertThat(onHostAddress.accepted()).as("the host's own service saw nothing").isEqualTo(closedFrom);
    }

    // ---------------------------------------------------------------------------------------------
    // (ii) the old advice "cidr: 127.0.0.1/32"

    @Test
    void loopback_oldAdviceFollowed_doesNotOpenTheHostsLoopback_onlyAnOrgExceptionDoes() throws Exception {
        int port = onLoopback.port();
        String policy = "version: 1\nproject: demo\nnetwork:\n  allow:\n    - cidr: 127.0.0.1/32\n      ports: [" + port + "]\n";
        ProjectPolicy project = PolicyFiles.parseProject("airlock.yaml", policy);
        assertThat(ProjectReach.analyse("demo", project.allow(), OrgPolicy.NONE, HostAddresses.NONE, ProductionAddresses.NONE))
                .as("policy check refuses it").anyMatch(f -> f.severity() == ProjectReach.Severity.ERROR);

        // Positive control: the host's loopback listener answers on the host.
        Commands.Result direct = net.onHost(CLIENT, "bash", "-c", ECHO, "_", "127.0.0.1", String.valueOf(port), "from-host");
        assertThat(direct.out()).as(direct.toString()).startsWith("HTTP/1.1 200");
        long before = onLoopback.accepted();

        // Reproduce the mechanism, as an organisation exception now grants it: the gateway dials the host's loopback.
        String org = "version: 1\nexceptions:\n  - {project: demo, cidr: 127.0.0.1/32, ports: [" + port + "]}\n";
        start(policy, org, "", HostFacts.NONE);
        Commands.Result granted = curlViaProxy("http://127.0.0.1:" + port + "/");
        assertThat(granted.out()).as("an org exception opens it: " + granted).contains("host-service");
        assertThat(onLoopback.accepted()).isEqualTo(before + 1);
        stop();

        // Closed: the project's own cidr rule, as the old advice wrote it, opens nothing.
        start(policy, null, "", HostFacts.NONE);
        long closedFrom = onLoopback.accepted();
        Commands.Result r = curlViaProxy("http://127.0.0.1:" + port + "/");
        assertThat(r.out()).as(r.toString()).contains("403").contains("protected-address").contains("NO_PROXY")
                .doesNotContain("cidr:").doesNotContain("host-service");
        Thread.sleep(300);
        assertThat(onLoopback.accepted()).as("the host's loopback service saw nothing").isEqualTo(closedFrom);
    }

    // ---------------------------------------------------------------------------------------------
    // (iii) production by address

    @Test
    void production_byIpLiteralAndThroughAnotherAllowedName_isDenied_andTheFakeProductionHostSeesNothing() throws Exception {
        String policy = """
                version: 1
                project: demo
                network:
                  allow:
                    - alias.test:22
                    - cidr: 198.18.0.0/24
                      ports: [22]
                """;
        String org = "version: 1\nproduction:\n  - prod.test\n";
        String hosts = PRODUCTION_HOST + " prod.test alias.test\n";

        // Positive control: the fake production host answers the host directly.
        long before = originAccepts();
        Commands.Result direct = net.onHost(CLIENT, "bash", "-c", ECHO, "_", PRODUCTION_HOST, "22", "from-host");
        assertThat(direct.out()).as(direct.toString()).isEqualTo("from-host");
        origins.awaitCount(l -> l.startsWith("accept " + PRODUCTION_HOST + ":22 "), before + 1, AWAIT);

        // Reproduce: production written as a name did not cover its address.
        Sandbox sb = start(policy, org, hosts, HostFacts.NONE);
        assertThat(sandboxEcho(PRODUCTION_HOST, 22, "by-ip").out()).as("the leak by IP literal").isEqualTo("by-ip");
        assertThat(sandboxEcho(synthetic(sb, "alias.test"), 22, "by-alias").out()).as("the leak by another name").isEqualTo("by-alias");
        origins.awaitCount(l -> l.startsWith("accept " + PRODUCTION_HOST + ":22 "), before + 3, AWAIT);
        stop();

        // Closed: the gateway resolves prod.test itself and denies its address.
        Resolver resolver = HostsFile.parse("hosts", hosts);
        facts = HostFactsService.start(() -> java.util.Set.of(), PolicyFiles.parseOrg("org.yaml", org).production(), resolver,
                System.err);
        long closedFrom = originAccepts();
        sb = start(policy, org, hosts, facts.facts());
        Commands.Result byIp = sandboxEcho(PRODUCTION_HOST, 22, "by-ip");
        assertThat(byIp.exit()).as(byIp.toString()).isIn(11, 12);
        Commands.Result byName = sandboxEcho(synthetic(sb, "alias.test"), 22, "by-alias");
        assertThat(byName.exit()).as(byName.toString()).isIn(11, 12);
        assertThat(audit.await(AuditEvent.Event.DECISION, e -> e.name().equals(PRODUCTION_HOST), AWAIT)).satisfies(e -> {
            assertThat(e.reason()).isEqualTo(Reason.PRODUCTION);
            assertThat(e.rule()).contains("prod.test");
        });
        assertThat(audit.await(AuditEvent.Event.DECISION, e -> e.name().equals("alias.test"), AWAIT)).satisfies(e -> {
            assertThat(e.reason()).isEqualTo(Reason.PRODUCTION);
            assertThat(e.rule()).contains("prod.test");
        });
        Thread.sleep(300);
        assertThat(originAccepts()).as("the fake production host saw nothing").isEqualTo(closedFrom);
    }

    // ---------------------------------------------------------------------------------------------

    /** A gateway with one sandbox on the test network's link, transparent and explicit (on the gateway's own address). */
    private Sandbox start(String policy, String org, String hosts, HostFacts hostFacts) throws Exception {
        audit = new AuditRecorder();
        OrgPolicy o = org == null ? OrgPolicy.NONE : PolicyFiles.parseOrg("org.yaml", org);
        PolicyEngine engine = PolicyEngine.compile(PolicyFiles.parseProject("airlock.yaml", policy), o, Phase.RUN, List.of(), hostFacts);
        gateway = new Gateway(new Gateway.Config(HostsFile.parse("hosts", hosts), audit, GatewayMetrics.inMemory(), GatewayLimits.DEFAULT,
                1, false, "airlock.yaml"), new SandboxRegistry());
        Sandbox sb = gateway.registry().register("sbx-reach", "demo", List.of(ip(TestNetwork.SANDBOX_LINK_ADDRESS)),
                List.of(ip(TestNetwork.HOST_LINK_ADDRESS)), engine);
        InetSocketAddress listener = gateway.transparentListener(new InetSocketAddress(TestNetwork.HOST_LINK_ADDRESS, 0));
        gateway.explicitOnTransparent(EXPLICIT_PORT);
        net.tproxyTo(listener.getPort());
        return sb;
    }

    private static String synthetic(Sandbox sb, String name) {
        return sb.names().assign(name).orElseThrow().toString();
    }

    private static IpAddress ip(String literal) {
        return ((IpLiterals.Canonical) IpLiterals.shape(literal)).address();
    }

    private static Commands.Result sandboxEcho(String host, int port, String line) {
        return net.inSandbox(CLIENT, "bash", "-c", ECHO, "_", host, String.valueOf(port), line);
    }

    /** curl in the sandbox through the explicit proxy; prints the status line, the reason header and the body. */
    private static Commands.Result curlViaProxy(String url) {
        return net.inSandbox(CLIENT, "curl", "-sS", "-i", "--max-time", "10", "--noproxy", "", "-x",
                "http://" + TestNetwork.HOST_LINK_ADDRESS + ":" + EXPLICIT_PORT, url);
    }

    private static long originAccepts() {
        return origins.count(l -> l.startsWith("accept " + PRODUCTION_HOST + ":22 "));
    }

    /**
     * A host service that logs every connection it accepts and answers one HTTP response: the
     * target's side of the judgement.
     */
    static final class LoggingListener implements AutoCloseable {
        private final ServerSocket server;
        private final List<String> accepted = new CopyOnWriteArrayList<>();

        LoggingListener(String address) throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getByName(address));
            Thread t = new Thread(this::serve, "alk-it-listener-" + address);
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return server.getLocalPort();
        }

        long accepted() {
            return accepted.size();
        }

        private void serve() {
            while (!server.isClosed()) {
                try (Socket s = server.accept()) {
                    accepted.add(String.valueOf(s.getRemoteSocketAddress()));
                    s.setSoTimeout(300);
                    BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
                    try {
                        // Read the request head (or the one line an echo client sends) before answering.
                        for (String line = in.readLine(); line != null && !line.isEmpty(); line = in.readLine()) {
                            // drained
                        }
                    } catch (SocketTimeoutException done) {
                        // an echo client sent one line and waits
                    }
                    OutputStream out = s.getOutputStream();
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 13\r\nConnection: close\r\n\r\nhost-service\n"
                            .getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    s.shutdownOutput();
                } catch (IOException e) {
                    // closed, or the client went away
                }
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
