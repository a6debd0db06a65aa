package dev.airlock.gateway.registry;

import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.address.IpAddress;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Sandbox → project policy, link addresses and resolved names. Identity always comes from where a
 * connection arrives (its link address, or the per-sandbox explicit listener it arrived on),
 * never from anything the sandbox sends. The sandbox runtime registers and unregisters.
 */
public final class SandboxRegistry {

    /** The default range synthetic DNS answers come from; see docs/dns.md. */
    public static final Cidr DEFAULT_SYNTHETIC_RANGE = Cidr.of("100.80.0.0/16");
    /** Names one sandbox may resolve before DNS answers stop (a limit, recorded as such). */
    public static final int DEFAULT_NAMES_PER_SANDBOX = 4096;

    private final ConcurrentHashMap<String, Sandbox> byId = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<IpAddress, Sandbox> byLink = new ConcurrentHashMap<>();
    /** Address ranges whose DNS queries are one sandbox's (none by default: unknown sources are refused). */
    private final java.util.concurrent.CopyOnWriteArrayList<DnsClients> dnsClients = new java.util.concurrent.CopyOnWriteArrayList<>();

    private record DnsClients(Cidr range, Sandbox sandbox) {
    }
    private final Cidr syntheticRange;
    private final int namesPerSandbox;

    public SandboxRegistry(Cidr syntheticRange, int namesPerSandbox) {
        this.syntheticRange = syntheticRange;
        this.namesPerSandbox = namesPerSandbox;
    }

    public SandboxRegistry() {
        this(DEFAULT_SYNTHETIC_RANGE, DEFAULT_NAMES_PER_SANDBOX);
    }

    public Sandbox register(String id, String project, List<IpAddress> linkAddresses, PolicyEngine engine) {
        return register(id, project, linkAddresses, List.of(), engine);
    }

    /** @param gatewayAddresses the host side of the sandbox's link, where it reaches the explicit proxy */
    public Sandbox register(String id, String project, List<IpAddress> linkAddresses, List<IpAddress> gatewayAddresses,
            PolicyEngine engine) {
        Sandbox s = new Sandbox(id, project, linkAddresses, gatewayAddresses, engine,
                new SyntheticNames(syntheticRange, namesPerSandbox));
        if (byId.putIfAbsent(id, s) != null) {
            throw new IllegalStateException("sandbox " + id + " is already registered");
        }
        for (IpAddress a : linkAddresses) {
            Sandbox other = byLink.putIfAbsent(a, s);
            if (other != null) {
                unregister(id);
                throw new IllegalStateException("link address " + a + " already belongs to sandbox " + other.id());
            }
        }
        return s;
    }

    public void unregister(String id) {
        Sandbox s = byId.remove(id);
        if (s != null) {
            s.linkAddresses().forEach(a -> byLink.remove(a, s));
            dnsClients.removeIf(c -> c.sandbox() == s);
        }
    }

    /**
     * Makes every DNS query from {@code range} sandbox {@code id}'s: in a cluster, agent pods get
     * addresses from the pod CIDR that the gateway cannot know one by one, and only NetworkPolicy
     * decides which pods reach its DNS port. Only DNS identity widens; connections are still
     * identified by their exact link address or the listener they arrived on.
     */
    public void addDnsClients(String id, Cidr range) {
        Sandbox s = byId.get(id);
        if (s == null) {
            throw new IllegalStateException("no sandbox " + id + " is registered");
        }
        dnsClients.add(new DnsClients(range, s));
    }

    /** The sandbox a DNS query from {@code source} belongs to: by its link address, else by a DNS client range. */
    public Optional<Sandbox> byDnsClient(IpAddress source) {
        Sandbox s = byLink.get(source);
        if (s != null) {
            return Optional.of(s);
        }
        return dnsClients.stream().filter(c -> c.range().contains(source)).map(DnsClients::sandbox).findFirst();
    }

    public Optional<Sandbox> byId(String id) {
        return Optional.ofNullable(byId.get(id));
    }

    /** The sandbox whose link address a connection or query came from. */
    public Optional<Sandbox> byLinkAddress(IpAddress source) {
        return Optional.ofNullable(byLink.get(source));
    }

    /** Atomic policy swap for every sandbox of a project (hot reload). */
    public void updatePolicy(String project, PolicyEngine engine) {
        byId.values().stream().filter(s -> s.project().equals(project)).forEach(s -> s.engine(engine));
    }

    /**
     * Swaps the policy of the sandboxes of {@code project} that are under exactly {@code from}
     * (identity), leaving the project's other sandboxes alone: the daemon's members follow a reload
     * of the run-phase policy while its template setups keep their setup-phase engine. Returns how
     * many were swapped.
     */
    public int swapPolicy(String project, PolicyEngine from, PolicyEngine to) {
        int n = 0;
        for (Sandbox s : byId.values()) {
            if (s.project().equals(project) && s.swap(from, to)) {
                n++;
            }
        }
        return n;
    }

    /** Puts one sandbox under {@code engine} (a member registered while a reload ran catches up). */
    public void updatePolicyOf(String id, PolicyEngine engine) {
        Sandbox s = byId.get(id);
        if (s != null) {
            s.engine(engine);
        }
    }

    public Collection<Sandbox> all() {
        return List.copyOf(byId.values());
    }

    public Cidr syntheticRange() {
        return syntheticRange;
    }
}
