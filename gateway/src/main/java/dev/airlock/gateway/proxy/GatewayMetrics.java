package dev.airlock.gateway.proxy;

import dev.airlock.policy.Decision;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The gateway's metrics with the names of DESIGN.md §2 ({@code airlock_} prefix in Prometheus).
 * Label values are bounded: projects are validated names, decisions and reasons are enums.
 */
public final class GatewayMetrics {

    private final MeterRegistry registry;
    private final ConcurrentHashMap<String, Counter> decisions = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, AtomicInteger> active = new ConcurrentHashMap<>();

    public GatewayMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    /** Metrics kept in memory only (tests, CLI). */
    public static GatewayMetrics inMemory() {
        return new GatewayMetrics(new SimpleMeterRegistry());
    }

    public MeterRegistry registry() {
        return registry;
    }

    public void decided(String project, Decision d) {
        String decision = d.allowed() ? "allow" : "deny";
        String key = project + '\u0000' + decision + '\u0000' + d.reason().code;
        decisions.computeIfAbsent(key, k -> Counter.builder("airlock.egress.decisions")
                .description("Egress decisions by project, decision and reason")
                .tag("project", project).tag("decision", decision).tag("reason", d.reason().code)
                .register(registry)).increment();
    }

    public AtomicInteger active(String project) {
        return active.computeIfAbsent(project, p -> {
            AtomicInteger n = new AtomicInteger();
            Gauge.builder("airlock.egress.connections.active", n, AtomicInteger::get)
                    .description("Open egress connections by project").tag("project", p).register(registry);
            return n;
        });
    }

    public double decisionCount(String project, String decision, String reason) {
        Counter c = decisions.get(project + '\u0000' + decision + '\u0000' + reason);
        return c == null ? 0 : c.count();
    }
}
