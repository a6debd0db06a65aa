package dev.airlock.gateway.server;

import dev.airlock.gateway.audit.AuditSink;
import dev.airlock.gateway.dns.DnsAnswerer;
import dev.airlock.gateway.dns.DnsResponder;
import dev.airlock.gateway.proxy.Gateway;
import dev.airlock.gateway.proxy.GatewayLimits;
import dev.airlock.gateway.proxy.GatewayMetrics;
import dev.airlock.gateway.registry.Sandbox;
import dev.airlock.gateway.registry.SandboxRegistry;
import dev.airlock.gateway.resolve.Resolver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * One running egress gateway and everything it decides with: the resolver, the audit sink, the
 * registry of sandboxes (each with its policy engine), the metrics, and its listeners (the explicit
 * proxy, the transparent listener, the DNS responder). Every process that runs a gateway starts it
 * here: {@code airlock gateway} ({@link GatewayServer}), a run's or an audit's sandbox and the
 * daemon's shared host (runtime's {@code SandboxHost}).
 *
 * <p>{@link #close} stops the listeners first, then what the stack was given to own (the audit log
 * last, so that every decision taken is written).
 */
public final class GatewayStack implements AutoCloseable {

    /** Where a sandbox's connections to its gateway address on this port go: the explicit proxy (HTTP_PROXY). */
    public static final int EXPLICIT_PORT = 3128;
    /** Every IPv4 address of the host, a free port (a literal: nothing is resolved). */
    private static final InetSocketAddress ANY_IPV4 = new InetSocketAddress("0.0.0.0", 0);

    private final Resolver resolver;
    private final AuditSink audit;
    private final GatewayMetrics metrics;
    private final SandboxRegistry registry;
    private final Gateway gateway;
    private final List<AutoCloseable> owned;
    private Optional<InetSocketAddress> explicit = Optional.empty();
    private Optional<InetSocketAddress> transparent = Optional.empty();
    private Optional<DnsResponder> dns = Optional.empty();
    private boolean closed;

    private GatewayStack(Builder b) {
        this.resolver = b.resolver;
        this.audit = b.audit;
        this.metrics = b.metrics;
        this.registry = b.registry;
        this.owned = List.copyOf(b.owned);
        this.gateway = new Gateway(new Gateway.Config(resolver, audit, metrics, b.limits, b.ioThreads, b.failOpen, b.policyLabel),
                registry);
    }

    /** A stack deciding with {@code resolver}'s answers, recording to {@code audit}, counting into {@code metrics}. */
    public static Builder builder(Resolver resolver, AuditSink audit, GatewayMetrics metrics) {
        return new Builder(resolver, audit, metrics);
    }

    /** What a stack is made of; {@link #start} binds its listeners. */
    public static final class Builder {
        private final Resolver resolver;
        private final AuditSink audit;
        private final GatewayMetrics metrics;
        private final List<AutoCloseable> owned = new ArrayList<>();
        private SandboxRegistry registry = new SandboxRegistry();
        private GatewayLimits limits = GatewayLimits.DEFAULT;
        private int ioThreads = 2;
        private boolean failOpen;
        private String policyLabel = "airlock.yaml";
        private Optional<InetSocketAddress> explicitBind = Optional.empty();
        private Optional<Sandbox> explicitSandbox = Optional.empty();
        private Optional<InetSocketAddress> transparentBind = Optional.empty();
        private OptionalInt explicitOnTransparent = OptionalInt.empty();
        private Optional<InetSocketAddress> dnsBind = Optional.empty();

        private Builder(Resolver resolver, AuditSink audit, GatewayMetrics metrics) {
            this.resolver = Objects.requireNonNull(resolver, "resolver");
            this.audit = Objects.requireNonNull(audit, "audit");
            this.metrics = Objects.requireNonNull(metrics, "metrics");
            // The audit sink is the stack's: closed after the listeners that submit to it.
            owned.add(audit);
        }

        public Builder limits(GatewayLimits limits) {
            this.limits = Objects.requireNonNull(limits);
            return this;
        }

        public Builder ioThreads(int ioThreads) {
            this.ioThreads = ioThreads;
            return this;
        }

        /** Allow connections even when the audit sink fails (off by default). */
        public Builder failOpen(boolean failOpen) {
            this.failOpen = failOpen;
            return this;
        }

        /** What denial bodies call the project policy file. */
        public Builder policyLabel(String policyLabel) {
            this.policyLabel = Objects.requireNonNull(policyLabel);
            return this;
        }

        /** The registry the listeners identify sandboxes in (a new, empty one by default). */
        public Builder registry(SandboxRegistry registry) {
            this.registry = Objects.requireNonNull(registry);
            return this;
        }

        /**
         * An explicit HTTP/CONNECT listener on {@code bind} whose every connection belongs to
         * {@code sandbox}, registered in this stack's registry (identity by listener: {@code airlock gateway}).
         */
        public Builder explicit(InetSocketAddress bind, Sandbox sandbox) {
            this.explicitBind = Optional.of(bind);
            this.explicitSandbox = Optional.of(sandbox);
            return this;
        }

        /** The transparent (TPROXY) listener on {@code bind}. */
        public Builder transparent(InetSocketAddress bind) {
            this.transparentBind = Optional.of(bind);
            return this;
        }

        /** The DNS responder on {@code bind} (UDP and TCP). */
        public Builder dns(InetSocketAddress bind) {
            this.dnsBind = Optional.of(bind);
            return this;
        }

        /**
         * What a host of sandboxes runs: the transparent listener and the DNS responder on any
         * address and a free port (the sandboxes' rules point at them), and the explicit proxy behind
         * the transparent listener on {@link #EXPLICIT_PORT} of each sandbox's gateway address.
         */
        public Builder forSandboxes() {
            transparent(ANY_IPV4);
            explicitOnTransparent = OptionalInt.of(EXPLICIT_PORT);
            return dns(ANY_IPV4);
        }

        /** {@code resource} is closed by the stack's {@link #close}, after the listeners, in reverse order of handing over. */
        public Builder owning(AutoCloseable resource) {
            owned.add(Objects.requireNonNull(resource));
            return this;
        }

        /**
         * Starts the gateway and binds every listener asked for. On failure everything is stopped,
         * the owned resources too, and the failure is thrown.
         */
        public GatewayStack start() throws IOException, InterruptedException {
            GatewayStack s = new GatewayStack(this);
            try {
                s.listen(this);
                return s;
            } catch (IOException | InterruptedException | RuntimeException e) {
                s.close();
                throw e;
            }
        }
    }

    private void listen(Builder b) throws IOException, InterruptedException {
        if (b.explicitBind.isPresent()) {
            explicit = Optional.of(gateway.explicitListener(b.explicitBind.get(), b.explicitSandbox.orElseThrow()));
        }
        if (b.transparentBind.isPresent()) {
            transparent = Optional.of(gateway.transparentListener(b.transparentBind.get()));
        }
        b.explicitOnTransparent.ifPresent(gateway::explicitOnTransparent);
        if (b.dnsBind.isPresent()) {
            DnsResponder d = new DnsResponder(DnsResponder.Settings.defaults(b.dnsBind.get()), registry, new DnsAnswerer(resolver), audit);
            dns = Optional.of(d);
            d.start();
        }
    }

    public Resolver resolver() {
        return resolver;
    }

    public AuditSink audit() {
        return audit;
    }

    public GatewayMetrics metrics() {
        return metrics;
    }

    /** The sandboxes this gateway knows, each with its policy engine. */
    public SandboxRegistry registry() {
        return registry;
    }

    /** Where the explicit listener listens, if the stack has one of its own. */
    public Optional<InetSocketAddress> explicitAddress() {
        return explicit;
    }

    /** Where the transparent listener listens, if there is one. */
    public Optional<InetSocketAddress> transparentAddress() {
        return transparent;
    }

    /** The DNS responder's UDP address (its TCP port is the same), if there is one. */
    public Optional<InetSocketAddress> dnsAddress() {
        return dns.map(DnsResponder::udpAddress);
    }

    /** The transparent listener's port; a stack {@link Builder#forSandboxes} always has one. */
    public int transparentPort() {
        return transparent.orElseThrow(() -> new IllegalStateException("this gateway has no transparent listener")).getPort();
    }

    /** The DNS responder's port; a stack {@link Builder#forSandboxes} always has one. */
    public int dnsPort() {
        return dns.orElseThrow(() -> new IllegalStateException("this gateway has no DNS responder")).udpPort();
    }

    /** Stops the listeners, then closes the owned resources, last handed first. Idempotent; never throws. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        dns.ifPresent(DnsResponder::close);
        gateway.close();
        for (int i = owned.size() - 1; i >= 0; i--) {
            try {
                owned.get(i).close();
            } catch (Exception e) {
                System.err.println("airlock: while stopping the gateway: " + e);
            }
        }
    }
}
