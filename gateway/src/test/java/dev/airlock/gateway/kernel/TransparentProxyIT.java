package dev.airlock.gateway.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.dns.DnsAnswerer;
import dev.airlock.gateway.dns.DnsResponder;
import dev.airlock.gateway.proxy.Gateway;
import dev.airlock.gateway.proxy.GatewayLimits;
import dev.airlock.gateway.proxy.GatewayMetrics;
import dev.airlock.gateway.registry.Sandbox;
import dev.airlock.gateway.registry.SandboxRegistry;
import dev.airlock.gateway.resolve.HostsFile;
import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.Reason;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.address.IpLiterals;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The transparent path against the real kernel (DESIGN.md §1, "the kernel makes the gateway the
 * only exit"; egress-cases D and E). A sandbox namespace whose TCP a real nftables TPROXY rule
 * hands to the gateway running in this JVM; origins in their own namespace; see {@link TestNetwork}
 * for the topology and its cleanup guarantees.
 *
 * <p>Every denial has its positive control in the same test: the same origin answers the same
 * client from the host namespace (without Airlock in the path), or the sandbox through the gateway
 * when the policy allows it. Denied connections are also shown never to have reached the origin.
 *
 * <p>Needs root and the kernel's TPROXY; with {@code CI=true} a machine without them fails the
 * test, elsewhere it is skipped with the reason. Sandbox tools: bash (/dev/tcp, /dev/udp), curl, ping.
 */
class TransparentProxyIT {

    /** Bounds each client command; the gateway answers or resets in milliseconds. */
    private static final Duration CLIENT = Duration.ofSeconds(20);
    /** Bounds waiting for an audit record or an origin's log line. */
    private static final Duration AWAIT = Duration.ofSeconds(10);

    private static final String SSH_HOST = "198.18.0.10";
    private static final String GIT_HOST = "198.18.0.11";
    private static final String OTHER_HOST = "198.18.0.12";

    private static final String POLICY = """
            version: 1
            project: demo
            network:
              allow:
                - git.test
                - host: git.test
                  ports: [8080, 8000, 9443]
                - ssh.test:22
                - db.test:5432
            """;
    /** The gateway's resolver: no DNS anywhere, names map to the origin namespace's hosts. */
    private static final String HOSTS = """
            198.18.0.10 ssh.test db.test
            198.18.0.11 git.test
            198.18.0.12 other.test
            """;

    /**
     * Raw TCP: connect, send one line, print the first line read back. Exit 10: connect failed;
     * 11: write failed; 12: nothing came back (EOF or reset).
     */
    private static final String ECHO = """
            exec 3<>"/dev/tcp/$1/$2" || exit 10
            printf '%s\\n' "$3" >&3 || exit 11
            IFS= read -r -t 10 reply <&3 || exit 12
            printf '%s' "$reply"
            """;
    /**
     * Two requests on one kept-alive connection, the second sent after the first was answered:
     * prints every line read back. Exit 10: connect failed; 11: the second write failed.
     */
    private static final String TWO_REQUESTS = """
            exec 3<>"/dev/tcp/$1/$2" || exit 10
            printf 'GET /one HTTP/1.1\r\nHost: %s\r\n\r\n' "$3" >&3
            while IFS= read -r -t 10 line <&3; do printf '%s\n' "$line"; case "$line" in hello*) break;; esac; done
            printf 'GET /two HTTP/1.1\r\nHost: %s\r\n\r\n' "$4" >&3 || exit 11
            while IFS= read -r -t 10 line <&3; do printf '%s\n' "$line"; case "$line" in hello*) break;; esac; done
            """;
    private static final String UDP_SEND = "printf '%s\\n' \"$3\" > \"/dev/udp/$1/$2\"";

    private static TestNetwork net;
    private static Commands.Daemon origins;
    private static Path caPem;

    private AuditRecorder audit;
    private Gateway gateway;
    private Sandbox sandbox;

    @BeforeAll
    static void network() throws Exception {
        TestNetwork.requireKernel("bash", "curl", "ping", "getent");
        net = TestNetwork.create();
        X509Bundle ca = new CertificateBuilder().subject("CN=Airlock kernel test CA").setIsCertificateAuthority(true).ecp256()
                .buildSelfSigned();
        X509Bundle leaf = new CertificateBuilder().subject("CN=git.test").addSanDnsName("git.test").ecp256()
                .addExtendedKeyUsageServerAuth().buildIssuedBy(ca);
        caPem = net.dir.resolve("ca.pem");
        Files.writeString(caPem, ca.getCertificatePEM());
        Path store = net.dir.resolve("git.test.p12");
        KeyStore ks = leaf.toKeyStore(Origin.STORE_PASSWORD.toCharArray());
        try (OutputStream out = Files.newOutputStream(store)) {
            ks.store(out, Origin.STORE_PASSWORD.toCharArray());
        }
        origins = net.startInOrigins(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), Origin.class.getName(),
                "echo", SSH_HOST + ":22", "echo", SSH_HOST + ":5432", "echo", OTHER_HOST + ":22",
                "https", GIT_HOST + ":443", "git.test", store.toString(), "http", GIT_HOST + ":80", "git.test",
                "http-keepalive", GIT_HOST + ":8080", "git.test", "http-keepalive", GIT_HOST + ":8000", "git.test",
                "https", GIT_HOST + ":9443", "git.test", store.toString(),
                "udp", SSH_HOST + ":53", "udp", SSH_HOST + ":443");
        origins.await("ready"::equals, Duration.ofSeconds(60));
    }

    @AfterAll
    static void teardown() {
        try {
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

    @BeforeEach
    void gateway() throws Exception {
        audit = new AuditRecorder();
        PolicyEngine engine = PolicyEngine.compile(PolicyFiles.parseProject("airlock.yaml", POLICY), OrgPolicy.NONE, Phase.RUN,
                List.of());
        gateway = new Gateway(new Gateway.Config(HostsFile.parse("hosts", HOSTS), audit, GatewayMetrics.inMemory(),
                GatewayLimits.DEFAULT, 1, false, "airlock.yaml"), new SandboxRegistry());
        // Identity is the connection's source: the sandbox's end of its link.
        sandbox = gateway.registry().register("sbx-kernel", "demo", List.of(ip(TestNetwork.SANDBOX_LINK_ADDRESS)), engine);
        InetSocketAddress listener = gateway.transparentListener(new InetSocketAddress(TestNetwork.HOST_LINK_ADDRESS, 0));
        net.tproxyTo(listener.getPort());
    }

    @AfterEach
    void stopGateway() {
        if (gateway != null) {
            gateway.close(); // idempotent: gatewayStopped_* has closed it already
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Allowed traffic

    @Test
    void rawTcp_toAllowedNameAndPort_isRelayedAndAuditedAsTransparent() {
        String ssh = synthetic("ssh.test");
        String db = synthetic("db.test");

        assertThat(sandboxEcho(ssh, 22, "SSH-2.0-sandbox").out()).isEqualTo("SSH-2.0-sandbox");
        assertThat(sandboxEcho(db, 5432, "startup-message").out()).isEqualTo("startup-message");

        assertThat(audit.await(AuditEvent.Event.DECISION, e -> e.port() == 22, AWAIT)).satisfies(e -> {
            assertThat(e.via()).isEqualTo(AuditEvent.Via.TRANSPARENT);
            assertThat(e.sandbox()).isEqualTo("sbx-kernel");
            assertThat(e.client()).contains(TestNetwork.SANDBOX_LINK_ADDRESS);
            assertThat(e.name()).isEqualTo("ssh.test");
            assertThat(e.decision()).isEqualTo(AuditEvent.Decision.ALLOW);
            assertThat(e.reason()).isEqualTo(Reason.ALLOWED);
            assertThat(e.addresses()).containsExactly(SSH_HOST);
        });
        assertThat(audit.await(AuditEvent.Event.DECISION, e -> e.port() == 5432, AWAIT).name()).isEqualTo("db.test");
        // The close record counts what crossed: one line each way ("SSH-2.0-sandbox\n").
        assertThat(audit.await(AuditEvent.Event.CLOSE, e -> e.port() == 22, AWAIT)).satisfies(e -> {
            assertThat(e.bytesUp()).isEqualTo(16);
            assertThat(e.bytesDown()).isEqualTo(16);
        });
    }

    @Test
    void tls_withTheResolvedNameAsSni_reachesTheOriginUnchanged() {
        Commands.Result r = curlHttps("git.test", synthetic("git.test"), true);

        assertThat(r.ok()).as(r.toString()).isTrue();
        assertThat(r.out()).isEqualTo("hello from git.test\n");
        // The origin saw the sandbox's own ClientHello: the gateway peeked, it did not terminate TLS.
        origins.await(("sni " + GIT_HOST + ":443 git.test")::equals, AWAIT);
        assertThat(audit.await(AuditEvent.Event.DECISION, e -> e.port() == 443, AWAIT)).satisfies(e -> {
            assertThat(e.via()).isEqualTo(AuditEvent.Via.TRANSPARENT);
            assertThat(e.name()).isEqualTo("git.test");
            assertThat(e.decision()).isEqualTo(AuditEvent.Decision.ALLOW);
            assertThat(e.addresses()).containsExactly(GIT_HOST);
        });
    }

    @Test
    void http_withTheResolvedNameAsHost_reachesTheOrigin() {
        Commands.Result r = curlHttp("git.test", synthetic("git.test"));

        assertThat(r.ok()).as(r.toString()).isTrue();
        assertThat(r.out()).isEqualTo("hello from git.test\n");
        assertThat(audit.await(AuditEvent.Event.DECISION, e -> e.port() == 80, AWAIT).decision()).isEqualTo(AuditEvent.Decision.ALLOW);
    }

    @Test
    void dns_throughAirlocksResponder_givesTheSyntheticAddressThatCurlThenUses() throws Exception {
        try (DnsResponder dns = dnsResponder()) {
            assertThat(dns.udpAddress()).isEqualTo(new InetSocketAddress(TestNetwork.HOST_LINK_ADDRESS, 53));
            // The sandbox's own resolver (glibc, /etc/resolv.conf) asks Airlock; no --resolve pinning.
            Commands.Result lookup = net.inSandbox(CLIENT, "getent", "ahostsv4", "git.test");
            assertThat(lookup.ok()).as(lookup.toString()).isTrue();
            String answered = lookup.out().split("\\s+")[0];
            assertThat(answered).isEqualTo(synthetic("git.test")).startsWith("100.80.");

            Commands.Result r = net.inSandbox(CLIENT, "curl", "-sS", "--max-time", "10", "--cacert", caPem.toString(),
                    "https://git.test/");
            assertThat(r.ok()).as(r.toString()).isTrue();
            assertThat(r.out()).isEqualTo("hello from git.test\n");
            assertThat(audit.await(AuditEvent.Event.DECISION, e -> e.via() == AuditEvent.Via.DNS, AWAIT)).satisfies(e -> {
                assertThat(e.name()).isEqualTo("git.test");
                assertThat(e.decision()).isEqualTo(AuditEvent.Decision.ALLOW);
            });
            assertThat(audit.await(AuditEvent.Event.DECISION, e -> e.via() == AuditEvent.Via.TRANSPARENT, AWAIT).decision())
                    .isEqualTo(AuditEvent.Decision.ALLOW);
        }
    }

    @Test
    void dns_forANameWithoutRule_answersNoAddress() throws Exception {
        try (DnsResponder dns = dnsResponder()) {
            assertThat(dns.udpAddress()).isEqualTo(new InetSocketAddress(TestNetwork.HOST_LINK_ADDRESS, 53));
            Commands.Result denied = net.inSandbox(CLIENT, "getent", "ahostsv4", "other.test");

            assertThat(denied.exit()).as(denied.toString()).isEqualTo(2); // getent: key not found
            assertThat(audit.await(AuditEvent.Event.DECISION, e -> e.via() == AuditEvent.Via.DNS, AWAIT)).satisfies(e -> {
                assertThat(e.name()).isEqualTo("other.test");
                assertThat(e.decision()).isEqualTo(AuditEvent.Decision.DENY);
                assertThat(e.reason()).isEqualTo(Reason.NO_RULE);
            });
            assertThat(sandbox.names().size()).as("no synthetic address was handed out").isZero();
            // Positive control: the same resolver answers an allowed name.
            Commands.Result allowed = net.inSandbox(CLIENT, "getent", "ahostsv4", "git.test");
            assertThat(allowed.ok()).as(allowed.toString()).isTrue();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // egress-cases D: TLS and raw TCP

    @Test
    void tls_sniNamingAnotherHost_isResetAsSniMismatch() {
        String git = synthetic("git.test");
        long before = originAccepts(GIT_HOST + ":443");

        // Domain fronting: git.test's address, evil.test in the ClientHello.
        Commands.Result denied = curlHttps("evil.test", git, false);

        assertThat(denied.ok()).as(denied.toString()).isFalse();
        assertThat(denied.err()).as(denied.toString()).containsIgnoringCase("reset");
        assertThat(audit.await(AuditEvent.Event.DECISION, e -> e.decision() == AuditEvent.Decision.DENY, AWAIT)).satisfies(e -> {
            assertThat(e.reason()).isEqualTo(Reason.SNI_MISMATCH);
            assertThat(e.name()).isEqualTo("git.test");
            assertThat(e.via()).isEqualTo(AuditEvent.Via.TRANSPARENT);
        });
        // Positive control: the same address with the right SNI is allowed, and is the origin's only connection.
        assertThat(curlHttps("git.test", git, true).out()).isEqualTo("hello from git.test\n");
        assertReachedOnce(GIT_HOST + ":443", before);
    }

    @Test
    void tls_withoutSni_isResetAsNoSni() {
        String git = synthetic("git.test");
        long before = originAccepts(GIT_HOST + ":443");

        // curl sends no SNI when the URL's host is an address.
        Commands.Result denied = net.inSandbox(CLIENT, "curl", "-sS", "--max-time", "10", "--insecure", "https://" + git + "/");

        assertThat(denied.ok()).as(denied.toString()).isFalse();
        assertThat(denied.err()).as(denied.toString()).containsIgnoringCase("reset");
        assertThat(audit.await(AuditEvent.Event.DECISION, e -> e.decision() == AuditEvent.Decision.DENY, AWAIT).reason()).isEqualTo(Reason.NO_SNI);
        assertThat(curlHttps("git.test", git, true).out()).isEqualTo("hello from git.test\n");
        assertReachedOnce(GIT_HOST + ":443", before);
    }

    @Test
    void plainTextOnTlsPort_isResetAsNotTls() {
        String git = synthetic("git.test");
        long before = originAccepts(GIT_HOST + ":443");

        Commands.Result denied = sandboxEcho(git, 443, "GET / HTTP/1.0");

        assertThat(denied.exit()).as(denied.toString()).isIn(11, 12);
        assertThat(denied.out()).isEmpty();
        assertThat(audit.await(AuditEvent.Event.DECISION, e -> e.decision() == AuditEvent.Decision.DENY, AWAIT).reason()).isEqualTo(Reason.NOT_TLS);
        assertThat(curlHttps("git.test", git, true).out()).isEqualTo("hello from git.test\n");
        assertReachedOnce(GIT_HOST + ":443", before);
    }

    @Test
    void http_hostHeaderNamingAnotherHost_isResetAsHostMismatch() {
        String git = synthetic("git.test");
        long before = originAccepts(GIT_HOST + ":80");

        Commands.Result denied = curlHttp("evil.test", git);

        assertThat(denied.ok()).as(denied.toString()).isFalse();
        assertThat(audit.await(AuditEvent.Event.DECISION, e -> e.decision() == AuditEvent.Decision.DENY, AWAIT).reason())
                .isEqualTo(Reason.HOST_MISMATCH);
        assertThat(curlHttp("git.test", git).out()).isEqualTo("hello from git.test\n");
        assertReachedOnce(GIT_HOST + ":80", before);
    }

    // ---------------------------------------------------------------------------------------------
    // Issue 15 §1: bytes naming another host on an allowed connection (fronting, host switches).
    // Judged from the origin's side: its log of Host and SNI never shows the other name.

    @Test
    void keepAlive_secondRequestNamingAnotherHost_isResetAndNeverReachesTheOrigin() {
        String service = GIT_HOST + ":8080";
        // Positive control: from the host, the same two requests on one connection are both answered.
        Commands.Result direct = net.onHost(CLIENT, "bash", "-c", TWO_REQUESTS, "_", GIT_HOST, "8080", "git.test:8080", "evil.test:8080");
        assertThat(direct.out().lines().filter(l -> l.startsWith("hello from")).count()).as(direct.toString()).isEqualTo(2);
        origins.await(("request " + service + " evil.test:8080")::equals, AWAIT);
        long before = origins.count(l -> l.startsWith("request " + service + " "));

        Commands.Result r = net.inSandbox(CLIENT, "bash", "-c", TWO_REQUESTS, "_", synthetic("git.test"), "8080", "git.test:8080",
                "evil.test:8080");

        assertThat(r.out().lines().filter(l -> l.startsWith("hello from")).count()).as(r.toString()).isEqualTo(1);
        assertThat(audit.await(AuditEvent.Event.DECISION, e -> e.decision() == AuditEvent.Decision.DENY, AWAIT)).satisfies(e -> {
            assertThat(e.reason()).isEqualTo(Reason.HOST_MISMATCH);
            assertThat(e.name()).isEqualTo("git.test");
            assertThat(e.port()).isEqualTo(8080);
        });
        origins.awaitCount(l -> l.startsWith("request " + service + " "), before + 1, AWAIT);
        assertThat(origins.count(l -> l.startsWith("request " + service + " "))).as("only the first request arrived").isEqualTo(before + 1);
        assertThat(origins.count(("request " + service + " evil.test:8080")::equals)).as("only the control's").isEqualTo(1);
    }

    @Test
    void tlsOnAnotherAllowedPort_sniNamingAnotherHost_isResetAsSniMismatch() {
        String service = GIT_HOST + ":9443";
        String git = synthetic("git.test");
        // Positive control: from the host, the origin completes a handshake for evil.test on that port.
        Commands.Result direct = net.onHost(CLIENT, "curl", "-sS", "--max-time", "10", "--insecure", "--resolve",
                "evil.test:9443:" + GIT_HOST, "https://evil.test:9443/");
        assertThat(direct.out()).as(direct.toString()).isEqualTo("hello from git.test\n");
        origins.await(("sni " + service + " evil.test")::equals, AWAIT);

        Commands.Result denied = net.inSandbox(CLIENT, "curl", "-sS", "--max-time", "10", "--insecure", "--resolve",
                "evil.test:9443:" + git, "https://evil.test:9443/");

        assertThat(denied.ok()).as(denied.toString()).isFalse();
        assertThat(audit.await(AuditEvent.Event.DECISION, e -> e.decision() == AuditEvent.Decision.DENY, AWAIT).reason()).isEqualTo(Reason.SNI_MISMATCH);
        // The sandbox's own name works on that port, and the origin never saw evil.test but from the control.
        Commands.Result allowed = net.inSandbox(CLIENT, "curl", "-sS", "--max-time", "10", "--cacert", caPem.toString(), "--resolve",
                "git.test:9443:" + git, "https://git.test:9443/");
        assertThat(allowed.out()).as(allowed.toString()).isEqualTo("hello from git.test\n");
        origins.await(("sni " + service + " git.test")::equals, AWAIT);
        assertThat(origins.count(("sni " + service + " evil.test")::equals)).isEqualTo(1);
    }

    @Test
    void httpOnAnotherAllowedPort_hostNamingAnotherHost_isResetAsHostMismatch() {
        String service = GIT_HOST + ":8000";
        String git = synthetic("git.test");
        Commands.Result direct = net.onHost(CLIENT, "curl", "-sS", "--max-time", "10", "--resolve", "evil.test:8000:" + GIT_HOST,
                "http://evil.test:8000/");
        assertThat(direct.out()).as(direct.toString()).isEqualTo("hello from git.test\n");
        origins.await(("request " + service + " evil.test:8000")::equals, AWAIT);

        Commands.Result denied = net.inSandbox(CLIENT, "curl", "-sS", "--max-time", "10", "--resolve", "evil.test:8000:" + git,
                "http://evil.test:8000/");

        assertThat(denied.ok()).as(denied.toString()).isFalse();
        assertThat(audit.await(AuditEvent.Event.DECISION, e -> e.decision() == AuditEvent.Decision.DENY, AWAIT).reason()).isEqualTo(Reason.HOST_MISMATCH);
        Commands.Result allowed = net.inSandbox(CLIENT, "curl", "-sS", "--max-time", "10", "--resolve", "git.test:8000:" + git,
                "http://git.test:8000/");
        assertThat(allowed.out()).as(allowed.toString()).isEqualTo("hello from git.test\n");
        origins.await(("request " + service + " git.test:8000")::equals, AWAIT);
        assertThat(origins.count(("request " + service + " evil.test:8000")::equals)).isEqualTo(1);
    }

    @Test
    void rawTcp_toNameWithoutRule_isResetAsNoRule() {
        // As if the DNS responder had answered a name the policy does not allow (it must not).
        String other = synthetic("other.test");
        long before = originAccepts(OTHER_HOST + ":22");

        Commands.Result denied = sandboxEcho(other, 22, "SSH-2.0-sandbox");

        assertDeniedAfterConnect(denied);
        assertThat(audit.await(AuditEvent.Event.DECISION, e -> e.decision() == AuditEvent.Decision.DENY, AWAIT)).satisfies(e -> {
            assertThat(e.reason()).isEqualTo(Reason.NO_RULE);
            assertThat(e.name()).isEqualTo("other.test");
        });
        // Positive control: the same client reaches the same origin from the host namespace.
        assertThat(hostEcho(OTHER_HOST, 22, "direct").out()).isEqualTo("direct");
        assertReachedOnce(OTHER_HOST + ":22", before);
    }

    @Test
    void rawTcp_toAllowedNameOnUnlistedPort_isResetAsPortNotAllowed() {
        String ssh = synthetic("ssh.test");
        long before = originAccepts(SSH_HOST + ":5432");

        Commands.Result denied = sandboxEcho(ssh, 5432, "startup-message");

        assertDeniedAfterConnect(denied);
        assertThat(audit.await(AuditEvent.Event.DECISION, e -> e.decision() == AuditEvent.Decision.DENY, AWAIT).reason())
                .isEqualTo(Reason.PORT_NOT_ALLOWED);
        assertThat(sandboxEcho(synthetic("db.test"), 5432, "startup-message").out()).isEqualTo("startup-message");
        assertReachedOnce(SSH_HOST + ":5432", before);
    }

    // ---------------------------------------------------------------------------------------------
    // egress-cases E: the kernel boundary

    @Test
    void directConnectionToAnOriginAddress_isResetAsIpLiteral() {
        synthetic("ssh.test");
        long before = originAccepts(SSH_HOST + ":22");

        // The sandbox ignores DNS and dials the origin's real address.
        Commands.Result denied = sandboxEcho(SSH_HOST, 22, "SSH-2.0-sandbox");

        assertDeniedAfterConnect(denied);
        assertThat(audit.await(AuditEvent.Event.DECISION, e -> e.decision() == AuditEvent.Decision.DENY, AWAIT)).satisfies(e -> {
            assertThat(e.reason()).isEqualTo(Reason.IP_LITERAL);
            assertThat(e.name()).isEqualTo(SSH_HOST);
            assertThat(e.via()).isEqualTo(AuditEvent.Via.TRANSPARENT);
        });
        assertThat(hostEcho(SSH_HOST, 22, "direct").out()).isEqualTo("direct");
        assertReachedOnce(SSH_HOST + ":22", before);
    }

    @Test
    void syntheticAddressNeverAssigned_isResetAsIpLiteral() {
        String ssh = synthetic("ssh.test");
        String unassigned = "100.80.0.200";
        assertThat(sandbox.names().nameFor(ip(unassigned))).isEmpty();

        Commands.Result denied = sandboxEcho(unassigned, 22, "SSH-2.0-sandbox");

        assertDeniedAfterConnect(denied);
        assertThat(audit.await(AuditEvent.Event.DECISION, e -> e.decision() == AuditEvent.Decision.DENY, AWAIT)).satisfies(e -> {
            assertThat(e.reason()).isEqualTo(Reason.IP_LITERAL);
            assertThat(e.name()).isEqualTo(unassigned);
        });
        // Positive control: the address the sandbox was given for ssh.test works.
        assertThat(sandboxEcho(ssh, 22, "SSH-2.0-sandbox").out()).isEqualTo("SSH-2.0-sandbox");
    }

    @Test
    void hostOwnServices_areUnreachableFromTheSandbox() throws Exception {
        // A TCP service and a UDP service of the host, on the host's end of the sandbox's link.
        try (ServerSocket tcp = new ServerSocket(0, 50, InetAddress.getByName(TestNetwork.HOST_LINK_ADDRESS));
                DatagramSocket udp = new DatagramSocket(new InetSocketAddress(TestNetwork.HOST_LINK_ADDRESS, 0))) {
            List<String> received = new CopyOnWriteArrayList<>();
            Thread t = new Thread(() -> receiveAll(udp, received), "host-udp");
            t.setDaemon(true);
            t.start();
            String nonce = UUID.randomUUID().toString();

            // TCP is intercepted like any other: the gateway sees an IP literal, never the host's socket.
            Commands.Result denied = sandboxEcho(TestNetwork.HOST_LINK_ADDRESS, tcp.getLocalPort(), "hello host");
            assertDeniedAfterConnect(denied);
            assertThat(audit.await(AuditEvent.Event.DECISION, e -> e.decision() == AuditEvent.Decision.DENY, AWAIT).reason())
                    .isEqualTo(Reason.IP_LITERAL);
            net.inSandbox(CLIENT, "bash", "-c", UDP_SEND, "_", TestNetwork.HOST_LINK_ADDRESS, String.valueOf(udp.getLocalPort()),
                    "sandbox-" + nonce);
            Commands.Result ping = net.inSandbox(CLIENT, "ping", "-n", "-c", "1", "-W", "2", TestNetwork.HOST_LINK_ADDRESS);
            assertThat(ping.ok()).as(ping.toString()).isFalse();

            // Positive controls: the host reaches its own services, and answers its own ping.
            try (Socket control = new Socket(TestNetwork.HOST_LINK_ADDRESS, tcp.getLocalPort());
                    Socket first = tcp.accept()) {
                assertThat(first.getPort()).as("the host service's first connection is the control's").isEqualTo(control.getLocalPort());
            }
            assertThat(net.onHost(CLIENT, "bash", "-c", UDP_SEND, "_", TestNetwork.HOST_LINK_ADDRESS,
                    String.valueOf(udp.getLocalPort()), "host-" + nonce).ok()).isTrue();
            awaitContains(received, "host-" + nonce);
            assertThat(received).doesNotContain("sandbox-" + nonce);
            Commands.Result hostPing = net.onHost(CLIENT, "ping", "-n", "-c", "1", "-W", "2", TestNetwork.HOST_LINK_ADDRESS);
            assertThat(hostPing.ok()).as(hostPing.toString()).isTrue();
        }
    }

    @Test
    void udp_fromTheSandbox_neverArrives() {
        String nonce = UUID.randomUUID().toString();
        for (String port : List.of("53", "443")) {
            // DNS to a resolver of its own choosing, and QUIC: no UDP path out at all.
            net.inSandbox(CLIENT, "bash", "-c", UDP_SEND, "_", SSH_HOST, port, "sandbox-" + nonce);
        }
        for (String port : List.of("53", "443")) {
            Commands.Result sent = net.onHost(CLIENT, "bash", "-c", UDP_SEND, "_", SSH_HOST, port, "host-" + nonce);
            assertThat(sent.ok()).as(sent.toString()).isTrue();
            origins.await(("udp " + SSH_HOST + ":" + port + " host-" + nonce)::equals, AWAIT);
        }
        assertThat(origins.lines()).noneMatch(l -> l.contains("sandbox-" + nonce));
    }

    @Test
    void icmp_fromTheSandbox_neverArrives() {
        long before = originEchoRequests();

        Commands.Result denied = net.inSandbox(CLIENT, "ping", "-n", "-c", "1", "-W", "2", SSH_HOST);
        assertThat(denied.ok()).as(denied.toString()).isFalse();

        Commands.Result control = net.onHost(CLIENT, "ping", "-n", "-c", "1", "-W", "2", SSH_HOST);
        assertThat(control.ok()).as(control.toString()).isTrue();
        // The origin namespace's own count: only the control's echo request ever arrived.
        assertThat(originEchoRequests()).isEqualTo(before + 1);
    }

    @Test
    void sandbox_hasNoIpv6() {
        Commands.Result addresses = net.inSandbox(CLIENT, "ip", "-6", "addr", "show");
        assertThat(addresses.ok()).as(addresses.toString()).isTrue();
        assertThat(addresses.out()).isBlank();
        Commands.Result routes = net.inSandbox(CLIENT, "ip", "-6", "route", "show");
        assertThat(routes.out()).isBlank();
    }

    @Test
    void gatewayStopped_newConnectionsAreRefusedAndReachNothing() throws Exception {
        String ssh = synthetic("ssh.test");
        try (ServerSocket hostService = new ServerSocket(0, 50, InetAddress.getByName(TestNetwork.HOST_LINK_ADDRESS))) {
            // Positive control: through the running gateway, the connection works.
            assertThat(sandboxEcho(ssh, 22, "before").out()).isEqualTo("before");
            origins.awaitCount(l -> l.startsWith("accept " + SSH_HOST + ":22 "), 1, AWAIT);
            long before = originAccepts(SSH_HOST + ":22");

            gateway.close();
            Commands.Result viaName = sandboxEcho(ssh, 22, "after");
            Commands.Result direct = sandboxEcho(SSH_HOST, 22, "after");
            Commands.Result host = sandboxEcho(TestNetwork.HOST_LINK_ADDRESS, hostService.getLocalPort(), "after");

            // No gateway, no path: the kernel refuses at connect (fail closed), nothing is forwarded,
            // and nothing falls through to another socket of the host.
            for (Commands.Result r : List.of(viaName, direct, host)) {
                assertThat(r.exit()).as(r.toString()).isEqualTo(10);
                assertThat(r.err()).as(r.toString()).contains("Connection refused");
            }
            assertThat(hostEcho(SSH_HOST, 22, "control").out()).isEqualTo("control");
            assertReachedOnce(SSH_HOST + ":22", before);
            try (Socket control = new Socket(TestNetwork.HOST_LINK_ADDRESS, hostService.getLocalPort());
                    Socket first = hostService.accept()) {
                assertThat(first.getPort()).as("the host service's first connection is the control's").isEqualTo(control.getLocalPort());
            }
        }
    }

    // ---------------------------------------------------------------------------------------------

    /**
     * Airlock's DNS responder where the sandbox's resolv.conf points: the host end of its link,
     * port 53 (a resolver cannot be told another port).
     */
    private DnsResponder dnsResponder() throws Exception {
        DnsResponder dns = new DnsResponder(DnsResponder.Settings.defaults(
                new InetSocketAddress(TestNetwork.HOST_LINK_ADDRESS, 53)).withThreads(2), gateway.registry(),
                new DnsAnswerer(HostsFile.parse("hosts", HOSTS)), audit);
        try {
            dns.start();
        } catch (BindException e) {
            dns.close();
            TestNetwork.cannotRun("the sandbox's resolver must be on " + TestNetwork.HOST_LINK_ADDRESS
                    + ":53, and another DNS server on this machine holds port 53: " + e.getMessage());
        }
        return dns;
    }

    /** The sandbox's synthetic address for {@code name}, as Airlock's DNS would have answered it. */
    private String synthetic(String name) {
        return sandbox.names().assign(name).orElseThrow().toString();
    }

    private static IpAddress ip(String literal) {
        return ((IpLiterals.Canonical) IpLiterals.shape(literal)).address();
    }

    private static Commands.Result sandboxEcho(String host, int port, String line) {
        return net.inSandbox(CLIENT, "bash", "-c", ECHO, "_", host, String.valueOf(port), line);
    }

    private static Commands.Result hostEcho(String host, int port, String line) {
        return net.onHost(CLIENT, "bash", "-c", ECHO, "_", host, String.valueOf(port), line);
    }

    /** curl from the sandbox to https://NAME/ with NAME pinned to {@code address} (no DNS). */
    private static Commands.Result curlHttps(String name, String address, boolean verify) {
        List<String> argv = new ArrayList<>(List.of("curl", "-sS", "--max-time", "10"));
        argv.addAll(verify ? List.of("--cacert", caPem.toString()) : List.of("--insecure"));
        argv.addAll(List.of("--resolve", name + ":443:" + address, "https://" + name + "/"));
        return net.inSandbox(CLIENT, argv.toArray(String[]::new));
    }

    private static Commands.Result curlHttp(String name, String address) {
        return net.inSandbox(CLIENT, "curl", "-sS", "--max-time", "10", "--resolve", name + ":80:" + address, "http://" + name + "/");
    }

    /**
     * The connection was accepted (by the gateway, for the kernel) and then reset without an answer.
     * Exit 10 counts only as "reset by peer": on a loaded machine the gateway's reset can land before
     * the client's connect() wakes, and the kernel then reports the reset from connect() itself
     * (the handshake still completed). A refusal or timeout at connect is not this outcome.
     */
    private static void assertDeniedAfterConnect(Commands.Result r) {
        if (r.exit() == 10) {
            assertThat(r.err()).as(r.toString()).contains("Connection reset by peer");
        } else {
            assertThat(r.exit()).as(r.toString()).isIn(11, 12);
        }
        assertThat(r.out()).as(r.toString()).isEmpty();
    }

    private static long originAccepts(String service) {
        return origins.count(l -> l.startsWith("accept " + service + " "));
    }

    /** The origin accepted exactly one connection since {@code before}: the positive control's. */
    private static void assertReachedOnce(String service, long before) {
        origins.awaitCount(l -> l.startsWith("accept " + service + " "), before + 1, AWAIT);
        assertThat(originAccepts(service)).as("connections " + service + " accepted").isEqualTo(before + 1);
    }

    /** Icmp InEchos of the origin namespace (/proc/net/snmp is per network namespace). */
    private static long originEchoRequests() {
        Commands.Result snmp = net.inOrigins(CLIENT, "cat", "/proc/net/snmp");
        assertThat(snmp.ok()).as(snmp.toString()).isTrue();
        List<String[]> icmp = snmp.out().lines().filter(l -> l.startsWith("Icmp: ")).map(l -> l.split("\\s+")).toList();
        int column = List.of(icmp.get(0)).indexOf("InEchos");
        return Long.parseLong(icmp.get(1)[column]);
    }

    private static void receiveAll(DatagramSocket socket, List<String> into) {
        byte[] buf = new byte[2048];
        while (!socket.isClosed()) {
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            try {
                socket.receive(p);
            } catch (IOException e) {
                return;
            }
            into.add(new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8).strip());
        }
    }

    private static void awaitContains(List<String> list, String value) throws InterruptedException {
        long deadline = System.nanoTime() + AWAIT.toNanos();
        while (!list.contains(value) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(list).contains(value);
    }
}
