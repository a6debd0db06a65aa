package dev.airlock.sandbox;

import static dev.airlock.sandbox.KernelSupport.admin;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kernel makes the gateway the only exit (DESIGN.md §1; egress-cases E): a sandbox's UDP
 * (QUIC included) and ICMP never leave, its TCP reaches only the gateway's transparent port, its DNS
 * only the responder, and no other host service. Every denial has its positive control in the same
 * test: the same test host answers the host namespace, and, once the test has removed Airlock's
 * rules, the sandbox itself (the topology would carry its packets; the rules are what stop them).
 *
 * <p>Test hosts live in a namespace this test creates ({@link TestHosts}, 198.18.77.0/24); nothing
 * is ever sent anywhere else. No assertion is about time: waits are bounded, and absence is shown
 * with a sentinel sent after the packet that must not arrive.
 */
class SandboxNetworkIT {

    /** Bounds each command in the sandbox; a refused connection or a dropped packet fails in ~2 s (the commands' own timeouts). */
    private static final Duration STEP = Duration.ofSeconds(20);
    private static final Duration AWAIT = Duration.ofSeconds(10);

    @TempDir
    static Path tmp;
    static SandboxLauncher launcher;
    static TestHosts hosts;
    static CgroupLayout layout;
    static int gatewayPort;
    static int dnsPort;
    static GatewayPorts ports;

    @BeforeAll
    static void setUp() throws Exception {
        KernelSupport.requireRoot("socat", "bash", "ping", "timeout", "nsenter", "sysctl");
        layout = KernelOps.system().cgroups();
        hosts = TestHosts.create(LinkRange.DEFAULT.range().toString());
        launcher = SandboxLauncher.system(tmp.resolve("state"));
        gatewayPort = freePort(-1);
        dnsPort = freePort(gatewayPort);
        ports = new GatewayPorts(gatewayPort, dnsPort);
    }

    @AfterAll
    static void tearDown() {
        if (launcher != null) {
            launcher.close();
        }
        if (hosts != null) {
            hosts.close();
        }
        if (layout != null) {
            assertThat(KernelSupport.leftovers(layout)).isEmpty();
        }
    }

    @AfterEach
    void destroyAll() {
        launcher.close();
        launcher = SandboxLauncher.system(tmp.resolve("state"));
    }

    private PreparedSandbox prepare(String name) throws Exception {
        PreparedSandbox p = launcher.prepare(new SandboxSpec("it", KernelSupport.workspace(tmp, name), new Resources(256L << 20, 1, 128), ports));
        // Without the rules, the host would forward this link's packets (see TestHosts).
        admin("sysctl", "-q", "-w", "net.ipv4.conf." + p.hostVeth() + ".forwarding=1");
        // The strictest reverse-path filter a host may set: TPROXY and the DNS redirect must still work
        // (the launcher leaves rp_filter alone; see docs/sandbox.md).
        admin("sysctl", "-q", "-w", "net.ipv4.conf." + p.hostVeth() + ".rp_filter=1");
        // Unprivileged ICMP sockets, so that a failing ping fails for the network's reasons only.
        admin("nsenter", "--net=/run/netns/" + p.netns(), "sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 2147483647");
        return p;
    }

    private static void hostSends(String text, String host, int port) {
        admin("bash", "-c", "echo " + text + " > /dev/udp/" + host + "/" + port);
    }

    @Test
    void udpAndIcmp_neverLeave_evenWithEitherTableAlone_butWouldWithoutAirlocksRules() throws Exception {
        PreparedSandbox p = prepare("ws-udp");
        TestHosts.Daemon udp = hosts.start("socat", "-u", "UDP-RECV:9999,bind=" + TestHosts.HOST_A, "STDOUT");
        long sandboxBefore = hosts.counter("sandbox");
        try (SandboxShell sh = new SandboxShell(launcher, p)) {
            // Both tables in place.
            assertThat(sh.exec("bash -c 'echo udp-both > /dev/udp/" + TestHosts.HOST_A + "/9999'", STEP).exit()).isNotZero();
            assertThat(sh.exec("bash -c 'echo quic-both > /dev/udp/" + TestHosts.HOST_A + "/443'", STEP).exit()).isNotZero();
            assertThat(sh.exec("ping -c1 -W1 " + TestHosts.HOST_A, STEP).exit()).isNotZero();
            // Positive control: the same test host, from the host namespace.
            hostSends("sentinel-both", TestHosts.HOST_A, 9999);
            udp.await(l -> l.equals("sentinel-both"), AWAIT);
            assertThat(KernelSupport.run(STEP, "ping", "-c1", "-W2", TestHosts.HOST_A).ok()).isTrue();
            assertThat(hosts.counter("host")).isPositive();

            // The host's table alone: the sandbox removes nothing itself, the test does it for it.
            admin("nsenter", "--net=/run/netns/" + p.netns(), "nft", "delete", "table", "inet", p.nftTable());
            sh.exec("bash -c 'echo udp-host-table > /dev/udp/" + TestHosts.HOST_A + "/9999'", STEP);
            sh.exec("bash -c 'echo quic-host-table > /dev/udp/" + TestHosts.HOST_A + "/443'", STEP);
            assertThat(sh.exec("ping -c1 -W1 " + TestHosts.HOST_A, STEP).exit()).isNotZero();
            hostSends("sentinel-host-table", TestHosts.HOST_A, 9999);
            udp.await(l -> l.equals("sentinel-host-table"), AWAIT);
            assertThat(udp.lines).noneMatch(l -> l.startsWith("udp-"));
            assertThat(hosts.counter("sandbox")).as("packets from the sandbox at the test hosts").isEqualTo(sandboxBefore);

            // Control: without any of Airlock's rules, the very same packets get there.
            admin("nft", "delete", "table", "inet", p.nftTable());
            sh.exec("bash -c 'echo udp-no-rules > /dev/udp/" + TestHosts.HOST_A + "/9999'", STEP);
            udp.await(l -> l.equals("udp-no-rules"), AWAIT);
            assertThat(sh.exec("ping -c1 -W2 " + TestHosts.HOST_A, STEP).exit()).isZero();
            assertThat(hosts.counter("sandbox")).isGreaterThan(sandboxBefore);
        }
    }

    @Test
    void tcp_reachesOnlyTheGatewaysPort_neverTheTestHostNorAHostService() throws Exception {
        PreparedSandbox p = prepare("ws-tcp");
        hosts.start("socat", "TCP-LISTEN:8080,bind=" + TestHosts.HOST_A + ",fork,reuseaddr", "SYSTEM:echo origin");
        String connect = "timeout 2 bash -c 'exec 3<>/dev/tcp/%s/%d && cat <&3'";
        // Positive control: the test host answers the host namespace.
        awaitAnswer(String.format(connect, TestHosts.HOST_A, 8080), "origin");
        long sandboxBefore = hosts.counter("sandbox");

        AtomicInteger hostServiceAccepts = new AtomicInteger();
        try (ServerSocket hostService = new ServerSocket()) {
            hostService.bind(new InetSocketAddress("0.0.0.0", 0));
            Thread accepter = Thread.ofVirtual().start(() -> {
                while (!hostService.isClosed()) {
                    try (Socket s = hostService.accept()) {
                        hostServiceAccepts.incrementAndGet();
                    } catch (java.io.IOException e) {
                        return;
                    }
                }
            });
            try (SandboxShell sh = new SandboxShell(launcher, p)) {
                // No gateway listening: TPROXY finds no socket, the SYN is dropped: nothing, anywhere.
                SandboxShell.Result none = sh.exec(String.format(connect, TestHosts.HOST_A, 8080), STEP);
                assertThat(none.exit()).isNotZero();
                assertThat(none.out()).doesNotContain("origin");
                SandboxShell.Result service = sh.exec(String.format(connect, p.hostAddress(), hostService.getLocalPort()), STEP);
                assertThat(service.exit()).isNotZero();

                // A stand-in gateway on the transparent port: now every connection reaches it, and only it.
                TestHosts.Daemon gw = hosts.startOnHost("socat", "TCP-LISTEN:" + gatewayPort + ",transparent,fork,reuseaddr",
                        "SYSTEM:echo gateway");
                awaitAnswer(String.format(connect, "127.0.0.1", gatewayPort), "gateway");
                assertThat(sh.exec(String.format(connect, TestHosts.HOST_A, 8080), STEP).out()).contains("gateway").doesNotContain("origin");
                assertThat(sh.exec(String.format(connect, TestHosts.HOST_B, 22), STEP).out()).contains("gateway");
                assertThat(sh.exec(String.format(connect, p.hostAddress(), hostService.getLocalPort()), STEP).out()).contains("gateway");
                assertThat(gw.process.isAlive()).isTrue();
            }
            // Control for the host service: it does accept, from the host.
            try (Socket s = new Socket("127.0.0.1", hostService.getLocalPort())) {
                s.getOutputStream().write(1);
            }
            long deadline = System.nanoTime() + AWAIT.toNanos();
            while (hostServiceAccepts.get() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(hostServiceAccepts.get()).as("only the host's own connection reached the host service").isEqualTo(1);
            hostService.close();
            accepter.join(AWAIT.toMillis());
        }
        assertThat(hosts.counter("sandbox")).as("no packet from the sandbox reached the test hosts").isEqualTo(sandboxBefore);
    }

    @Test
    void dns_reachesOnlyTheRespondersPort_andNothingElseOnTheHostOrBeyond() throws Exception {
        PreparedSandbox p = prepare("ws-dns");
        TestHosts.Daemon beyond = hosts.start("socat", "-u", "UDP-RECV:53,bind=" + TestHosts.HOST_A, "STDOUT");
        List<String> udpSeen = new CopyOnWriteArrayList<>();
        List<String> tcpSeen = new CopyOnWriteArrayList<>();
        try (DatagramSocket responder = new DatagramSocket(new InetSocketAddress("0.0.0.0", dnsPort));
                ServerSocket responderTcp = new ServerSocket();
                DatagramSocket hostService = new DatagramSocket(new InetSocketAddress("0.0.0.0", 0))) {
            responderTcp.bind(new InetSocketAddress("0.0.0.0", dnsPort));
            Thread u = Thread.ofVirtual().start(() -> receive(responder, udpSeen));
            Thread t = Thread.ofVirtual().start(() -> {
                while (!responderTcp.isClosed()) {
                    try (Socket s = responderTcp.accept(); InputStream in = s.getInputStream()) {
                        tcpSeen.add(new String(in.readAllBytes(), StandardCharsets.UTF_8).strip() + " from " + s.getInetAddress().getHostAddress());
                    } catch (java.io.IOException e) {
                        return;
                    }
                }
            });
            List<String> hostServiceSeen = new CopyOnWriteArrayList<>();
            Thread h = Thread.ofVirtual().start(() -> receive(hostService, hostServiceSeen));
            try (SandboxShell sh = new SandboxShell(launcher, p)) {
                String udp = "bash -c 'echo %s > /dev/udp/%s/%d'";
                assertThat(sh.exec(String.format(udp, "q-udp", p.hostAddress(), 53), STEP).exit()).isZero();
                assertThat(sh.exec("bash -c 'echo q-tcp > /dev/tcp/" + p.hostAddress() + "/53'", STEP).exit()).isZero();
                awaitContains(udpSeen, "q-udp from " + p.sandboxAddress());
                awaitContains(tcpSeen, "q-tcp from " + p.sandboxAddress());

                // Not the responder's real port, not another host service, not a resolver beyond the host.
                sh.exec(String.format(udp, "q-direct", p.hostAddress(), dnsPort), STEP);
                sh.exec(String.format(udp, "q-service", p.hostAddress(), hostService.getLocalPort()), STEP);
                sh.exec(String.format(udp, "q-beyond", TestHosts.HOST_A, 53), STEP);
                // ... not even with the sandbox's own table gone (the host's alone)
                admin("nsenter", "--net=/run/netns/" + p.netns(), "nft", "delete", "table", "inet", p.nftTable());
                sh.exec(String.format(udp, "q-direct2", p.hostAddress(), dnsPort), STEP);
                sh.exec(String.format(udp, "q-service2", p.hostAddress(), hostService.getLocalPort()), STEP);
                sh.exec(String.format(udp, "q-beyond2", TestHosts.HOST_A, 53), STEP);
            }
            hostSends("sentinel", "127.0.0.1", dnsPort);
            hostSends("sentinel", "127.0.0.1", hostService.getLocalPort());
            hostSends("sentinel", TestHosts.HOST_A, 53);
            awaitContains(udpSeen, "sentinel from 127.0.0.1");
            awaitContains(hostServiceSeen, "sentinel from 127.0.0.1");
            beyond.await(l -> l.equals("sentinel"), AWAIT);
            assertThat(udpSeen).noneMatch(l -> l.startsWith("q-direct"));
            assertThat(hostServiceSeen).noneMatch(l -> l.startsWith("q-"));
            assertThat(beyond.lines).noneMatch(l -> l.startsWith("q-"));
            responder.close();
            responderTcp.close();
            hostService.close();
            u.join(AWAIT.toMillis());
            t.join(AWAIT.toMillis());
            h.join(AWAIT.toMillis());
        }
    }

    /**
     * A port free for TCP and UDP on all addresses, below the ephemeral range (so that no outgoing
     * connection of another process takes it between this check and the test's bind).
     */
    private static int freePort(int not) throws java.io.IOException {
        for (int i = 0; i < 1000; i++) {
            int port = 20000 + java.util.concurrent.ThreadLocalRandom.current().nextInt(10000);
            if (port == not) {
                continue;
            }
            try (ServerSocket t = new ServerSocket(); DatagramSocket u = new DatagramSocket(null)) {
                t.bind(new InetSocketAddress("0.0.0.0", port));
                u.bind(new InetSocketAddress("0.0.0.0", port));
                return port;
            } catch (java.net.BindException e) {
                // taken: try another
            }
        }
        throw new IllegalStateException("no free port in 20000-29999");
    }

    private static void receive(DatagramSocket s, List<String> seen) {
        byte[] buf = new byte[512];
        while (!s.isClosed()) {
            DatagramPacket d = new DatagramPacket(buf, buf.length);
            try {
                s.receive(d);
                seen.add(new String(d.getData(), 0, d.getLength(), StandardCharsets.UTF_8).strip() + " from " + d.getAddress().getHostAddress());
            } catch (SocketTimeoutException e) {
                // keep listening
            } catch (java.io.IOException e) {
                return;
            }
        }
    }

    private static void awaitContains(List<String> seen, String line) throws InterruptedException {
        long deadline = System.nanoTime() + AWAIT.toNanos();
        while (!seen.contains(line)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("never received '" + line + "'; received " + seen);
            }
            Thread.sleep(10);
        }
    }

    /** Runs a client on the host until it prints {@code answer} (a listener just started may need a moment). */
    private static void awaitAnswer(String command, String answer) throws InterruptedException {
        long deadline = System.nanoTime() + AWAIT.toNanos();
        KernelSupport.Result r;
        while (!(r = KernelSupport.run(STEP, "bash", "-c", command)).out().contains(answer)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no '" + answer + "' from " + command + ": " + r);
            }
            Thread.sleep(50);
        }
    }
}
