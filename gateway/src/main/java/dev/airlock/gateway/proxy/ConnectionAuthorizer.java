package dev.airlock.gateway.proxy;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.audit.AuditSink;
import dev.airlock.gateway.decide.ResolvingDecider;
import dev.airlock.gateway.registry.Sandbox;
import dev.airlock.gateway.resolve.Resolver;
import dev.airlock.policy.Decision;
import dev.airlock.policy.EgressRequest;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.Printable;
import dev.airlock.policy.Reason;
import dev.airlock.policy.Verdict;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.model.Rule;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides one connection end to end: the name gate inline (pure and fast), resolution off the event
 * loop on a bounded executor, the address gate, the tunnel limits, and the audit record.
 *
 * <p>Design: the decision is recorded <em>before</em> anything is dialled. If the audit sink cannot
 * take the record, the connection is denied with {@code fail-closed} (unless the operator chose
 * fail-open), so no allowed connection is ever unrecorded. An allowed connection holds a
 * {@link Tunnel}; closing it releases the limits and records the close with bytes and duration.
 */
public final class ConnectionAuthorizer {

    private static final Logger LOG = LoggerFactory.getLogger(ConnectionAuthorizer.class);

    private final Resolver resolver;
    private final AuditSink audit;
    private final GatewayMetrics metrics;
    private final GatewayLimits limits;
    private final Executor resolveExecutor;
    private final boolean failOpen;
    private final AtomicInteger totalTunnels = new AtomicInteger();

    public ConnectionAuthorizer(Resolver resolver, AuditSink audit, GatewayMetrics metrics, GatewayLimits limits,
            Executor resolveExecutor, boolean failOpen) {
        this.resolver = resolver;
        this.audit = audit;
        this.metrics = metrics;
        this.limits = limits;
        this.resolveExecutor = resolveExecutor;
        this.failOpen = failOpen;
    }

    /** The outcome: a decision, and for an allow the tunnel that must be closed exactly once. */
    public record Authorization(Decision decision, PolicyEngine engine, Tunnel tunnel) {
        public boolean allowed() {
            return decision.allowed() && tunnel != null;
        }
    }

    /** Completes on the resolver's thread or the caller's; never exceptionally. */
    public CompletableFuture<Authorization> authorize(Sandbox sandbox, AuditEvent.Via via, String client, String host, int port) {
        PolicyEngine engine = sandbox.engine();
        return switch (engine.screen(host, port)) {
            case PolicyEngine.Screening.Final f -> CompletableFuture.completedFuture(admit(sandbox, engine, via, client, f.decision()));
            case PolicyEngine.Screening.Resolve r -> {
                // A fresh cached answer is decided right here: no thread hand-off for the common case.
                if (resolver instanceof dev.airlock.gateway.resolve.CachingResolver cache) {
                    dev.airlock.gateway.resolve.Resolution hit = cache.peek(r.name());
                    if (hit != null) {
                        yield CompletableFuture.completedFuture(admit(sandbox, engine, via, client,
                                ResolvingDecider.decide(engine, r.name(), port, hit)));
                    }
                }
                try {
                    yield CompletableFuture.supplyAsync(
                                    () -> new ResolvingDecider(engine, resolver).decide(r.name(), port).decision(), resolveExecutor)
                            .exceptionally(t -> Decision.denied(Reason.DNS_FAILURE, r.name(), port, "resolution failed: " + t))
                            .thenApply(d -> admit(sandbox, engine, via, client, d));
                } catch (RejectedExecutionException e) {
                    yield CompletableFuture.completedFuture(admit(sandbox, engine, via, client,
                            Decision.denied(Reason.LIMIT, r.name(), port, "too many name resolutions in flight")));
                }
            }
        };
    }

    /**
     * A refusal by the dial-time check ({@link UpstreamDialer.DialRefused}): the allow already
     * recorded is followed by a deny record of its own (reason {@code dial-refused}), counted and
     * logged, then the tunnel is closed with 0 bytes. Without this the log would show an allow and
     * an empty close, and nothing would say why.
     */
    Authorization refuseAtDial(Tunnel tunnel, Decision refusal) {
        LOG.warn("dial-time check refused {}:{} for sandbox {} (project {}, via {}, client {}): {}",
                Printable.escape(refusal.target()), refusal.port(), tunnel.sandbox.id(), tunnel.sandbox.project(),
                tunnel.via, tunnel.client, Printable.escape(refusal.detail()));
        Authorization denied = admit(tunnel.sandbox, tunnel.sandbox.engine(), tunnel.via, tunnel.client, refusal);
        tunnel.close(0, 0);
        return denied;
    }

    /** Decides a connection whose name the gateway already knows (transparent path, SNI checks). */
    public Authorization deny(Sandbox sandbox, AuditEvent.Via via, String client, Decision denial) {
        return admit(sandbox, sandbox.engine(), via, client, denial);
    }

    /** The project's {@code resources.tunnels} when it sets one, else the gateway's per-sandbox limit. */
    private int tunnelLimit(PolicyEngine engine) {
        return engine.tunnelLimit().orElse(limits.tunnelsPerSandbox());
    }

    private Authorization admit(Sandbox sandbox, PolicyEngine engine, AuditEvent.Via via, String client, Decision d) {
        boolean holdsSlots = false;
        if (d.allowed()) {
            if (totalTunnels.incrementAndGet() > limits.tunnelsTotal()) {
                totalTunnels.decrementAndGet();
                d = Decision.denied(Reason.LIMIT, d.target(), d.port(), "the gateway holds " + limits.tunnelsTotal() + " tunnels, its limit");
            } else if (sandbox.tunnels().incrementAndGet() > tunnelLimit(engine)) {
                sandbox.tunnels().decrementAndGet();
                totalTunnels.decrementAndGet();
                d = Decision.denied(Reason.LIMIT, d.target(), d.port(), "sandbox " + sandbox.id() + " holds " + tunnelLimit(engine)
                        + " tunnels, its limit" + (engine.tunnelLimit().isPresent() ? " (resources.tunnels in " + engine.policyFile() + ")" : ""));
            } else {
                holdsSlots = true;
            }
        }
        AuditEvent decided = event(AuditEvent.Event.DECISION, sandbox, via, client, d, 0, 0, 0);
        if (!audit.submit(decided) && !failOpen) {
            if (holdsSlots) {
                releaseSlots(sandbox);
                holdsSlots = false;
            }
            d = Decision.denied(Reason.FAIL_CLOSED, d.target(), d.port(), "the audit log cannot take records, so Airlock denies");
        }
        metrics.decided(sandbox.project(), d);
        Tunnel tunnel = null;
        if (holdsSlots) {
            // The close record repeats the decision record's fields, so it is built from it, not formatted again.
            tunnel = new Tunnel(sandbox, via, client, d, decided);
            metrics.active(sandbox.project()).incrementAndGet();
        }
        return new Authorization(d, engine, tunnel);
    }

    private void releaseSlots(Sandbox sandbox) {
        sandbox.tunnels().decrementAndGet();
        totalTunnels.decrementAndGet();
    }

    private static AuditEvent event(AuditEvent.Event kind, Sandbox sandbox, AuditEvent.Via via, String client, Decision d,
            long up, long down, long ms) {
        List<IpAddress> vetted = d.addresses();
        String[] addresses = new String[vetted.size()];
        for (int i = 0; i < addresses.length; i++) {
            addresses[i] = vetted.get(i).toString();
        }
        // List.of here and List.copyOf in AuditEvent: one immutable list, not copied again.
        return new AuditEvent(kind, sandbox.id(), sandbox.project(), via, client, Printable.escape(d.target()), d.port(),
                List.of(addresses), AuditEvent.Decision.of(d.allowed()), rule(d),
                d.reason(), up, down, ms);
    }

    /** The close of an allowed connection: the decision record's fields with bytes and duration. */
    private static AuditEvent closed(AuditEvent decided, long up, long down, long ms) {
        return new AuditEvent(AuditEvent.Event.CLOSE, decided.sandbox(), decided.project(), decided.via(), decided.client(),
                decided.name(), decided.port(), decided.addresses(), decided.decision(), decided.rule(), decided.reason(),
                up, down, ms);
    }

    /**
     * The record's {@code rule}: the policy rule that decided, in the one form every path writes
     * ({@link Decision#ruleText}, as the DNS responder does); for a limit, the limit itself; else "-".
     */
    static String rule(Decision d) {
        if (d.rule().isPresent()) {
            return d.ruleText();
        }
        return d.reason() == Reason.LIMIT ? "limit: " + d.detail() : "-";
    }

    /** The audit record's {@code client}: {@code address:port}, IPv6 in brackets, no leading slash. */
    public static String client(java.net.SocketAddress remote) {
        if (remote instanceof java.net.InetSocketAddress a && a.getAddress() != null) {
            String host = a.getAddress().getHostAddress();
            return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
        }
        return String.valueOf(remote);
    }

    public int openTunnels() {
        return totalTunnels.get();
    }

    /** An allowed connection's hold on the limits; {@link #close} records bytes and duration once. */
    public final class Tunnel {
        private final Sandbox sandbox;
        private final AuditEvent.Via via;
        private final String client;
        private final Decision decision;
        private final AuditEvent decided;
        private final long startNanos = System.nanoTime();
        private final AtomicBoolean closed = new AtomicBoolean();

        Tunnel(Sandbox sandbox, AuditEvent.Via via, String client, Decision decision, AuditEvent decided) {
            this.sandbox = sandbox;
            this.via = via;
            this.client = client;
            this.decision = decision;
            this.decided = decided;
        }

        public void close(long bytesUp, long bytesDown) {
            if (!closed.compareAndSet(false, true)) {
                return;
            }
            releaseSlots(sandbox);
            metrics.active(sandbox.project()).decrementAndGet();
            long ms = (System.nanoTime() - startNanos) / 1_000_000;
            // A close that cannot be recorded is still counted by the sink as rejected.
            audit.submit(closed(decided, bytesUp, bytesDown, ms));
        }

        public Decision decision() {
            return decision;
        }

        /** Same engine, same name, one address: the dialer checks again right before it dials. */
        public boolean recheck(PolicyEngine engine, IpAddress address) {
            return refusal(engine, address).isEmpty();
        }

        /** Why the dial-time check refuses {@code address}, as a {@code dial-refused} denial; empty when it passes. */
        Optional<Decision> refusal(PolicyEngine engine, IpAddress address) {
            if (!decision.addresses().contains(address)) {
                return Optional.of(refused(address, Optional.empty(), "it is not one of the addresses the decision vetted"));
            }
            Decision again = engine.decide(EgressRequest.of(decision.target(), decision.port(), List.of(address)));
            if (again.allowed()) {
                return Optional.empty();
            }
            return Optional.of(refused(address, again.rule(), "checked again it is " + again.reason().code + ": " + again.detail()));
        }

        private Decision refused(IpAddress address, Optional<Rule> rule, String why) {
            return new Decision(Verdict.DENY, Reason.DIAL_REFUSED, decision.target(), decision.port(), rule, List.of(address),
                    Optional.of(address), "allowed when decided, but " + address + " was refused right before dialling and"
                            + " was not dialled; " + why);
        }
    }
}
