package dev.airlock.gateway.registry;

import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.address.IpAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * One sandbox's view of DNS: each allowed name it resolves through Airlock gets its own synthetic
 * IPv4 address from a private range, stable for the sandbox's life. A transparent connection to
 * that address is attributed to exactly that name, even when many names share real addresses
 * (CDNs), and the sandbox never learns the real addresses. See docs/dns.md.
 */
public final class SyntheticNames {

    private final Cidr range;
    private final int capacity;
    private final Map<String, IpAddress> byName = new HashMap<>();
    private final Map<IpAddress, String> byAddress = new HashMap<>();
    private int next = 1;

    /** @param capacity the most names one sandbox may hold; beyond it assignment fails (a limit) */
    public SyntheticNames(Cidr range, int capacity) {
        if (!range.network().isV4() || range.prefixLength() > 30) {
            throw new IllegalArgumentException("the synthetic range must be IPv4 and at least a /30: " + range);
        }
        long size = 1L << (32 - range.prefixLength());
        this.range = range;
        this.capacity = (int) Math.min(capacity, size - 2);
    }

    /** The address for {@code name}, assigning one on first use; empty when the sandbox is full. */
    public synchronized Optional<IpAddress> assign(String canonicalName) {
        IpAddress existing = byName.get(canonicalName);
        if (existing != null) {
            return Optional.of(existing);
        }
        if (byName.size() >= capacity) {
            return Optional.empty();
        }
        IpAddress a = IpAddress.ipv4(range.network().v4Bits() + next++);
        byName.put(canonicalName, a);
        byAddress.put(a, canonicalName);
        return Optional.of(a);
    }

    /** The name this sandbox resolved to {@code address}, if it did. */
    public synchronized Optional<String> nameFor(IpAddress address) {
        return Optional.ofNullable(byAddress.get(address));
    }

    public boolean inRange(IpAddress address) {
        return range.contains(address);
    }

    public synchronized int size() {
        return byName.size();
    }
}
