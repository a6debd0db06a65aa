package dev.airlock.gateway.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.gateway.registry.Sandbox;
import dev.airlock.gateway.registry.SandboxRegistry;
import dev.airlock.gateway.resolve.HostsFile;
import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.Reason;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.address.IpLiterals;
import dev.airlock.policy.load.PolicyFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Domain fronting and host switches against a "shared front" (issue 15, part 1): one origin that
 * answers for both cdn.test (allowed) and prod.test (the organisation's production) and logs the
 * SNI and Host it saw. Each blocked case has its positive control: the same bytes sent to the
 * front directly are answered, and the front's log shows what reached it through the gateway.
 * Through the explicit proxy (CONNECT) and the transparent path, on a port the transparent
 * listener treats as HTTP and on ports it knows nothing about (the bytes tell the protocol).
 */
class FrontingLoopbackTest {

    private TlsOrigin tlsFront;
    private Origins.Http httpFront;
    private Origins.Http oddHttpFront;
    private ServerSocket banner;
    private TestGateway explicit;
    private Gateway transparentGateway;
    private Sandbox sandbox;
    private InetSocketAddress transparent;
    private final RecordingAudit transparentAudit = new RecordingAudit();
    private final AtomicReference<InetSocketAddress> nextDestination = new AtomicReference<>();

    private static final String HOSTS = "127.0.0.1 cdn.test prod.test\n";

    @BeforeEach
    void start() throws Exception {
        tlsFront = new TlsOrigin("127.0.0.1", "cdn.test");
        httpFront = new Origins.Http("127.0.0.1", "front");
        oddHttpFront = new Origins.Http("127.0.0.1", "odd front");
        banner = bannerOrigin();
        String ports = List.of(tlsFront.port(), httpFront.port(), oddHttpFront.port(), banner.getLocalPort()).toString();
        String policy = """
                version: 1
                project: demo
                network:
                  allow:
                    - host: cdn.test
                      ports: %s
                """.formatted(ports);
        // The fronts are on loopback, which since issue 18 only the organisation can open.
        String org = "version: 1\nproduction:\n  - prod.test\nexceptions:\n  - {project: demo, cidr: 127.0.0.1/32, ports: "
                + ports + "}\n";
        explicit = new TestGateway(policy, org, HOSTS, GatewayLimits.DEFAULT);

        PolicyEngine engine = PolicyEngine.compile(PolicyFiles.parseProject("airlock.yaml", policy),
                PolicyFiles.parseOrg("org.yaml", org), Phase.RUN, List.of());
        transparentGateway = new Gateway(new Gateway.Config(HostsFile.parse("hosts", HOSTS), transparentAudit,
                GatewayMetrics.inMemory(), GatewayLimits.DEFAULT, 1, false, "airlock.yaml"), new SandboxRegistry());
        sandbox = transparentGateway.registry().register("sbx-f", "demo", List.of(ip("127.0.0.1")), engine);
        // Only httpFront's port is a known HTTP port; TLS and the odd HTTP port are told by their bytes.
        transparent = transparentGateway.transparent(new InetSocketAddress("127.0.0.1", 0), ch -> nextDestination.get(),
                new TransparentHandler.Ports(Set.of(), Set.of(httpFront.port())), false);
    }

    @AfterEach
    void stop() throws IOException {
        explicit.close();
        transparentGateway.close();
        tlsFront.close();
        httpFront.close();
        oddHttpFront.close();
        banner.close();
    }

    private static IpAddress ip(String s) {
        return ((IpLiterals.Canonical) IpLiterals.shape(s)).address();
    }

    /** An origin that speaks first (like SSH or SMTP), then echoes. */
    private static ServerSocket bannerOrigin() throws IOException {
        ServerSocket server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
        Thread t = new Thread(() -> {
            while (!server.isClosed()) {
                try (Socket s = server.accept(); InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                    out.write("220 banner.test ready\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    byte[] buf = new byte[1024];
                    for (int n; (n = in.read(buf)) > 0; ) {
                        out.write(buf, 0, n);
                        out.flush();
                    }
                } catch (IOException e) {
                    // the test closed the connection or the server
                }
            }
        }, "banner-origin");
        t.setDaemon(true);
        t.start();
        return server;
    }

    private Socket connectTo(int port) throws IOException {
        Socket s = explicit.client();
        TestGateway.send(s, "CONNECT cdn.test:" + port + " HTTP/1.1\r\nHost: cdn.test:" + port + "\r\n\r\n");
        assertThat(TestGateway.read(s).status()).isEqualTo(200);
        return s;
    }

    /** Connects "to" cdn.test:port as the sandbox would, through the transparent listener. */
    private Socket transparentTo(int port) throws IOException {
        IpAddress synthetic = sandbox.names().assign("cdn.test").orElseThrow();
        nextDestination.set(new InetSocketAddress(InetAddress.getByAddress(synthetic.toBytes()), port));
        Socket s = new Socket(transparent.getAddress(), transparent.getPort());
        s.setSoTimeout(10_000);
        return s;
    }

    private static List<String> hosts(Origins.Http front) {
        return front.requests.stream().map(FrontingLoopbackTest::host).toList();
    }

    private static String host(Map<String, List<String>> headers) {
        return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase("host")).findFirst()
                .map(e -> e.getValue().get(0)).orElse("-");
    }

    private static void assertReset(Socket s) {
        assertThatThrownBy(() -> {
            if (s.getInputStream().read() >= 0) {
                throw new AssertionError("the gateway relayed an answer");
            }
            throw new IOException("closed");
        }).isInstanceOf(IOException.class);
    }

    private static String get(String path, String host) {
        return "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
    }

    // ---- the explicit proxy: CONNECT to an allowed name, then bytes naming production ------------

    @Test
    void connect_tlsHelloNamingProduction_isSniMismatchAndTheFrontSeesNoHello() throws Exception {
        // Positive control: the front completes a handshake for prod.test when reached directly.
        try (Socket direct = new Socket("127.0.0.1", tlsFront.port()); SSLSocket s = tlsFront.handshake(direct, "prod.test")) {
            assertThat(s.getSession().isValid()).isTrue();
        }
        // And CONNECT with the allowed name's own SNI works.
        try (Socket s = connectTo(tlsFront.port()); SSLSocket t = tlsFront.handshake(s, "cdn.test")) {
            t.getOutputStream().write("ok\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(t.getInputStream().readNBytes(3)).isEqualTo("ok\n".getBytes(StandardCharsets.US_ASCII));
        }
        try (Socket s = connectTo(tlsFront.port())) {
            assertThatThrownBy(() -> tlsFront.handshake(s, "prod.test")).isInstanceOf(IOException.class);
        }
        assertThat(tlsFront.serverNamesSeen).containsExactly("prod.test", "cdn.test");
        assertThat(explicit.audit.decisions()).extracting(e -> e.decision() + " " + e.name() + " " + e.reason())
                .containsExactly("allow cdn.test allowed", "allow cdn.test allowed", "deny cdn.test sni-mismatch");
    }

    @Test
    void connect_plainGetNamingProduction_isHostMismatchAndTheFrontSeesNoRequest() throws Exception {
        String port = ":" + httpFront.port();
        try (Socket direct = new Socket("127.0.0.1", httpFront.port())) {
            TestGateway.send(direct, get("/control", "prod.test" + port));
            assertThat(TestGateway.read(direct).body()).isEqualTo("front /control");
        }
        try (Socket s = connectTo(httpFront.port())) {
            TestGateway.send(s, get("/fronted", "prod.test" + port));
            assertReset(s);
        }
        assertThat(hosts(httpFront)).containsExactly("prod.test" + port);
        assertThat(explicit.audit.decisions()).extracting(e -> e.reason()).containsExactly(Reason.ALLOWED, Reason.HOST_MISMATCH);
    }

    @Test
    void connect_keepAliveSwitchToProduction_firstRequestAnsweredSecondRefused() throws Exception {
        String port = ":" + httpFront.port();
        try (Socket s = connectTo(httpFront.port())) {
            TestGateway.send(s, get("/first", "cdn.test" + port));
            assertThat(TestGateway.read(s).body()).isEqualTo("front /first");
            TestGateway.send(s, get("/second", "prod.test" + port));
            assertReset(s);
        }
        assertThat(hosts(httpFront)).containsExactly("cdn.test" + port);
    }

    @Test
    void connect_postWithExpect100Continue_getsTheFrontsContinueAndItsBodyArrives() throws Exception {
        // Clients add Expect: 100-continue to uploads on their own (curl above a size threshold):
        // the gate holds the body until the origin's 100, and a well-behaved upload still works.
        String port = ":" + httpFront.port();
        try (Socket s = connectTo(httpFront.port())) {
            TestGateway.send(s, "POST /upload HTTP/1.1\r\nHost: cdn.test" + port + "\r\nContent-Length: 5\r\n"
                    + "Expect: 100-continue\r\n\r\n");
            assertThat(responseHead(s)).startsWith("HTTP/1.1 100");
            TestGateway.send(s, "hello");
            TestGateway.Response r = TestGateway.read(s);
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("front /upload");
        }
        assertThat(hosts(httpFront)).containsExactly("cdn.test" + port);
        assertThat(explicit.audit.decisions()).extracting(e -> e.reason()).containsExactly(Reason.ALLOWED);
    }

    /** One response head, read byte by byte up to its empty line (a 100 has no length to read by). */
    private static String responseHead(Socket s) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = s.getInputStream().read();
            if (b < 0) {
                throw new IOException("closed after " + head);
            }
            head.append((char) b);
        }
        return head.toString();
    }

    // ---- the transparent path -------------------------------------------------------------------

    @Test
    void transparentHttpPort_keepAliveSecondRequestNamingProduction_firstAnsweredSecondRefused() throws Exception {
        String port = ":" + httpFront.port();
        try (Socket direct = new Socket("127.0.0.1", httpFront.port())) {
            TestGateway.send(direct, get("/one", "cdn.test" + port) + get("/two", "prod.test" + port));
            assertThat(TestGateway.read(direct).body()).isEqualTo("front /one");
            assertThat(TestGateway.read(direct).body()).as("the front serves production on the same connection")
                    .isEqualTo("front /two");
        }
        httpFront.requests.clear();
        try (Socket s = transparentTo(httpFront.port())) {
            TestGateway.send(s, get("/one", "cdn.test" + port));
            assertThat(TestGateway.read(s).body()).isEqualTo("front /one");
            TestGateway.send(s, get("/two", "prod.test" + port));
            assertReset(s);
        }
        assertThat(hosts(httpFront)).containsExactly("cdn.test" + port);
        assertThat(transparentAudit.decisions()).extracting(e -> e.reason()).containsExactly(Reason.ALLOWED, Reason.HOST_MISMATCH);
    }

    @Test
    void transparentHttpPort_pipelinedSwitchToProduction_isRefusedBeforeTheSecondHeadLeaves() throws Exception {
        String port = ":" + httpFront.port();
        try (Socket s = transparentTo(httpFront.port())) {
            TestGateway.send(s, get("/one", "cdn.test" + port) + get("/two", "prod.test" + port));
            TestGateway.read(s);
            assertReset(s);
        } catch (IOException e) {
            // the reset may also come before the first answer is read; either way:
        }
        assertThat(hosts(httpFront)).doesNotContain("prod.test" + port);
    }

    @Test
    void transparentOtherPort_tlsHelloNamingProduction_isSniMismatch() throws Exception {
        try (Socket direct = new Socket("127.0.0.1", tlsFront.port()); SSLSocket s = tlsFront.handshake(direct, "prod.test")) {
            assertThat(s.getSession().isValid()).isTrue();
        }
        try (Socket raw = transparentTo(tlsFront.port()); SSLSocket s = tlsFront.handshake(raw, "cdn.test")) {
            assertThat(s.getSession().isValid()).isTrue();
        }
        try (Socket raw = transparentTo(tlsFront.port())) {
            assertThatThrownBy(() -> tlsFront.handshake(raw, "prod.test")).isInstanceOf(IOException.class);
        }
        assertThat(tlsFront.serverNamesSeen).containsExactly("prod.test", "cdn.test");
        assertThat(transparentAudit.decisions()).extracting(e -> e.reason())
                .containsExactly(Reason.ALLOWED, Reason.ALLOWED, Reason.SNI_MISMATCH);
    }

    @Test
    void transparentOtherPort_httpNamingProduction_isHostMismatch() throws Exception {
        String port = ":" + oddHttpFront.port();
        try (Socket direct = new Socket("127.0.0.1", oddHttpFront.port())) {
            TestGateway.send(direct, get("/control", "prod.test" + port));
            assertThat(TestGateway.read(direct).body()).isEqualTo("odd front /control");
        }
        try (Socket s = transparentTo(oddHttpFront.port())) {
            TestGateway.send(s, get("/ok", "cdn.test" + port));
            assertThat(TestGateway.read(s).body()).isEqualTo("odd front /ok");
        }
        try (Socket s = transparentTo(oddHttpFront.port())) {
            TestGateway.send(s, get("/fronted", "prod.test" + port));
            assertReset(s);
        }
        assertThat(hosts(oddHttpFront)).containsExactly("prod.test" + port, "cdn.test" + port);
    }

    @Test
    void transparentOtherPort_originThatSpeaksFirst_isRelayedBeforeTheClientSendsAnything() throws Exception {
        try (Socket s = transparentTo(banner.getLocalPort())) {
            byte[] greeting = "220 banner.test ready\r\n".getBytes(StandardCharsets.US_ASCII);
            assertThat(s.getInputStream().readNBytes(greeting.length)).isEqualTo(greeting);
            TestGateway.send(s, "EHLO sandbox.test\r\n");
            assertThat(new String(s.getInputStream().readNBytes(19), StandardCharsets.US_ASCII)).isEqualTo("EHLO sandbox.test\r\n");
        }
    }
}
