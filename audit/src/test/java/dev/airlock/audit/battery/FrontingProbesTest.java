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
                      ports: [%d]
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

    private String tlsId() {
        return "fronting:connect-tls:cdn.test:" + front.port();
    }

    private String httpId() {
        return "fronting:connect-http:cdn.test:" + front.port();
    }

    @Test
    void plan_frontingProbesForTheAllowedNameAndThePort() {
        assertThat(probes).containsKeys(tlsId(), httpId(), "fronting:keep-alive:cdn.test:" + front.port(),
                "fronting:other-port-tls:cdn.test:" + front.port(), "fronting:other-port-http:cdn.test:" + front.port());
        assertThat(probes.values()).allSatisfy(p -> assertThat(p.control()).containsInstanceOf(LocalTarget.Exchange.class));
    }

    @Test
    void controls_theSameBytesSentStraightToTheFront_areAnswered() {
        for (Probe p : probes.values()) {
            ControlResult r = HostControls.check(p.control().orElseThrow());
            assertThat(r.reached()).as(p.id() + ": " + r.detail()).isTrue();
        }
        assertThat(front.seen).contains("tls api.prod.test", "http api.prod.test:" + front.port());
    }

    @Test
    void connectProbes_throughAirlock_areBlockedAndTheFrontSawNoProductionName() throws Exception {
        assertThat(run(probes.get(tlsId()).script())).startsWith("@result blocked");
        assertThat(run(probes.get(httpId()).script())).startsWith("@result blocked");
        assertThat(front.seen).isEmpty();
    }

    @Test
    void connectProbes_throughARelayThatDoesNotCheckTheTunnel_reportTheLeak() throws Exception {
        String tls = probes.get(tlsId()).script().replace("127.0.0.1 " + proxy.getPort(), "127.0.0.1 " + open.port());
        String http = probes.get(httpId()).script().replace("127.0.0.1 " + proxy.getPort(), "127.0.0.1 " + open.port());
        assertThat(run(tls)).startsWith("@result reached");
        assertThat(run(http)).startsWith("@result reached");
        assertThat(front.seen).containsExactly("tls api.prod.test", "http api.prod.test:" + front.port());
    }

    @Test
    void exchangeProbes_straightToTheFront_reportTheLeakTheyLookFor() throws Exception {
        // Without Airlock in the path (what the transparent path would be without the gate), the
        // keep-alive and other-port probes see the production answer; AuditBatteryIT runs them in a sandbox.
        String keepAlive = probes.get("fronting:keep-alive:cdn.test:" + front.port()).script().replace("exchange cdn.test", "exchange 127.0.0.1");
        String otherTls = probes.get("fronting:other-port-tls:cdn.test:" + front.port()).script().replace("exchange cdn.test", "exchange 127.0.0.1");
        assertThat(run(keepAlive)).startsWith("@result reached");
        assertThat(run(otherTls)).startsWith("@result reached");
        assertThat(front.seen).contains("http cdn.test:" + front.port(), "http api.prod.test:" + front.port(), "tls api.prod.test");
    }
}
