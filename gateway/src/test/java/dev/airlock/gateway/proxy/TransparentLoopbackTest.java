package dev.airlock.gateway.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.registry.Sandbox;
import dev.airlock.gateway.registry.SandboxRegistry;
import dev.airlock.gateway.resolve.HostsFile;
import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.Reason;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The transparent handler on loopback, without the kernel: the test stands in for TPROXY by
 * telling the listener which "original destination" each connection had. TransparentProxyIT
 * covers the same path through a real TPROXY rule. Positive controls reach the origins directly.
 */
class TransparentLoopbackTest {

    private TlsOrigin tls;
    private Origins.Echo echo;
    private Origins.Http http;
    private Gateway gateway;
    private Sandbox sandbox;
    private InetSocketAddress listener;
    private final RecordingAudit audit = new RecordingAudit();
    /** The original destination of the next connection, as TPROXY would have preserved it. */
    private final AtomicReference<InetSocketAddress> nextDestination = new AtomicReference<>();

    @BeforeEach
    void start() throws Exception {
        tls = new TlsOrigin("127.0.0.1", "git.test");
        echo = new Origins.Echo("127.0.0.1");
        http = new Origins.Http("127.0.0.1", "hello");
        String policy = """
                version: 1
                project: demo
                network:
                  allow:
                    - host: git.test
                      ports: [%d, %d, %d]
                    - cidr: 127.0.0.1/32
                      ports: [%d, %d, %d]
                """.formatted(tls.port(), echo.port(), http.port(), tls.port(), echo.port(), http.port());
        // Loopback origins stand in for upstreams: only an organisation exception opens loopback.
        PolicyEngine engine = PolicyEngine.compile(PolicyFiles.parseProject("airlock.yaml", policy),
                PolicyFiles.parseOrg("org.yaml", TestGateway.loopbackException(tls.port(), echo.port(), http.port())), Phase.RUN, List.of());
        gateway = new Gateway(new Gateway.Config(HostsFile.parse("hosts", "127.0.0.1 git.test other.test\n"), audit,
                GatewayMetrics.inMemory(), GatewayLimits.DEFAULT, 1, false, "airlock.yaml"), new SandboxRegistry());
        // The sandbox's link address is where its connections come from: loopback here.
        sandbox = gateway.registry().register("sbx-t", "demo", List.of(ip("127.0.0.1")), engine);
        listener = gateway.transparent(new InetSocketAddress("127.0.0.1", 0), ch -> nextDestination.get(),
                new TransparentHandler.Ports(Set.of(tls.port()), Set.of(http.port())), false);
    }

    @AfterEach
    void stop() throws IOException {
        gateway.close();
        tls.close();
        echo.close();
        http.close();
    }

    private static IpAddress ip(String s) {
        return ((dev.airlock.policy.address.IpLiterals.Canonical) dev.airlock.policy.address.IpLiterals.shape(s)).address();
    }

    /** Connects "to" {@code dst:port} as the sandbox would, landing on the transparent listener. */
    private Socket connectAs(IpAddress dst, int port) throws IOException {
        nextDestination.set(new InetSocketAddress(InetAddress.getByAddress(dst.toBytes()), port));
        Socket s = new Socket(listener.getAddress(), listener.getPort());
        s.setSoTimeout(10_000);
        return s;
    }

    private IpAddress synthetic(String name) {
        return sandbox.names().assign(name).orElseThrow();
    }

    @Test
    void tls_sniMatchingTheResolvedName_reachesTheOriginWithThatSni() throws Exception {
        try (Socket raw = connectAs(synthetic("git.test"), tls.port()); SSLSocket s = tls.handshake(raw, "git.test")) {
            s.getOutputStream().write("over tls".getBytes(StandardCharsets.UTF_8));
            assertThat(new String(s.getInputStream().readNBytes(8), StandardCharsets.UTF_8)).isEqualTo("over tls");
        }
        assertThat(tls.serverNamesSeen).containsExactly("git.test");
        assertThat(audit.decisions()).singleElement().satisfies(e -> {
            assertThat(e.via()).isEqualTo(AuditEvent.Via.TRANSPARENT);
            assertThat(e.name()).isEqualTo("git.test");
            assertThat(e.decision()).isEqualTo(AuditEvent.Decision.ALLOW);
        });
    }

    @Test
    void tls_sniNamingAnotherHost_isResetAsSniMismatch() throws Exception {
        // Positive control: the origin completes a handshake with that SNI when reached directly.
        try (Socket direct = new Socket("127.0.0.1", tls.port()); SSLSocket s = tls.handshake(direct, "evil.test")) {
            assertThat(s.getSession().isValid()).isTrue();
        }
        try (Socket raw = connectAs(synthetic("git.test"), tls.port())) {
            assertThatThrownBy(() -> tls.handshake(raw, "evil.test")).isInstanceOf(IOException.class);
        }
        assertThat(audit.decisions()).singleElement().satisfies(e -> {
            assertThat(e.reason()).isEqualTo(Reason.SNI_MISMATCH);
            assertThat(e.decision()).isEqualTo(AuditEvent.Decision.DENY);
        });
    }

    @Test
    void tls_withoutSni_isResetAsNoSni() throws Exception {
        try (Socket direct = new Socket("127.0.0.1", tls.port()); SSLSocket s = tls.handshake(direct, null)) {
            assertThat(s.getSession().isValid()).isTrue();
        }
        try (Socket raw = connectAs(synthetic("git.test"), tls.port())) {
            assertThatThrownBy(() -> tls.handshake(raw, null)).isInstanceOf(IOException.class);
        }
        assertThat(audit.decisions()).singleElement().satisfies(e -> assertThat(e.reason()).isEqualTo(Reason.NO_SNI));
    }

    @Test
    void tlsPort_plainTextBytes_areResetAsNotTls() throws Exception {
        try (Socket s = connectAs(synthetic("git.test"), tls.port())) {
            s.getOutputStream().write("GET / HTTP/1.1\r\nHost: git.test\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThatThrownBy(() -> s.getInputStream().read()).isInstanceOf(IOException.class);
        }
        assertThat(audit.decisions()).singleElement().satisfies(e -> assertThat(e.reason()).isEqualTo(Reason.NOT_TLS));
    }

    @Test
    void httpPort_hostHeaderNamingAnotherHost_isResetAsHostMismatch() throws Exception {
        try (Socket s = connectAs(synthetic("git.test"), http.port())) {
            s.getOutputStream().write("GET / HTTP/1.1\r\nHost: other.test\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThatThrownBy(() -> s.getInputStream().read()).isInstanceOf(IOException.class);
        }
        assertThat(audit.decisions()).singleElement().satisfies(e -> assertThat(e.reason()).isEqualTo(Reason.HOST_MISMATCH));
        assertThat(http.requests).isEmpty();
    }

    @Test
    void httpPort_matchingHost_isRelayed() throws Exception {
        try (Socket s = connectAs(synthetic("git.test"), http.port())) {
            TestGateway.send(s, "GET /x HTTP/1.1\r\nHost: git.test:" + http.port() + "\r\nConnection: close\r\n\r\n");
            TestGateway.Response r = TestGateway.read(s);
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("hello /x");
        }
    }

    @Test
    void rawTcp_toAllowedNameAndPort_isRelayedUntouched() throws Exception {
        try (Socket s = connectAs(synthetic("git.test"), echo.port())) {
            s.getOutputStream().write("SSH-2.0-test\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(s.getInputStream().readNBytes(14), StandardCharsets.US_ASCII)).isEqualTo("SSH-2.0-test\r\n");
        }
    }

    @Test
    void addressNeverResolvedBySandbox_isResetAsIpLiteral() throws Exception {
        IpAddress neverAssigned = ip("100.80.3.3");
        try (Socket s = connectAs(neverAssigned, echo.port())) {
            // the reset may arrive before the write: either one fails, and nothing comes back
            assertThatThrownBy(() -> {
                s.getOutputStream().write("x".getBytes(StandardCharsets.US_ASCII));
                if (s.getInputStream().read() >= 0) {
                    throw new AssertionError("a never-resolved address got bytes back");
                }
                throw new IOException("closed");
            }).isInstanceOf(IOException.class);
        }
        assertThat(audit.decisions()).singleElement().satisfies(e -> assertThat(e.reason()).isEqualTo(Reason.IP_LITERAL));
    }

    @Test
    void unknownSource_isResetWithoutDeciding() throws Exception {
        gateway.registry().unregister("sbx-t");
        try (Socket s = connectAs(ip("100.80.0.1"), echo.port())) {
            assertThatThrownBy(() -> {
                s.getOutputStream().write("x".getBytes(StandardCharsets.US_ASCII));
                s.getOutputStream().write("more".getBytes(StandardCharsets.US_ASCII));
                if (s.getInputStream().read() >= 0) {
                    throw new AssertionError("an unknown source got bytes back");
                }
                throw new IOException("closed");
            }).isInstanceOf(IOException.class);
        }
        assertThat(audit.events).isEmpty();
    }
}
