package dev.airlock.audit.battery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.audit.AuditSink;
import dev.airlock.gateway.proxy.Gateway;
import dev.airlock.gateway.proxy.GatewayLimits;
import dev.airlock.gateway.proxy.GatewayMetrics;
import dev.airlock.gateway.registry.Sandbox;
import dev.airlock.gateway.registry.SandboxRegistry;
import dev.airlock.gateway.resolve.HostsFile;
import dev.airlock.policy.HostFacts;
import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.ProductionAddresses;
import dev.airlock.policy.address.HostAddresses;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.address.AddressClassifier;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import java.io.IOException;
import java.io.InputStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The probes for an allowed name that answers a host address, and for a production address (by IP
 * literal and through an allowed name), shown to fail when their protection is switched off
 * (issue 15, "In every case"; issue 18). On loopback, without a sandbox: the probes' own scripts
 * (lib.sh) and {@link Verdict}, against Airlock's explicit proxy over an engine that knows the
 * host's addresses or the production names' addresses (the protection on), and over the same
 * engine without them ({@link HostFacts#NONE}: the protection off). The target is one listener on
 * one of this host's own addresses that a project may open (loopback never counts as a host
 * address: it is closed already), which the policy opens by a cidr rule, so only the protection
 * under test stands between the probe and it; the allowed name and the production name both
 * answer that address (hosts map, no DNS). Connections to it are delivered inside this host and
 * never leave it. The target's own log says whether a probe's request arrived. The transparent-path
 * scripts need a sandbox (AuditBatteryIT); here the gateway's transparent decision for the same
 * name and port is shown to flip, and the script, sent straight to the target, to report the leak.
 */
class HostAndProductionAddressProbesTest {

    private static final String MARKER = "host-service-marker";
    /** This host's own address the target listens on, and the name of the same in the probes' ids and scripts. */
    private IpAddress own;
    private String h;

    @TempDir
    Path dir;
    private Target target;
    private Gateway gateway;
    private OrgPolicy org;
    /** The explicit proxy of a sandbox whose engine knows the host's addresses (and nothing of production). */
    private Sandbox hostOn;
    private int hostOnProxy;
    /** Knows the production names' addresses (and not the host's). */
    private Sandbox productionOn;
    private int productionOnProxy;
    /** Knows neither: both protections off. */
    private Sandbox off;
    private int offProxy;
    private int plannedProxy;
    private Map<String, Probe> probes;

    /** The host's service: answers any request with its marker, and logs each request line. */
    static final class Target implements AutoCloseable {
        final ServerSocket server;
        final List<String> seen = new CopyOnWriteArrayList<>();

        Target(String address) throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getByName(address));
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

        private void serve(Socket s) {
            try (s) {
                s.setSoTimeout(5000);
                InputStream in = s.getInputStream();
                StringBuilder head = new StringBuilder();
                int b;
                while (head.indexOf("\r\n\r\n") < 0 && (b = in.read()) >= 0) {
                    head.append((char) b);
                }
                seen.add(head.toString().strip());
                s.getOutputStream().write(("HTTP/1.0 200 OK\r\nContent-Length: " + (MARKER.length() + 1) + "\r\n\r\n" + MARKER + "\n")
                        .getBytes(StandardCharsets.US_ASCII));
            } catch (IOException e) {
                // the client or the gateway closed the connection
            }
        }

        int port() {
            return server.getLocalPort();
        }

        /** The requests of probes: each names a Host; the positive controls send none. */
        List<String> requests() {
            return seen.stream().filter(r -> r.toLowerCase(java.util.Locale.ROOT).contains("\nhost:")).toList();
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    @BeforeEach
    void start() throws Exception {
        own = ownAddress();
        h = own.toString();
        target = new Target(h);
        int t = target.port();
        // The cidr rule opens loopback on the target's port: without the host-address and production
        // protections, nothing else keeps the allowed name (or the address) from the target.
        String policy = """
                version: 1
                project: addresses
                network:
                  allow:
                    - host: cdn.test
                      ports: [%d]
                    - cidr: %s/32
                      ports: [%d]
                """.formatted(t, h, t);
        ProjectPolicy project = PolicyFiles.loadProject(Files.writeString(dir.resolve("airlock.yaml"), policy));
        org = PolicyFiles.loadOrg(Files.writeString(dir.resolve("org.yaml"), "version: 1\nproduction:\n  - api.prod.test\n"));
        HostAddresses host = new HostAddresses(Set.of(own));
        ProductionAddresses production = new ProductionAddresses(Map.of(own, org.production().get(0)));

        gateway = new Gateway(new Gateway.Config(HostsFile.parse("hosts", h + " cdn.test api.prod.test\n"), AuditSink.discarding(),
                GatewayMetrics.inMemory(), GatewayLimits.DEFAULT, 1, false, "airlock.yaml"), new SandboxRegistry());
        hostOn = gateway.registry().register("sbx-host-on", "addresses", List.of(),
                PolicyEngine.compile(project, org, Phase.RUN, List.of(), HostFacts.of(host, ProductionAddresses.NONE)));
        productionOn = gateway.registry().register("sbx-production-on", "addresses", List.of(),
                PolicyEngine.compile(project, org, Phase.RUN, List.of(), HostFacts.of(HostAddresses.NONE, production)));
        off = gateway.registry().register("sbx-off", "addresses", List.of(),
                PolicyEngine.compile(project, org, Phase.RUN, List.of(), HostFacts.NONE));
        hostOnProxy = gateway.explicitListener(new InetSocketAddress("127.0.0.1", 0), hostOn).getPort();
        productionOnProxy = gateway.explicitListener(new InetSocketAddress("127.0.0.1", 0), productionOn).getPort();
        offProxy = gateway.explicitListener(new InetSocketAddress("127.0.0.1", 0), off).getPort();

        // As the audit plans them on a host whose own address the allowed name and the production name both answer.
        plannedProxy = 1;
        BatteryContext context = new BatteryContext(project, org, AuditRunner.allowRules(project, org), List.of(),
                n -> n.equals("cdn.test") || n.equals("api.prod.test") ? List.of(h) : List.of(), "127.0.0.1", "127.0.0.2",
                "127.0.0.3", "127.0.0.4", 1, 2, plannedProxy, new LocalTarget.Tcp(h, t, MARKER),
                new LocalTarget.Tcp("127.0.0.1", 1, "M"), new LocalTarget.Udp("127.0.0.1", 1, "M"), List.of(), Optional.empty(),
                List.of(h));
        probes = Battery.plan(context, Battery.Scope.FULL).stream()
                .filter(p -> p.id().startsWith("host-address:") || p.id().startsWith("production-address:"))
                .collect(Collectors.toMap(Probe::id, p -> p));
    }

    /**
     * An IPv4 address of one of this host's interfaces that a project could open by a cidr rule
     * (public or private space), as the host-address protection guards: a sandbox must not reach the
     * host's own services through it. Without one (a host with loopback only) the test cannot show
     * anything, and says so. Airlock's own links are skipped: they come and go with sandboxes.
     */
    private static IpAddress ownAddress() throws IOException {
        AddressClassifier classes = new AddressClassifier(List.of());
        for (NetworkInterface i : java.util.Collections.list(NetworkInterface.getNetworkInterfaces())) {
            if (!i.isUp() || i.getName().startsWith("alk")) {
                continue; // a sandbox's link: other tests and runs create and remove them at any moment
            }
            for (InetAddress a : java.util.Collections.list(i.getInetAddresses())) {
                if (a instanceof Inet4Address) {
                    IpAddress ip = IpAddress.fromBytes(a.getAddress());
                    if (classes.classify(ip).projectCanOpen()) {
                        return ip;
                    }
                }
            }
        }
        Assumptions.abort("this host has no IPv4 address outside loopback, link-local and reserved space to listen on");
        throw new AssertionError("unreachable");
    }

    @AfterEach
    void stop() throws IOException {
        gateway.close();
        target.close();
    }

    private String hostProxy() {
        return "host-address:cdn.test@" + h + ":proxy";
    }

    private String hostTransparent() {
        return "host-address:cdn.test@" + h + ":transparent";
    }

    private String productionProxy() {
        return "production-address:cdn.test@" + h + ":" + target.port() + ":proxy";
    }

    private String productionTransparent() {
        return "production-address:cdn.test@" + h + ":" + target.port() + ":transparent";
    }

    private String byIpProxy() {
        return "production-address:api.prod.test@" + h + ":80:ip:proxy";
    }

    private String byIp() {
        return "production-address:api.prod.test@" + h + ":80:ip";
    }

    /**
     * The probe's script with its port 80 (the IP-literal probes) moved to the target's port, and
     * aimed at {@code proxyPort} instead of the proxy port it was planned with.
     */
    private String script(String id, int proxyPort) {
        Probe p = probe(id);
        int t = target.port();
        return p.script().replace("proxied 127.0.0.1 " + plannedProxy + " ", "proxied 127.0.0.1 " + proxyPort + " ")
                .replace("'http://" + h + "/'", "'http://" + h + ":" + t + "/'").replace("'" + h + ":80'", "'" + h + ":" + t + "'")
                .replace("tcp " + h + " 80 ", "tcp " + h + " " + t + " ");
    }

    private Probe probe(String id) {
        Probe p = probes.get(id);
        assertThat(p).as(id + " among " + probes.keySet()).isNotNull();
        return p;
    }

    /** The probe's positive control, on the target's port. */
    private ControlResult control(String id) {
        LocalTarget.Tcp c = (LocalTarget.Tcp) probe(id).control().orElseThrow();
        return HostControls.check(new LocalTarget.Tcp(c.address(), target.port(), c.marker()));
    }

    /** Runs {@code script} with bash on this host, lib.sh beside it, and judges it as the audit does. */
    private Verdict.Judged judge(String id, String script) throws Exception {
        try (InputStream lib = Battery.class.getResourceAsStream("lib.sh")) {
            Files.write(dir.resolve("lib.sh"), lib.readAllBytes());
        }
        String body = script.replace(". /workspace/lib.sh", ". " + dir.resolve("lib.sh"));
        Process p = new ProcessBuilder("bash", "-c", body).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return Verdict.judge(probe(id), Outcome.parse(p.exitValue(), out), Optional.of(control(id)), List.of());
    }

    @Test
    void plan_probesTheAllowedNameByBothPaths_andTheProductionAddressByIpAndThroughTheName() {
        assertThat(probes).containsOnlyKeys(hostProxy(), hostTransparent(), productionProxy(), productionTransparent(), byIpProxy(),
                byIp());
        assertThat(probes.values()).allSatisfy(p -> assertThat(p.expect()).isEqualTo(Expect.BLOCKED));
    }

    @Test
    void controls_theTargetAnswersFromTheHost() {
        for (String id : probes.keySet()) {
            ControlResult r = control(id);
            assertThat(r.reached()).as(id + ": " + r.detail()).isTrue();
        }
    }

    @Test
    void hostAddressProbe_passesWithTheHostsAddressesKnown_andFailsWithoutThem() throws Exception {
        Verdict.Judged on = judge(hostProxy(), script(hostProxy(), hostOnProxy));
        assertThat(on.status()).as(on.observed()).isEqualTo(Status.PASS);
        assertThat(on.observed()).contains("host-address");
        assertThat(target.requests()).as("the target saw no probe").isEmpty();

        Verdict.Judged offVerdict = judge(hostProxy(), script(hostProxy(), offProxy));
        assertThat(offVerdict.status()).as(offVerdict.observed()).isEqualTo(Status.FAIL);
        assertThat(offVerdict.observed()).contains(MARKER);
        assertThat(target.requests()).as("the target saw the probe").hasSize(1);
    }

    @Test
    void productionAddressProbes_passWithTheProductionAddressesKnown_andFailWithoutThem() throws Exception {
        for (String id : List.of(productionProxy(), byIpProxy())) {
            Verdict.Judged on = judge(id, script(id, productionOnProxy));
            assertThat(on.status()).as(id + ": " + on.observed()).isEqualTo(Status.PASS);
            assertThat(on.observed()).as(id).contains("production");
        }
        assertThat(target.requests()).as("the target saw no probe").isEmpty();

        for (String id : List.of(productionProxy(), byIpProxy())) {
            Verdict.Judged offVerdict = judge(id, script(id, offProxy));
            assertThat(offVerdict.status()).as(id + ": " + offVerdict.observed()).isEqualTo(Status.FAIL);
        }
        assertThat(target.requests()).hasSize(2);
    }

    @Test
    void transparentProbes_theGatewaysDecisionFlipsWithTheProtection_andTheScriptStraightToTheTargetFails() throws Exception {
        int t = target.port();
        assertThat(transparentAllows(hostOn, "cdn.test", t)).as("host addresses known").isFalse();
        assertThat(transparentAllows(productionOn, "cdn.test", t)).as("production addresses known").isFalse();
        assertThat(transparentAllows(productionOn, h, t)).as("production address by IP").isFalse();
        assertThat(transparentAllows(off, "cdn.test", t)).as("protection off").isTrue();
        assertThat(transparentAllows(off, h, t)).as("protection off, by IP").isTrue();

        // Without Airlock in the path (a sandbox whose traffic is not decided), each script reports the leak.
        for (String id : List.of(hostTransparent(), productionTransparent(), byIp())) {
            String straight = script(id, offProxy).replace("tcp cdn.test ", "tcp " + h + " ");
            Verdict.Judged v = judge(id, straight);
            assertThat(v.status()).as(id + ": " + v.observed()).isEqualTo(Status.FAIL);
        }
        assertThat(target.requests()).hasSize(3);
    }

    private boolean transparentAllows(Sandbox sandbox, String host, int port) throws Exception {
        return gateway.authorizer().authorize(sandbox, AuditEvent.Via.TRANSPARENT, "127.0.0.1:40000", host, port)
                .get(10, TimeUnit.SECONDS).allowed();
    }
}
