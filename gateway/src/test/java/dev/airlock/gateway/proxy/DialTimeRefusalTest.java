package dev.airlock.gateway.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.audit.AuditSink;
import dev.airlock.gateway.registry.Sandbox;
import dev.airlock.gateway.registry.SandboxRegistry;
import dev.airlock.gateway.resolve.HostsFile;
import dev.airlock.policy.HostFacts;
import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.ProductionAddresses;
import dev.airlock.policy.Reason;
import dev.airlock.policy.address.HostAddresses;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.address.IpLiterals;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 11 §1: a refusal by the dial-time check (UpstreamDialer → Tunnel.refusal) is a denial of
 * its own: a deny record with reason {@code dial-refused}, the deny counter, and on the explicit
 * proxy a 403 like every other denial (not a 502). The seam: the origin's address becomes a
 * production address right after the allow is recorded, before the dial, as a production name's
 * answer changing between the two would make it. Each test first makes the same request with the
 * address still allowed (the positive control: the origin answers), and judges the refusal from
 * the origin's side too (it saw nothing more).
 */
class DialTimeRefusalTest {

    private Origins.Http http;
    private int deadPort;
    private Gateway gateway;
    private Sandbox sandbox;
    private InetSocketAddress explicit;
    private InetSocketAddress transparent;
    private final RecordingAudit audit = new RecordingAudit();
    private final GatewayMetrics metrics = GatewayMetrics.inMemory();
    private final AtomicReference<ProductionAddresses> production = new AtomicReference<>(ProductionAddresses.NONE);
    /** When set, the next allow record turns the origin's address into a production address. */
    private final AtomicBoolean becomeProductionAfterNextAllow = new AtomicBoolean();
    private final AtomicReference<InetSocketAddress> nextDestination = new AtomicReference<>();
    private OrgPolicy org;

    @BeforeEach
    void start() throws Exception {
        http = new Origins.Http("127.0.0.1", "hello");
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            deadPort = s.getLocalPort();
        }
        String policy = """
                version: 1
                project: demo
                network:
                  allow:
                    - host: app.test
                      ports: [%d, %d]
                """.formatted(http.port(), deadPort);
        org = PolicyFiles.parseOrg("org.yaml", "version: 1\nproduction:\n  - payments.prod.test\nexceptions:\n"
                + "  - {project: demo, cidr: 127.0.0.1/32, ports: [" + http.port() + ", " + deadPort + "]}\n");
        PolicyEngine engine = PolicyEngine.compile(PolicyFiles.parseProject("airlock.yaml", policy), org, Phase.RUN, List.of(),
                new HostFacts(() -> HostAddresses.NONE, production::get));
        gateway = new Gateway(new Gateway.Config(HostsFile.parse("hosts", "127.0.0.1 app.test\n"), new FlipAfterAllow(),
                metrics, GatewayLimits.DEFAULT, 1, false, "airlock.yaml"), new SandboxRegistry());
        sandbox = gateway.registry().register("sbx-d", "demo", List.of(ip("127.0.0.1")), engine);
        explicit = gateway.explicitListener(new InetSocketAddress("127.0.0.1", 0), sandbox);
        transparent = gateway.transparent(new InetSocketAddress("127.0.0.1", 0), ch -> nextDestination.get(),
                new TransparentHandler.Ports(Set.of(), Set.of()), false);
    }

    @AfterEach
    void stop() {
        gateway.close();
        http.close();
    }

    /** Records like {@link RecordingAudit}; once armed, the allow it records is the last moment before the dial. */
    private final class FlipAfterAllow implements AuditSink {
        @Override
        public boolean submit(AuditEvent event) {
            boolean ok = audit.submit(event);
            if (event.event() == AuditEvent.Event.DECISION && event.decision() == AuditEvent.Decision.ALLOW
                    && becomeProductionAfterNextAllow.compareAndSet(true, false)) {
                production.set(new ProductionAddresses(Map.of(ip("127.0.0.1"), org.production().get(0))));
            }
            return ok;
        }

        @Override
        public boolean healthy() {
            return audit.healthy();
        }

        @Override
        public void close() {
        }
    }

    private static IpAddress ip(String s) {
        return ((IpLiterals.Canonical) IpLiterals.shape(s)).address();
    }

    private String get(int port) {
        return "GET http://app.test:" + port + "/x HTTP/1.1\r\nHost: app.test:" + port + "\r\nConnection: close\r\n\r\n";
    }

    private TestGateway.Response throughProxy(String request) throws IOException {
        try (Socket s = new Socket(explicit.getAddress(), explicit.getPort())) {
            s.setSoTimeout(10_000);
            TestGateway.send(s, request);
            return TestGateway.read(s);
        }
    }

    @Test
    void explicitGet_addressRefusedAtDialTime_is403DialRefusedRecordedAndCounted() throws Exception {
        TestGateway.Response control = throughProxy(get(http.port()));
        assertThat(control.status()).as("positive control: the origin answers while the address is allowed").isEqualTo(200);
        assertThat(control.body()).isEqualTo("hello /x");
        assertThat(http.requests).hasSize(1);

        becomeProductionAfterNextAllow.set(true);
        TestGateway.Response r = throughProxy(get(http.port()));

        assertThat(r.status()).isEqualTo(403);
        assertThat(r.headers().get("x-airlock-reason")).startsWith("dial-refused; target=app.test:" + http.port());
        assertThat(r.body()).startsWith("Airlock denied GET app.test:" + http.port() + "\n")
                .contains("reason: dial-refused (").contains("127.0.0.1 was refused right before dialling and was not dialled")
                .contains("checked again it is production").contains("rule: payments.prod.test (org.yaml:3:5, production)");
        assertThat(http.requests).as("the origin saw nothing more").hasSize(1);
        assertRefusalRecorded(AuditEvent.Via.EXPLICIT);
    }

    @Test
    void explicitConnect_addressRefusedAtDialTime_is403DialRefused() throws Exception {
        String connect = "CONNECT app.test:" + http.port() + " HTTP/1.1\r\nHost: app.test:" + http.port() + "\r\n\r\n";
        try (Socket s = new Socket(explicit.getAddress(), explicit.getPort())) {
            s.setSoTimeout(10_000);
            TestGateway.send(s, connect);
            assertThat(TestGateway.read(s).status()).as("positive control: the tunnel opens while the address is allowed")
                    .isEqualTo(200);
            TestGateway.send(s, get(http.port()));
            assertThat(TestGateway.read(s).status()).isEqualTo(200);
        }
        assertThat(http.requests).hasSize(1);

        becomeProductionAfterNextAllow.set(true);
        TestGateway.Response r = throughProxy(connect);

        assertThat(r.status()).isEqualTo(403);
        assertThat(r.headers().get("x-airlock-reason")).startsWith("dial-refused;");
        assertThat(r.body()).startsWith("Airlock denied CONNECT app.test:" + http.port() + "\n");
        assertThat(http.requests).hasSize(1);
        assertRefusalRecorded(AuditEvent.Via.EXPLICIT);
    }

    @Test
    void transparent_addressRefusedAtDialTime_isResetAndRecordedAsDialRefused() throws Exception {
        IpAddress synthetic = sandbox.names().assign("app.test").orElseThrow();
        nextDestination.set(new InetSocketAddress(InetAddress.getByAddress(synthetic.toBytes()), http.port()));
        try (Socket s = new Socket(transparent.getAddress(), transparent.getPort())) {
            s.setSoTimeout(10_000);
            TestGateway.send(s, "GET /x HTTP/1.1\r\nHost: app.test:" + http.port() + "\r\nConnection: close\r\n\r\n");
            assertThat(TestGateway.read(s).status()).as("positive control: relayed while the address is allowed").isEqualTo(200);
        }
        assertThat(http.requests).hasSize(1);

        becomeProductionAfterNextAllow.set(true);
        try (Socket s = new Socket(transparent.getAddress(), transparent.getPort())) {
            s.setSoTimeout(10_000);
            assertThatThrownBy(() -> {
                TestGateway.send(s, "GET /x HTTP/1.1\r\nHost: app.test:" + http.port() + "\r\nConnection: close\r\n\r\n");
                if (s.getInputStream().read() >= 0) {
                    throw new AssertionError("a refused dial got bytes back");
                }
                throw new IOException("closed");
            }).isInstanceOf(IOException.class);
        }
        assertThat(http.requests).as("the origin saw nothing more").hasSize(1);
        assertRefusalRecorded(AuditEvent.Via.TRANSPARENT);
    }

    @Test
    void explicitGet_nothingListening_staysA502UpstreamFailureAndNoDenial() throws Exception {
        TestGateway.Response r = throughProxy(get(deadPort));

        assertThat(r.status()).isEqualTo(502);
        assertThat(r.headers().get("x-airlock-reason")).startsWith("upstream;");
        assertThat(audit.decisions()).singleElement().satisfies(e -> assertThat(e.decision()).isEqualTo(AuditEvent.Decision.ALLOW));
        assertThat(metrics.decisionCount("demo", "deny", "dial-refused")).isZero();
    }

    /** The allow, then the refusal as a deny of its own naming the refused address, counted, then a 0-byte close. */
    private void assertRefusalRecorded(AuditEvent.Via via) throws InterruptedException {
        List<AuditEvent> decisions = audit.decisions();
        assertThat(decisions).extracting(AuditEvent::decision).containsExactly(AuditEvent.Decision.ALLOW, AuditEvent.Decision.ALLOW, AuditEvent.Decision.DENY);
        assertThat(decisions.get(2)).satisfies(e -> {
            assertThat(e.reason()).isEqualTo(Reason.DIAL_REFUSED);
            assertThat(e.via()).isEqualTo(via);
            assertThat(e.name()).isEqualTo("app.test");
            assertThat(e.port()).isEqualTo(http.port());
            assertThat(e.addresses()).containsExactly("127.0.0.1");
            assertThat(e.rule()).startsWith("payments.prod.test (org.yaml:3:5, production");
        });
        assertThat(metrics.decisionCount("demo", "deny", "dial-refused")).isEqualTo(1);
        assertThat(metrics.decisionCount("demo", "allow", "allowed")).isEqualTo(2);
        for (int i = 0; i < 100 && audit.closes().size() < 2; i++) {
            Thread.sleep(20);
        }
        assertThat(audit.closes()).hasSize(2);
        assertThat(audit.closes().get(1)).satisfies(e -> {
            assertThat(e.bytesUp()).isZero();
            assertThat(e.bytesDown()).isZero();
        });
        assertThat(gateway.authorizer().openTunnels()).isZero();
    }
}
