package dev.airlock.audit.battery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.gateway.audit.AuditSink;
import dev.airlock.gateway.proxy.Gateway;
import dev.airlock.gateway.proxy.GatewayLimits;
import dev.airlock.gateway.proxy.GatewayMetrics;
import dev.airlock.gateway.registry.Sandbox;
import dev.airlock.gateway.registry.SandboxRegistry;
import dev.airlock.gateway.resolve.HostsFile;
import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fronting probes' own scripts (lib.sh), run on this host against a shared front on loopback:
 * through Airlock's explicit proxy they report "blocked"; through a CONNECT relay that does not
 * check the bytes in its tunnels (the protection switched off) they report "reached", and the
 * front's log shows the production name arrived. Their positive controls reach the front.
 * The transparent-path probes run in AuditBatteryIT, inside a real sandbox.
 */
class FrontingProbesTest {

    @TempDir
    Path dir;
    private Front front;
    private Gateway gateway;
    private InetSocketAddress proxy;
    private OpenRelay open;
    private Map<String, Probe> probes;

    /** A shared front: TLS for any SNI (answers an alert after logging it), HTTP/1.1 keep-alive for any Host. */
    static final class Front implements AutoCloseable {
        final ServerSocket server;
        final List<String> seen = new CopyOnWriteArrayList<>();

        Front() throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread.ofPlatform().daemon().start(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket s = server.accept();
                        Thread.ofVirtual().start(() -> serve(s));
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        int port() {
            return server.getLocalPort();
        }

        private void serve(Socket s) {
            try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                byte[] buf = new byte[16384];
                int n = in.read(buf);
                if (n <= 0) {
                    return;
                }
                if (buf[0] == 0x16) {
                    // Like a real TLS server, read the whole first record before answering.
                    while (n < 5 || n < 5 + ((buf[3] & 0xFF) << 8 | buf[4] & 0xFF)) {
                        int more = in.read(buf, n, buf.length - n);
                        if (more <= 0) {
                            return;
                        }
                        n += more;
                    }
                }
                String text = new String(buf, 0, n, StandardCharsets.ISO_8859_1);
                if (buf[0] == 0x16) {
                    seen.add("tls " + (text.contains("api.prod.test") ? "api.prod.test" : text.contains("cdn.test") ? "cdn.test" : "?"));
                    out.write(new byte[] {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28});
                    return;
                }
                // One read may hold several pipelined heads: answer each Host line in order.
                StringBuilder pending = new StringBuilder(text);
                while (true) {
                    int end;
                    while ((end = pending.indexOf("\r\n\r\n")) >= 0) {
                        String head = pending.substring(0, end);
                        pending.delete(0, end + 4);
                        String host = head.lines().filter(l -> l.regionMatches(true, 0, "Host:", 0, 5)).findFirst().orElse("Host: -")
                                .substring(5).trim();
                        seen.add("http " + host);
                        out.write("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n".getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                    }
                    n = in.read(buf);
                    if (n <= 0) {
                        return;
                    }
                    pending.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
                }
            } catch (IOException e) {
                // the client or the gateway closed the connection
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    /** A CONNECT relay to the front that relays whatever the tunnel carries: no protocol gate. */
    static final class OpenRelay implements AutoCloseable {
        final ServerSocket server;

        OpenRelay(int frontPort) throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread.ofPlatform().daemon().start(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket c = server.accept();
                        Thread.ofVirtual().start(() -> relay(c, frontPort));
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        private static void relay(Socket c, int frontPort) {
            try (c; Socket up = new Socket(InetAddress.getLoopbackAddress(), frontPort)) {
                InputStream in = c.getInputStream();
                int matched = 0;
                while (matched < 4) {
                    int b = in.read();
                    if (b < 0) {
                        return;
                    }
                    matched = b == "\r\n\r\n".charAt(matched) ? matched + 1 : b == '\r' ? 1 : 0;
                }
                c.getOutputStream().write("HTTP/1.1 200 Connection established\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                Thread t = Thread.ofVirtual().start(() -> {
                    try {
                        up.getInputStream().transferTo(c.getOutputStream());
                    } catch (IOException e) {
                        // closed
                    }
                });
                in.transferTo(up.getOutputStream());
                t.join(5000);
            } catch (IOException | InterruptedException e) {
                // closed
            }
        }

        int port() {
            return server.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    @BeforeEach
    void start() throws Exception {
        front = new Front();
        open = new OpenRelay(front.port());
        String policy = """
                version: 1
                project: fronting
                network:
                  allow:
                    - host: cdn.test
                      ports: [80, 443, 8000, 9443, %d]
                    - cidr: 127.0.0.1/32
                      ports: [%d]
                """.formatted(front.port(), front.port());
        String org = "version: 1\nproduction:\n  - api.prod.test\n";
        ProjectPolicy project = PolicyFiles.loadProject(Files.writeString(dir.resolve("airlock.yaml"), policy));
        OrgPolicy o = PolicyFiles.loadOrg(Files.writeString(dir.resolve("org.yaml"), org));
        PolicyEngine engine = PolicyEngine.compile(project, o, Phase.RUN, List.of());
        gateway = new Gateway(new Gateway.Config(HostsFile.parse("hosts", "127.0.0.1 cdn.test api.prod.test\n"), AuditSink.discarding(),
                GatewayMetrics.inMemory(), GatewayLimits.DEFAULT, 1, false, "airlock.yaml"), new SandboxRegistry());
        Sandbox sandbox = gateway.registry().register("sbx-probe", "fronting", List.of(), engine);
        proxy = gateway.explicitListener(new InetSocketAddress("127.0.0.1", 0), sandbox);
        BatteryContext context = new BatteryContext(project, o, AuditRunner.allowRules(project, o), List.of(),
                n -> n.equals("cdn.test") ? List.of("127.0.0.1") : List.of(), "127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4",
                1, 2, proxy.getPort(), new LocalTarget.Tcp("127.0.0.1", 1, "M"), new LocalTarget.Tcp("127.0.0.1", 1, "M"),
                new LocalTarget.Udp("127.0.0.1", 1, "M"), List.of(), java.util.Optional.empty());
        probes = Battery.plan(context, Battery.Scope.FULL).stream().filter(p -> p.category().equals("fronting"))
                .collect(Collectors.toMap(Probe::id, p -> p));
    }

    @AfterEach
    void stop() throws IOException {
        gateway.close();
        open.close();
        front.close();
    }

    /**
     * The probe's script aimed at the front's port instead of the port it names (the front cannot
     * listen on 443 here): CONNECT targets and direct exchanges alike.
     */
    private String retarget(String id) {
        Probe p = probes.get(id);
        assertThat(p).as(id).isNotNull();
        String port = id.substring(id.lastIndexOf(':') + 1);
        return p.script().replace("cdn.test:" + port + " ", "cdn.test:" + front.port() + " ")
                .replace("exchange cdn.test " + port + " ", "exchange 127.0.0.1 " + front.port() + " ");
    }

    private LocalTarget.Exchange control(String id) {
        LocalTarget.Exchange x = (LocalTarget.Exchange) probes.get(id).control().orElseThrow();
        return new LocalTarget.Exchange(x.address(), front.port(), x.payloadHex(), x.expect());
    }

    /** Runs a probe's script with bash on this host, lib.sh beside it; returns its last @result line. */
    private String run(String script) throws Exception {
        try (InputStream lib = Battery.class.getResourceAsStream("lib.sh")) {
            Files.write(dir.resolve("lib.sh"), lib.readAllBytes());
        }
        String body = script.replace(". /workspace/lib.sh", ". " + dir.resolve("lib.sh"));
        Process p = new ProcessBuilder("bash", "-c", body).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return out.lines().filter(l -> l.startsWith("@result ")).reduce((a, b) -> b).orElse("no @result: " + out);
    }

    private static final String TLS = "fronting:connect-tls:cdn.test:443";
    private static final String HTTP = "fronting:connect-http:cdn.test:80";
    private static final String KEEP_ALIVE = "fronting:keep-alive:cdn.test:80";
    private static final String OTHER_TLS = "fronting:other-port-tls:cdn.test:9443";
    private static final String OTHER_HTTP = "fronting:other-port-http:cdn.test:8000";

    @Test
    void plan_oneProbeOfEachKindOnThePortsThePolicyAllows() {
        assertThat(probes).containsOnlyKeys(TLS, HTTP, KEEP_ALIVE, OTHER_TLS, OTHER_HTTP);
        assertThat(probes.values()).allSatisfy(p -> assertThat(p.control()).containsInstanceOf(LocalTarget.Exchange.class));
    }

    @Test
    void controls_theSameBytesSentStraightToTheFront_areAnswered() {
        for (String id : probes.keySet()) {
            ControlResult r = HostControls.check(control(id));
            assertThat(r.reached()).as(id + ": " + r.detail()).isTrue();
        }
        assertThat(front.seen).contains("tls api.prod.test", "http api.prod.test", "http cdn.test", "http api.prod.test:8000");
    }

    @Test
    void connectProbes_throughAirlock_areBlockedAndTheFrontSawNoProductionName() throws Exception {
        assertThat(run(retarget(TLS))).startsWith("@result blocked");
        assertThat(run(retarget(HTTP))).startsWith("@result blocked");
        assertThat(front.seen).isEmpty();
    }

    @Test
    void connectProbes_throughARelayThatDoesNotCheckTheTunnel_reportTheLeak() throws Exception {
        String open = "127.0.0.1 " + this.open.port();
        assertThat(run(retarget(TLS).replace("127.0.0.1 " + proxy.getPort(), open))).startsWith("@result reached");
        assertThat(run(retarget(HTTP).replace("127.0.0.1 " + proxy.getPort(), open))).startsWith("@result reached");
        assertThat(front.seen).containsExactly("tls api.prod.test", "http api.prod.test");
    }

    @Test
    void exchangeProbes_straightToTheFront_reportTheLeakTheyLookFor() throws Exception {
        // Without Airlock in the path (the transparent path without the gate), the keep-alive and
        // other-port probes see the production answer; AuditBatteryIT runs them in a real sandbox.
        assertThat(run(retarget(KEEP_ALIVE))).startsWith("@result reached");
        assertThat(run(retarget(OTHER_TLS))).startsWith("@result reached");
        assertThat(run(retarget(OTHER_HTTP))).startsWith("@result reached");
        assertThat(front.seen).contains("http cdn.test", "http api.prod.test", "tls api.prod.test", "http api.prod.test:8000");
    }
}
