package dev.airlock.gateway.registry;

import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.address.IpAddress;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A sandbox as the gateway knows it: who it is, which policy it is under, where its link is, and
 * the names it resolved. The policy reference is swapped atomically on reload; a connection reads
 * it once and decides with that engine throughout.
 */
public final class Sandbox {

    private final String id;
    private final String project;
    private final List<IpAddress> linkAddresses;
    private final List<IpAddress> gatewayAddresses;
    private final AtomicReference<PolicyEngine> engine;
    private final SyntheticNames names;
    private final AtomicInteger tunnels = new AtomicInteger();

    Sandbox(String id, String project, List<IpAddress> linkAddresses, List<IpAddress> gatewayAddresses, PolicyEngine engine,
            SyntheticNames names) {
        this.id = id;
        this.project = project;
        this.linkAddresses = List.copyOf(linkAddresses);
        this.gatewayAddresses = List.copyOf(gatewayAddresses);
        this.engine = new AtomicReference<>(engine);
        this.names = names;
    }

    public String id() {
        return id;
    }

    public String project() {
        return project;
    }

    public List<IpAddress> linkAddresses() {
        return linkAddresses;
    }

    /** The host side of this sandbox's link: where its explicit proxy and DNS are reached. */
    public List<IpAddress> gatewayAddresses() {
        return gatewayAddresses;
    }

    public PolicyEngine engine() {
        return engine.get();
    }

    void engine(PolicyEngine e) {
        engine.set(e);
    }

    /** Swaps to {@code to} only while under {@code from}. */
    boolean swap(PolicyEngine from, PolicyEngine to) {
        return engine.compareAndSet(from, to);
    }

    public SyntheticNames names() {
        return names;
    }

    /** Open tunnels of this sandbox, for the per-sandbox limit. */
    public AtomicInteger tunnels() {
        return tunnels;
    }

    @Override
    public String toString() {
        return id + " (" + project + ")";
    }
}
