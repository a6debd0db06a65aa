package dev.airlock.gateway.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.policy.Reason;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The explicit proxy against loopback origins (egress-cases B, C, F). Every denial has its positive
 * control: the same origin answers when reached directly, without Airlock, in the same test.
 */
class ExplicitProxyTest {

    private Origins.Echo echo;
    private Origins.Http http;
    private Origins.Http other;
    private TestGateway gw;

    @BeforeEach
    void start() throws Exception {
        echo = new Origins.Echo("127.0.0.1");
        http = new Origins.Http("127.0.0.1", "hello from app");
        other = new Origins.Http("127.0.0.2", "hello from other");
        gw = gateway(GatewayLimits.DEFAULT);
    }

    private TestGateway gateway(GatewayLimits limits) throws Exception {
        return gateway(limits, "");
    }

    /** {@code extra}: top-level airlock.yaml lines appended to the policy. */
    private TestGateway gateway(GatewayLimits limits, String extra) throws Exception {
        // Loopback is protected: the cidr rules open exactly the origins' ports, nothing else.
        String policy = """
                version: 1
                project: demo
                network:
                  allow:
                    - host: git.test
                      ports: [%d]
                    - host: app.test
                      ports: [%d]
                    - host: internal.test
                      ports: [%d]
                    - cidr: 127.0.0.1/32
                      ports: [%d, %d]
                  deny:
                    - "*.blocked.test"
                """.formatted(echo.port(), http.port(), other.port(), echo.port(), http.port()) + extra;
        String org = "version: 1\nproduction:\n  - payments.prod.test\nexceptions:\n  - {project: demo, cidr: 127.0.0.1/32, ports: ["
                + echo.port() + ", " + http.port() + "]}\n";
        String hosts = """
                127.0.0.1 git.test app.test payments.prod.test x.blocked.test
                127.0.0.2 internal.test other.test
                """;
        return new TestGateway(policy, org, hosts, limits);
    }

    @AfterEach
    void stop() throws IOException {
        gw.close();
        echo.close();
        http.close();
        other.close();
    }

    private static String echoThrough(Socket s, String text) throws IOException {
        TestGateway.send(s, text);
        return new String(s.getInputStream().readNBytes(text.length()), StandardCharsets.UTF_8);
    }

    @Test
    void connect_allowedName_tunnelsBytesAndRecordsDecisionAndClose() throws Exception {
        try (Socket s = gw.client()) {
            TestGateway.send(s, "CONNECT git.test:" + echo.port() + " HTTP/1.1\r\nHost: git.test:" + echo.port() + "\r\n\r\n");
            assertThat(TestGateway.read(s).status()).isEqualTo(200);
            // A line end: "ping over..." could start an HTTP request line, which the gate holds until it ends.
            assertThat(echoThrough(s, "ping over the tunnel\n")).isEqualTo("ping over the tunnel\n");
        }
        assertThat(gw.audit.decisions()).singleElement().satisfies(e -> {
            assertThat(e.decision()).isEqualTo(AuditEvent.Decision.ALLOW);
            assertThat(e.name()).isEqualTo("git.test");
            assertThat(e.via()).isEqualTo(AuditEvent.Via.EXPLICIT);
            assertThat(e.addresses()).containsExactly("127.0.0.1");
        });
        awaitCloses(1);
        assertThat(gw.audit.closes()).singleElement().satisfies(e -> {
            assertThat(e.bytesUp()).isEqualTo(21);
            assertThat(e.bytesDown()).isEqualTo(21);
        });
    }

    @Test
    void connect_allowedNameOnUnlistedPort_isDeniedWithTheYamlThatWouldAllowIt() throws Exception {
        // Positive control: the origin answers on that port when reached directly.
        try (Socket direct = new Socket("127.0.0.1", http.port())) {
            assertThat(direct.isConnected()).isTrue();
        }
        try (Socket s = gw.client()) {
            TestGateway.send(s, "CONNECT git.test:" + http.port() + " HTTP/1.1\r\n\r\n");
            TestGateway.Response r = TestGateway.read(s);
            assertThat(r.status()).isEqualTo(403);
            assertThat(r.headers().get("x-airlock-reason"))
                    .isEqualTo("port-not-allowed; target=git.test:" + http.port() + "; allow=\"- git.test:" + http.port() + "\"");
            assertThat(r.body()).contains("Airlock denied CONNECT git.test:" + http.port())
                    .contains("to allow it, add under network.allow in airlock.yaml:").contains("  - git.test:" + http.port());
        }
        assertThat(gw.audit.decisions()).singleElement().satisfies(e -> assertThat(e.reason()).isEqualTo(Reason.PORT_NOT_ALLOWED));
    }

    @Test
    void connect_productionName_isDeniedAndNeverSuggestsAllowing() throws Exception {
        try (Socket direct = new Socket("127.0.0.1", echo.port())) {
            assertThat(echoThrough(direct, "direct")).isEqualTo("direct");
        }
        try (Socket s = gw.client()) {
            TestGateway.send(s, "CONNECT payments.prod.test:" + echo.port() + " HTTP/1.1\r\n\r\n");
            TestGateway.Response r = TestGateway.read(s);
            assertThat(r.status()).isEqualTo(403);
            assertThat(r.headers().get("x-airlock-reason")).startsWith("production;").endsWith("cannot be allowed");
            assertThat(r.body()).contains("cannot be allowed: it is in the organisation's production set").doesNotContain("network.allow");
        }
    }

    @Test
    void connect_allowedNameResolvingToUnopenedLoopback_isProtectedAddress() throws Exception {
        try (Socket direct = new Socket("127.0.0.2", other.port())) {
            assertThat(direct.isConnected()).isTrue();
        }
        try (Socket s = gw.client()) {
            TestGateway.send(s, "CONNECT internal.test:" + other.port() + " HTTP/1.1\r\n\r\n");
            TestGateway.Response r = TestGateway.read(s);
            assertThat(r.status()).isEqualTo(403);
            assertThat(r.headers().get("x-airlock-reason")).startsWith("protected-address;").endsWith("cannot be allowed");
            // Issue 18: the advice once was "- cidr: 127.0.0.2/32", which opened the host's loopback.
            assertThat(r.body()).contains("cannot be allowed").contains("NO_PROXY").doesNotContain("cidr:").doesNotContain("network.allow");
        }
    }

    @Test
    void connect_smuggledAuthorities_areBadRequests() throws Exception {
        for (String target : new String[] {"evil.test:443.git.test", "git.test@evil.test:443", "git.test#x:443",
                "git.test\\x:443", "git%2etest:443", "git.test", "[::1]", "git.test:0443", "git.test:+443", "git.test:https"}) {
            try (Socket s = gw.client()) {
                TestGateway.send(s, "CONNECT " + target + " HTTP/1.1\r\n\r\n");
                TestGateway.Response r = TestGateway.read(s);
                assertThat(r.status()).as(target).isEqualTo(400);
                assertThat(r.headers().get("x-airlock-reason")).as(target).startsWith("bad-request;");
            }
        }
    }

    @Test
    void connect_hostHeaderDisagreeing_isBadRequest() throws Exception {
        try (Socket s = gw.client()) {
            TestGateway.send(s, "CONNECT git.test:" + echo.port() + " HTTP/1.1\r\nHost: evil.test:443\r\n\r\n");
            assertThat(TestGateway.read(s).status()).isEqualTo(400);
        }
    }

    @Test
    void get_allowedName_relaysResponseAndStripsIdentityAndHopByHopHeaders() throws Exception {
        try (Socket s = gw.client()) {
            TestGateway.send(s, "GET http://app.test:" + http.port() + "/x?y=1 HTTP/1.1\r\nHost: app.test:" + http.port()
                    + "\r\nProxy-Authorization: Basic c2J4LTI6c2VjcmV0\r\nX-Airlock-Sandbox: sbx-2\r\n"
                    + "X-Upstream-Proxy: evil.test:3128\r\nConnection: keep-alive, X-Drop-Me\r\nX-Drop-Me: 1\r\nX-Keep: 1\r\n\r\n");
            TestGateway.Response r = TestGateway.read(s);
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("hello from app /x?y=1");
            assertThat(r.headers()).doesNotContainKey("keep-alive");
        }
        assertThat(http.requests).singleElement().satisfies(h -> {
            assertThat(h).containsKey("X-keep");
            assertThat(h.keySet()).noneMatch(k -> k.toLowerCase().startsWith("proxy-") || k.toLowerCase().startsWith("x-airlock")
                    || k.equalsIgnoreCase("x-drop-me") || k.equalsIgnoreCase("x-upstream-proxy"));
        });
    }

    @Test
    void get_withABody_isRefusedAndThePostControlPasses() throws Exception {
        String smuggled = "GET / HTTP/1.1\r\nHost: payments.prod.test\r\n\r\n";
        try (Socket s = gw.client()) {
            TestGateway.send(s, "POST http://app.test:" + http.port() + "/p HTTP/1.1\r\nHost: app.test:" + http.port()
                    + "\r\nContent-Length: " + smuggled.length() + "\r\n\r\n" + smuggled);
            assertThat(TestGateway.read(s).body()).as("positive control: a POST body passes").isEqualTo("hello from app /p");
        }
        try (Socket s = gw.client()) {
            TestGateway.send(s, "GET http://app.test:" + http.port() + "/g HTTP/1.1\r\nHost: app.test:" + http.port()
                    + "\r\nContent-Length: " + smuggled.length() + "\r\n\r\n" + smuggled);
            TestGateway.Response r = TestGateway.read(s);
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.headers().get("x-airlock-reason")).startsWith(Reason.BAD_REQUEST.code);
        }
        assertThat(http.requests).as("the origin saw only the POST").hasSize(1);
    }

    @Test
    void get_keepAliveSecondRequestToDeniedHost_isAuthorisedAgainAndDenied() throws Exception {
        try (Socket s = gw.client()) {
            TestGateway.send(s, "GET http://app.test:" + http.port() + "/one HTTP/1.1\r\nHost: app.test:" + http.port() + "\r\n\r\n");
            assertThat(TestGateway.read(s).body()).isEqualTo("hello from app /one");
            TestGateway.send(s, "GET http://x.blocked.test:" + http.port() + "/two HTTP/1.1\r\nHost: x.blocked.test:" + http.port() + "\r\n\r\n");
            TestGateway.Response second = TestGateway.read(s);
            assertThat(second.status()).isEqualTo(403);
            assertThat(second.headers().get("x-airlock-reason")).startsWith("deny-rule;");
        }
        assertThat(gw.audit.decisions()).extracting(AuditEvent::decision).containsExactly(AuditEvent.Decision.ALLOW, AuditEvent.Decision.DENY);
        assertThat(http.requests).hasSize(1);
    }

    @Test
    void get_keepAliveSecondAllowedRequest_usesAFreshUpstream() throws Exception {
        try (Socket s = gw.client()) {
            for (String path : new String[] {"/a", "/b", "/c"}) {
                TestGateway.send(s, "GET http://app.test:" + http.port() + path + " HTTP/1.1\r\nHost: app.test:" + http.port() + "\r\n\r\n");
                assertThat(TestGateway.read(s).body()).isEqualTo("hello from app " + path);
            }
        }
        assertThat(gw.audit.decisions()).hasSize(3).allSatisfy(e -> assertThat(e.decision()).isEqualTo(AuditEvent.Decision.ALLOW));
    }

    @Test
    void get_hostDifferentFromUri_isBadRequest() throws Exception {
        try (Socket s = gw.client()) {
            TestGateway.send(s, "GET http://app.test:" + http.port() + "/ HTTP/1.1\r\nHost: payments.prod.test\r\n\r\n");
            TestGateway.Response r = TestGateway.read(s);
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.body()).contains("Host header names payments.prod.test:80");
        }
        assertThat(http.requests).isEmpty();
    }

    @Test
    void get_duplicateHostHeaders_isBadRequest() throws Exception {
        try (Socket s = gw.client()) {
            TestGateway.send(s, "GET http://app.test:" + http.port() + "/ HTTP/1.1\r\nHost: app.test:" + http.port()
                    + "\r\nHost: payments.prod.test\r\n\r\n");
            assertThat(TestGateway.read(s).status()).isEqualTo(400);
        }
        assertThat(http.requests).isEmpty();
    }

    @Test
    void get_originFormWithoutAbsoluteUri_isBadRequest() throws Exception {
        try (Socket s = gw.client()) {
            TestGateway.send(s, "GET / HTTP/1.1\r\nHost: app.test:" + http.port() + "\r\n\r\n");
            assertThat(TestGateway.read(s).status()).isEqualTo(400);
        }
    }

    @Test
    void request_headerOver8KiB_isRefusedAsLimit() throws Exception {
        try (Socket s = gw.client()) {
            TestGateway.send(s, "GET http://app.test:" + http.port() + "/ HTTP/1.1\r\nHost: app.test:" + http.port()
                    + "\r\nX-Big: " + "a".repeat(9000) + "\r\n\r\n");
            TestGateway.Response r = TestGateway.read(s);
            assertThat(r.status()).isEqualTo(431);
            assertThat(r.headers().get("x-airlock-reason")).startsWith("limit;");
        }
    }

    @Test
    void request_thousandsOfHeaders_isRefusedAsLimit() throws Exception {
        StringBuilder many = new StringBuilder();
        for (int i = 0; i < 3000; i++) {
            many.append("X-H").append(i).append(": v\r\n");
        }
        try (Socket s = gw.client()) {
            TestGateway.send(s, "GET http://app.test:" + http.port() + "/ HTTP/1.1\r\nHost: app.test:" + http.port() + "\r\n" + many + "\r\n");
            assertThat(TestGateway.read(s).status()).isEqualTo(431);
        }
    }

    @Test
    void request_slowHeader_isClosedAfterTheHeaderTimeout() throws Exception {
        gw.close();
        gw = gateway(new GatewayLimits(512, 20_000, Duration.ofMillis(200), Duration.ofMinutes(1), Duration.ofSeconds(5), 8192, 8));
        try (Socket s = gw.client()) {
            TestGateway.send(s, "GET http://app.test:" + http.port() + "/ HTTP/1.1\r\nHost: ap");
            TestGateway.Response r = TestGateway.read(s);
            assertThat(r.status()).isEqualTo(408);
            assertThat(s.getInputStream().read()).isEqualTo(-1);
        }
    }

    @Test
    void request_slowHeader_isDeniedAsALimitThatNamesTheLimit() throws Exception {
        gw.close();
        gw = gateway(new GatewayLimits(512, 20_000, Duration.ofMillis(200), Duration.ofMinutes(1), Duration.ofSeconds(5), 8192, 8));
        try (Socket s = gw.client()) {
            TestGateway.send(s, "GET http://app.test:" + http.port() + "/ HTTP/1.1\r\nHost: ap");
            assertThat(TestGateway.read(s).status()).isEqualTo(408);
        }
        assertThat(gw.audit.decisions()).singleElement().satisfies(e -> {
            assertThat(e.reason()).isEqualTo(Reason.LIMIT);
            assertThat(e.rule()).isEqualTo("limit: no complete request head within 200 ms (headerReadTimeout)");
        });
    }

    @Test
    void keepAlive_idleAfterAnExchange_isClosedQuietly_notRecordedAsADenial() throws Exception {
        // Issue 19: npm's idle keep-alive connections showed up as two '-:0 limit' denials ~10 s after every install.
        gw.close();
        gw = gateway(new GatewayLimits(512, 20_000, Duration.ofMillis(200), Duration.ofMinutes(1), Duration.ofSeconds(5), 8192, 8));
        try (Socket s = gw.client()) {
            TestGateway.send(s, "GET http://app.test:" + http.port() + "/one HTTP/1.1\r\nHost: app.test:" + http.port() + "\r\n\r\n");
            assertThat(TestGateway.read(s).body()).isEqualTo("hello from app /one");
            assertThat(s.getInputStream().read()).as("the gateway closes the idle connection, with no 408").isEqualTo(-1);
        }
        assertThat(gw.audit.decisions()).extracting(AuditEvent::decision).containsExactly(AuditEvent.Decision.ALLOW);
    }

    @Test
    void connection_neverSendingAByte_isClosedQuietly_notRecordedAsADenial() throws Exception {
        gw.close();
        gw = gateway(new GatewayLimits(512, 20_000, Duration.ofMillis(200), Duration.ofMinutes(1), Duration.ofSeconds(5), 8192, 8));
        try (Socket s = gw.client()) {
            assertThat(s.getInputStream().read()).as("closed after the header timeout, with no 408").isEqualTo(-1);
        }
        assertThat(gw.audit.events).isEmpty();
    }

    @Test
    void keepAlive_secondHeadStalledAfterAnExchange_isStillTheLimit() throws Exception {
        // The control for the test above: after an exchange, a head that starts and stalls is slowloris, and denied.
        gw.close();
        gw = gateway(new GatewayLimits(512, 20_000, Duration.ofMillis(200), Duration.ofMinutes(1), Duration.ofSeconds(5), 8192, 8));
        try (Socket s = gw.client()) {
            TestGateway.send(s, "GET http://app.test:" + http.port() + "/one HTTP/1.1\r\nHost: app.test:" + http.port() + "\r\n\r\n");
            assertThat(TestGateway.read(s).body()).isEqualTo("hello from app /one");
            TestGateway.send(s, "GET http://app.test:" + http.port() + "/two HTTP/1.1\r\nHo");
            assertThat(TestGateway.read(s).status()).isEqualTo(408);
        }
        assertThat(gw.audit.decisions()).extracting(AuditEvent::reason).containsExactly(Reason.ALLOWED, Reason.LIMIT);
    }

    @Test
    void connect_tunnelLimitPerSandbox_deniesTheNextWith429() throws Exception {
        gw.close();
        gw = gateway(new GatewayLimits(2, 20_000, Duration.ofSeconds(5), Duration.ofMinutes(1), Duration.ofSeconds(5), 8192, 8));
        try (Socket a = gw.client(); Socket b = gw.client(); Socket c = gw.client()) {
            for (Socket s : new Socket[] {a, b}) {
                TestGateway.send(s, "CONNECT git.test:" + echo.port() + " HTTP/1.1\r\n\r\n");
                assertThat(TestGateway.read(s).status()).isEqualTo(200);
            }
            TestGateway.send(c, "CONNECT git.test:" + echo.port() + " HTTP/1.1\r\n\r\n");
            TestGateway.Response r = TestGateway.read(c);
            assertThat(r.status()).isEqualTo(429);
            assertThat(r.headers().get("x-airlock-reason")).startsWith("limit;");
        }
        awaitClose();
        // Closed tunnels give their places back.
        try (Socket d = gw.client()) {
            TestGateway.send(d, "CONNECT git.test:" + echo.port() + " HTTP/1.1\r\n\r\n");
            assertThat(TestGateway.read(d).status()).isEqualTo(200);
        }
    }

    @Test
    void connect_projectTunnelLimit_deniesTheNextWith429NamingTheSetting() throws Exception {
        // Positive control: under the gateway's default limit a third tunnel opens.
        try (Socket a = gw.client(); Socket b = gw.client(); Socket c = gw.client()) {
            for (Socket s : new Socket[] {a, b, c}) {
                TestGateway.send(s, "CONNECT git.test:" + echo.port() + " HTTP/1.1\r\n\r\n");
                assertThat(TestGateway.read(s).status()).isEqualTo(200);
            }
        }
        awaitClose();
        gw.close();
        gw = gateway(GatewayLimits.DEFAULT, "resources:\n  tunnels: 2\n");
        try (Socket a = gw.client(); Socket b = gw.client(); Socket c = gw.client()) {
            for (Socket s : new Socket[] {a, b}) {
                TestGateway.send(s, "CONNECT git.test:" + echo.port() + " HTTP/1.1\r\n\r\n");
                assertThat(TestGateway.read(s).status()).isEqualTo(200);
            }
            TestGateway.send(c, "CONNECT git.test:" + echo.port() + " HTTP/1.1\r\n\r\n");
            TestGateway.Response r = TestGateway.read(c);
            assertThat(r.status()).isEqualTo(429);
            assertThat(r.headers().get("x-airlock-reason")).startsWith("limit;");
            assertThat(gw.audit.decisions()).anySatisfy(e -> assertThat(e.rule()).contains("holds 2 tunnels").contains("resources.tunnels"));
        }
    }

    @Test
    void connect_auditSinkFailing_failsClosed() throws Exception {
        gw.audit.failing = true;
        try (Socket s = gw.client()) {
            TestGateway.send(s, "CONNECT git.test:" + echo.port() + " HTTP/1.1\r\n\r\n");
            TestGateway.Response r = TestGateway.read(s);
            assertThat(r.status()).isEqualTo(503);
            assertThat(r.headers().get("x-airlock-reason")).startsWith("fail-closed;");
        }
        assertThat(gw.gateway.authorizer().openTunnels()).isZero();
    }

    @Test
    void connect_unknownName_isDnsFailure502() throws Exception {
        String policy = "version: 1\nproject: demo\nnetwork:\n  allow: [nowhere.test]\n";
        try (TestGateway g = new TestGateway(policy, null, "127.0.0.1 git.test\n", GatewayLimits.DEFAULT); Socket s = g.client()) {
            TestGateway.send(s, "CONNECT nowhere.test:443 HTTP/1.1\r\n\r\n");
            TestGateway.Response r = TestGateway.read(s);
            assertThat(r.status()).isEqualTo(502);
            assertThat(r.headers().get("x-airlock-reason")).startsWith("dns-failure;");
        }
    }

    @Test
    void connect_halfClose_propagatesAndTheTunnelEnds() throws Exception {
        try (Socket s = gw.client()) {
            TestGateway.send(s, "CONNECT git.test:" + echo.port() + " HTTP/1.1\r\n\r\n");
            assertThat(TestGateway.read(s).status()).isEqualTo(200);
            TestGateway.send(s, "last words");
            s.shutdownOutput();
            InputStream in = s.getInputStream();
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("last words");
        }
        awaitClose();
        assertThat(gw.gateway.authorizer().openTunnels()).isZero();
    }

    @Test
    void connect_bytesSentWithTheHead_areTheTunnelsNotAPipelinedRequest() throws Exception {
        try (Socket s = gw.client()) {
            TestGateway.send(s, "CONNECT git.test:" + echo.port() + " HTTP/1.1\r\n\r\nearly words\n");
            assertThat(TestGateway.read(s).status()).isEqualTo(200);
            assertThat(new String(s.getInputStream().readNBytes("early words\n".length()), StandardCharsets.UTF_8))
                    .isEqualTo("early words\n");
        }
    }

    /** {@code withTheHead}: the bytes go in the CONNECT head's own write, else in a write of their own before the 200. */
    @ParameterizedTest(name = "with the head: {0}")
    @ValueSource(booleans = {true, false})
    void connect_bytesAndFinSentBeforeThe200_reachTheOriginAndItsAnswerComesBack(boolean withTheHead) throws Exception {
        try (Socket s = gw.client()) {
            String head = "CONNECT git.test:" + echo.port() + " HTTP/1.1\r\n\r\n";
            if (withTheHead) {
                TestGateway.send(s, head + "last words\n");
            } else {
                TestGateway.send(s, head);
                TestGateway.send(s, "last words\n");
            }
            s.shutdownOutput();
            assertThat(TestGateway.read(s).status()).isEqualTo(200);
            assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("last words\n");
        }
        awaitClose();
        assertThat(gw.gateway.authorizer().openTunnels()).isZero();
    }

    @Test
    void connect_clientVanishes_tunnelIsReleased() throws Exception {
        for (int i = 0; i < 20; i++) {
            Socket s = gw.client();
            TestGateway.send(s, "CONNECT git.test:" + echo.port() + " HTTP/1.1\r\n\r\n");
            assertThat(TestGateway.read(s).status()).isEqualTo(200);
            s.setSoLinger(true, 0);
            s.close();
        }
        awaitClose();
        assertThat(gw.gateway.authorizer().openTunnels()).isZero();
        assertThat(gw.audit.closes()).hasSize(20);
    }

    /**
     * Waits (bounded) until every tunnel has closed; a leak fails the assertions that follow. Bounded
     * generously: a loaded CI machine can take seconds to run the relay's teardown.
     */
    private void awaitClose() throws InterruptedException {
        for (int i = 0; i < 3000 && gw.gateway.authorizer().openTunnels() > 0; i++) {
            Thread.sleep(10);
        }
    }

    /** Waits until {@code n} close records exist (the record follows the tunnel's teardown). */
    private void awaitCloses(int n) throws InterruptedException {
        awaitClose();
        for (int i = 0; i < 3000 && gw.audit.closes().size() < n; i++) {
            Thread.sleep(10);
        }
    }

    /** An origin that answers any request with 101 and then echoes: a WebSocket server, minimally. */
    private static java.net.ServerSocket upgradeOrigin() throws IOException {
        java.net.ServerSocket server = new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"));
        Thread t = new Thread(() -> {
            try (Socket s = server.accept()) {
                InputStream in = s.getInputStream();
                int matched = 0;
                while (matched < 4) {
                    int b = in.read();
                    if (b < 0) {
                        return;
                    }
                    matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
                }
                s.getOutputStream().write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                byte[] buf = new byte[1024];
                for (int n; (n = in.read(buf)) > 0; ) {
                    s.getOutputStream().write(buf, 0, n);
                }
            } catch (IOException ignored) {
                // test over
            }
        });
        t.setDaemon(true);
        t.start();
        return server;
    }

    @Test
    void upgrade_toTheAuthorisedHost_switchesToARawStreamWithThatHost() throws Exception {
        try (java.net.ServerSocket ws = upgradeOrigin()) {
            String policy = "version: 1\nproject: demo\nnetwork:\n  allow:\n    - ws.test:" + ws.getLocalPort()
                    + "\n    - cidr: 127.0.0.1/32\n      ports: [" + ws.getLocalPort() + "]\n";
            try (TestGateway g = new TestGateway(policy, TestGateway.loopbackException(ws.getLocalPort()), "127.0.0.1 ws.test\n",
                    GatewayLimits.DEFAULT); Socket s = g.client()) {
                TestGateway.send(s, "GET http://ws.test:" + ws.getLocalPort() + "/chat HTTP/1.1\r\nHost: ws.test:" + ws.getLocalPort()
                        + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
                TestGateway.Response r = TestGateway.read(s);
                assertThat(r.status()).isEqualTo(101);
                assertThat(echoThrough(s, "frames after the upgrade")).isEqualTo("frames after the upgrade");
            }
        }
    }

    @Test
    void upgrade_toAHostThatIsNotAllowed_isDeniedBeforeAnyUpgrade() throws Exception {
        try (java.net.ServerSocket ws = upgradeOrigin(); Socket s = gw.client()) {
            TestGateway.send(s, "GET http://x.blocked.test:" + ws.getLocalPort() + "/chat HTTP/1.1\r\nHost: x.blocked.test:"
                    + ws.getLocalPort() + "\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n");
            assertThat(TestGateway.read(s).status()).isEqualTo(403);
        }
    }

    @Test
    void connect_unresponsiveUpstreamAfterClientHalfClose_isClosedByTheIdleTimeout() throws Exception {
        try (Origins.Silent silent = new Origins.Silent("127.0.0.1")) {
            String policy = "version: 1\nproject: demo\nnetwork:\n  allow:\n    - quiet.test:" + silent.port()
                    + "\n    - cidr: 127.0.0.1/32\n      ports: [" + silent.port() + "]\n";
            GatewayLimits shortIdle = new GatewayLimits(512, 20_000, Duration.ofSeconds(5), Duration.ofMillis(300),
                    Duration.ofSeconds(5), 8192, 8);
            try (TestGateway g = new TestGateway(policy, TestGateway.loopbackException(silent.port()), "127.0.0.1 quiet.test\n", shortIdle)) {
                try (Socket s = g.client()) {
                    TestGateway.send(s, "CONNECT quiet.test:" + silent.port() + " HTTP/1.1\r\n\r\n");
                    assertThat(TestGateway.read(s).status()).isEqualTo(200);
                    TestGateway.send(s, "hello?");
                }
                // A half-closed tunnel whose upstream says nothing is idle: the idle timeout ends it.
                for (int i = 0; i < 500 && g.gateway.authorizer().openTunnels() > 0; i++) {
                    Thread.sleep(10);
                }
                assertThat(g.gateway.authorizer().openTunnels()).isZero();
            }
        }
    }

    /**
     * A download larger than the socket buffers to a client slower than the origin, which closes
     * after its answer (the gateway asks every origin for Connection: close). The origin's FIN
     * arrives while the gateway has paused reading it; Netty 4.2.18's epoll then drops the socket
     * from its epoll set, and the next read failed ("epoll_ctl ... No such file or directory"),
     * cutting the download (found by hand: apt and curl through the explicit proxy, curl exit 18).
     * Both answers on one kept-alive client connection arrive whole.
     */
    @Test
    void get_largeAnswerToASlowClient_originClosingFirst_arrivesWhole_twiceOnOneConnection() throws Exception {
        int size = 8 << 20;
        try (java.net.ServerSocket big = new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
            Thread origin = new Thread(() -> {
                for (int i = 0; i < 2; i++) {
                    try (Socket c = big.accept()) {
                        InputStream in = c.getInputStream();
                        for (int matched = 0; matched < 4; ) {
                            int b = in.read();
                            matched = b == (matched % 2 == 0 ? '\r' : '\n') ? matched + 1 : (b == '\r' ? 1 : 0);
                        }
                        c.getOutputStream().write(("HTTP/1.1 200 OK\r\nContent-Length: " + size + "\r\nConnection: close\r\n\r\n")
                                .getBytes(StandardCharsets.ISO_8859_1));
                        c.getOutputStream().write(new byte[size]);
                        c.shutdownOutput();
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            origin.start();
            String policy = """
                    version: 1
                    project: demo
                    network:
                      allow:
                        - host: big.test
                          ports: [%d]
                    """.formatted(big.getLocalPort());
            String org = "version: 1\nproduction:\n  - payments.prod.test\nexceptions:\n  - {project: demo, cidr: 127.0.0.1/32, ports: ["
                    + big.getLocalPort() + "]}\n";
            try (TestGateway slow = new TestGateway(policy, org, "127.0.0.1 big.test\n", GatewayLimits.DEFAULT);
                    Socket s = slow.client()) {
                for (int i = 0; i < 2; i++) {
                    TestGateway.send(s, "GET http://big.test:" + big.getLocalPort() + "/f HTTP/1.1\r\nHost: big.test:" + big.getLocalPort() + "\r\n\r\n");
                    assertThat(slowly(s, size)).as("answer %d arrives whole", i + 1).isEqualTo(size);
                }
            }
            origin.join(5000);
        }
    }

    /** Reads one answer's head, then its body at about 4 MiB/s (as `curl --limit-rate`); the body's length. */
    private static int slowly(Socket s, int size) throws Exception {
        InputStream in = s.getInputStream();
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("closed before the head ended: " + head);
            }
            head.append((char) b);
        }
        assertThat(head.toString()).startsWith("HTTP/1.1 200");
        int got = 0;
        while (got < size) {
            byte[] chunk = in.readNBytes(Math.min(64 << 10, size - got));
            if (chunk.length == 0) {
                break;
            }
            got += chunk.length;
            Thread.sleep(15);
        }
        return got;
    }
}
