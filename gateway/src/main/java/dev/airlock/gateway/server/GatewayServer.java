package dev.airlock.gateway.server;

import com.sun.net.httpserver.HttpServer;
import dev.airlock.gateway.audit.AuditLog;
import dev.airlock.gateway.dns.DnsAnswerer;
import dev.airlock.gateway.dns.DnsResponder;
import dev.airlock.gateway.proxy.Gateway;
import dev.airlock.gateway.proxy.GatewayLimits;
import dev.airlock.gateway.proxy.GatewayMetrics;
import dev.airlock.gateway.host.HostFactsService;
import dev.airlock.gateway.host.InterfaceAddresses;
import dev.airlock.gateway.registry.Sandbox;
import dev.airlock.gateway.registry.SandboxRegistry;
import dev.airlock.gateway.reload.PolicyReloader;
import dev.airlock.gateway.resolve.Resolver;
import dev.airlock.gateway.resolve.Resolvers;
import dev.airlock.policy.PolicyEngine;
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
 * the DNS responder, the audit log, {@code /metrics}, and policy hot reload. Everything is wired
 * here, by hand, in one place. {@code airlock gateway} runs it; the sandbox runtime will embed it.
 */
public final class GatewayServer implements AutoCloseable {

    /** How often the policy files are checked for changes. */
    private static final Duration RELOAD_POLL = Duration.ofSeconds(2);

    /**
     * @param sandboxAddresses link addresses whose connections (transparent, DNS) are this sandbox's
     */
    public record Options(Path policy, Optional<Path> org, Optional<Path> hosts, InetSocketAddress explicit,
            Optional<InetSocketAddress> transparent, Optional<InetSocketAddress> dns, Optional<InetSocketAddress> metrics,
            Path auditLog, boolean failOpen, List<IpAddress> sandboxAddresses, int ioThreads, GatewayLimits limits) {
    }

    private final List<AutoCloseable> resources = new ArrayList<>();
    private final List<String> endpoints = new ArrayList<>();
    private final PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private Gateway gateway;

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
        AuditLog audit = AuditLog.open(o.auditLog(), Clock.systemUTC(), AuditLog.Options.DEFAULTS, meters);
        resources.add(audit);
        gateway = new Gateway(new Gateway.Config(resolver, audit, new GatewayMetrics(meters), o.limits(), o.ioThreads(),
                o.failOpen(), o.policy().toString()), registry);
        resources.add(gateway);
        Sandbox sandbox = registry.register("local", engine.project(), o.sandboxAddresses(), engine);
        endpoints.add("explicit proxy  http://" + hostPort(gateway.explicitListener(o.explicit(), sandbox)));
        if (o.transparent().isPresent()) {
            endpoints.add("transparent     " + hostPort(gateway.transparentListener(o.transparent().get())));
        }
        if (o.dns().isPresent()) {
            DnsResponder dns = new DnsResponder(DnsResponder.Settings.defaults(o.dns().get()), registry,
                    new DnsAnswerer(resolver), audit);
            dns.start();
            resources.add(dns);
            endpoints.add("dns             " + o.dns().get().getAddress().getHostAddress() + ":" + dns.udpPort() + " (udp, tcp)");
        }
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
        endpoints.add("audit log       " + o.auditLog());
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
