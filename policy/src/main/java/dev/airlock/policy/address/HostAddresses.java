package dev.airlock.policy.address;

import java.util.Set;

/**
 * The addresses assigned to the host's interfaces at one moment (v4 and v6), as data: the gateway
 * reads the interfaces and keeps a current snapshot; {@code policy} only looks addresses up.
 * Immutable, so a decision sees one consistent set.
 */
public record HostAddresses(Set<IpAddress> addresses) {

    /** Nothing known about the host (pure checks such as {@code policy check}). */
    public static final HostAddresses NONE = new HostAddresses(Set.of());

    public HostAddresses {
        addresses = Set.copyOf(addresses);
    }

    public boolean contains(IpAddress a) {
        return addresses.contains(a);
    }
}
