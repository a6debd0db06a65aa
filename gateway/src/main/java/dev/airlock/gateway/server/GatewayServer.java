package dev.airlock.gateway.server;

import com.sun.net.httpserver.HttpServer;
import dev.airlock.gateway.audit.AuditForwarder;
import dev.airlock.gateway.audit.AuditLog;
import dev.airlock.gateway.audit.HttpIngestClient;
import dev.airlock.gateway.proxy.GatewayLimits;
import dev.airlock.gateway.proxy.GatewayMetrics;
import dev.airlock.gateway.proxy.RelayMode;
import dev.airlock.gateway.host.HostFactsService;
import dev.airlock.gateway.host.InterfaceAddresses;
import dev.airlock.gateway.registry.Sandbox;
import dev.airlock.gateway.registry.SandboxRegistry;
import dev.airlock.gateway.reload.PolicyReloader;
import dev.airlock.gateway.resolve.Resolver;
import dev.airlock.gateway.resolve.Resolvers;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A gateway process for one project: the explicit proxy, optionally the transparent listener and
 * the DNS responder, the audit log, {@code /metrics}, and policy hot reload. The gateway itself is
 * a {@link GatewayStack}, as in every other process; this class adds what only {@code airlock gateway}
 * has: the policy files followed from disk, the production names kept resolved, and {@code /metrics}.
 */
public final class GatewayServer implements AutoCloseable {

    /** How often the policy files are checked for changes. */
    private static final Duration RELOAD_POLL = Duration.ofSeconds(2);
    /**
     * @param sandboxAddresses link addresses whose connections (transparent, DNS) are this sandbox's
     * @param dnsClients address ranges whose DNS queries are this sandbox's too (a cluster's pod CIDR); none: only the link addresses
     */
    public record Options(Path policy, Optional<Path> org, Optional<Path> hosts, InetSocketAddress explicit,
            Optional<InetSocketAddress> transparent, Optional<InetSocketAddress> dns, Optional<InetSocketAddress> metrics,
            Path auditLog, boolean failOpen, List<IpAddress> sandboxAddresses, int ioThreads, GatewayLimits limits, List<Cidr> dnsClients,
            Optional<AuditForward> auditForward) {

        /** Without forwarding: the audit log stays in its file. */
        public Options(Path policy, Optional<Path> org, Optional<Path> hosts, InetSocketAddress explicit,
                Optional<InetSocketAddress> transparent, Optional<InetSocketAddress> dns, Optional<InetSocketAddress> metrics,
                Path auditLog, boolean failOpen, List<IpAddress> sandboxAddresses, int ioThreads, GatewayLimits limits, List<Cidr> dnsClients) {
            this(policy, org, hosts, explicit, transparent, dns, metrics, auditLog, failOpen, sandboxAddresses, ioThreads, limits, dnsClients,
                    Optional.empty());
        }

        /** Without DNS client ranges. */
        public Options(Path policy, Optional<Path> org, Optional<Path> hosts, InetSocketAddress explicit,
                Optional<InetSocketAddress> transparent, Optional<InetSocketAddress> dns, Optional<InetSocketAddress> metrics,
                Path auditLog, boolean failOpen, List<IpAddress> sandboxAddresses, int ioThreads, GatewayLimits limits) {
            this(policy, org, hosts, explicit, transparent, dns, metrics, auditLog, failOpen, sandboxAddresses, ioThreads, limits, List.of());
        }
    }

    /**
     * Forwarding of the audit log to the daemon's chain ({@link AuditForwarder}).
     *
     * @param url       the daemon's ingest endpoint
     * @param tokenFile the project's ingest token (a mounted Secret), read at every send
     * @param caFile    the CA certificate(s) the daemon's ingest certificate must chain to, and the only ones trusted
     * @param source    this gateway's name in the daemon's chain (the pod's name)
     */
    public record AuditForward(java.net.URI url, Path tokenFile, Path caFile, String source) {
    }

    private final List<AutoCloseable> resources = new ArrayList<>();
    private final List<String> endpoints = new ArrayList<>();
    private final PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private GatewayServer() {
    }

    public static GatewayServer start(Options o, PrintStream err) throws PolicyException, IOException, InterruptedException {
        GatewayServer s = new GatewayServer();
        try {
            s.wire(o, err);
            return s;
        } catch (PolicyException | IOException | InterruptedException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    private void wire(Options o, PrintStream err) throws PolicyException, IOException, InterruptedException {
        SandboxRegistry registry = new SandboxRegistry();
        Resolver resolver = Resolvers.cached(o.hosts());
        // Production names are resolved and kept current; a reload that changes them resolves the
        // new ones before the new engine takes over (their names are denied by the engine itself).
        OrgPolicy org = PolicyFiles.loadOrg(o.org());
        HostFactsService facts = HostFactsService.start(InterfaceAddresses.SYSTEM, org.production(), resolver, err);
        resources.add(facts);
        PolicyReloader reloader = new PolicyReloader(o.policy(), o.org(), List.of(), facts.facts(), meters, err, Optional::empty,
                l -> {
                    facts.production(l.org().production());
                    registry.updatePolicy(l.engine().project(), l.engine());
                });
        PolicyEngine engine = reloader.loadInitial();
        Sandbox sandbox = registry.register("local", engine.project(), o.sandboxAddresses(), engine);
        o.dnsClients().forEach(range -> registry.addDnsClients("local", range));
        AuditLog auditLog = AuditLog.open(o.auditLog(), Clock.systemUTC(), AuditLog.Options.DEFAULTS, meters);
        GatewayStack.Builder b = GatewayStack.builder(resolver, auditLog, new GatewayMetrics(meters))
                .registry(registry).limits(o.limits()).ioThreads(o.ioThreads()).failOpen(o.failOpen()).policyLabel(o.policy().toString())
                .explicit(o.explicit(), sandbox);
        o.transparent().ifPresent(b::transparent);
        o.dns().ifPresent(b::dns);
        GatewayStack stack = b.start();
        resources.add(stack);
        endpoints.add("explicit proxy  http://" + hostPort(stack.explicitAddress().orElseThrow()));
        stack.transparentAddress().ifPresent(a -> endpoints.add("transparent     " + hostPort(a)));
        stack.dnsAddress().ifPresent(a -> endpoints.add("dns             " + o.dns().orElseThrow().getAddress().getHostAddress() + ":"
                + a.getPort() + " (udp, tcp)"));
        if (o.metrics().isPresent()) {
            HttpServer http = HttpServer.create(o.metrics().get(), 16);
            http.createContext("/metrics", ex -> {
                byte[] body = meters.scrape().getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
                ex.sendResponseHeaders(200, body.length);
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(body);
                }
            });
            http.start();
            resources.add(() -> http.stop(0));
            endpoints.add("metrics         http://" + hostPort(http.getAddress()) + "/metrics");
        }
        ScheduledExecutorService poll = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "airlock-policy-reload");
            t.setDaemon(true);
            return t;
        });
        poll.scheduleWithFixedDelay(reloader::reloadIfChanged, RELOAD_POLL.toMillis(), RELOAD_POLL.toMillis(), TimeUnit.MILLISECONDS);
        resources.add(poll::shutdownNow);
        RelayMode relay = RelayMode.current();
        endpoints.add((relay.degraded() ? "relay (slower)  " : "relay           ") + relay.line());
        endpoints.add("audit log       " + o.auditLog());
        if (o.auditForward().isPresent()) {
            AuditForward f = o.auditForward().get();
            resources.add(AuditForwarder.start(o.auditLog(), f.source(), new HttpIngestClient(f.url(), f.tokenFile(), f.caFile()), auditLog, meters, err));
            endpoints.add("audit forwarded " + f.url() + " as " + f.source() + " (TLS, trusting only the CA in " + f.caFile() + ")");
        }
    }

    private static String hostPort(InetSocketAddress a) {
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    public List<String> endpoints() {
        return List.copyOf(endpoints);
    }

    public PrometheusMeterRegistry meters() {
        return meters;
    }

    @Override
    public void close() {
        for (int i = resources.size() - 1; i >= 0; i--) {
            try {
                resources.get(i).close();
            } catch (Exception e) {
                System.err.println("airlock: while stopping: " + e);
            }
        }
        resources.clear();
    }
}
