package dev.airlock.sandbox;

import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.address.IpAddress;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.Set;

/**
 * The addresses of sandbox links, split into /30s: slot {@code i} is
 * {@code range.network + 4i}/30, with the host end at {@code +1} and the sandbox at {@code +2}
 * ({@code +0} and {@code +3} are the /30's network and broadcast addresses, never assigned).
 *
 * <p>The default, 100.96.0.0/16 (16384 sandboxes), sits inside CGNAT, which the policy's address
 * gate protects, next to the gateway's synthetic DNS range 100.80.0.0/16. 198.18.0.0/15 (RFC 2544)
 * is refused: it is kept for the test hosts of Airlock's own kernel tests.
 */
public record LinkRange(Cidr range) {

    /** Ranges a link range must not overlap, each with the reason it says. */
    private static final List<Refused> REFUSED = List.of(
            new Refused(Cidr.of("198.18.0.0/15"), "198.18.0.0/15 is kept for the test hosts of Airlock's kernel tests"),
            new Refused(Cidr.of("0.0.0.0/8"), "0.0.0.0/8 is 'this network', never a link"),
            new Refused(Cidr.of("127.0.0.0/8"), "127.0.0.0/8 is loopback"),
            new Refused(Cidr.of("169.254.0.0/16"), "169.254.0.0/16 is link-local (and cloud metadata)"),
            new Refused(Cidr.of("224.0.0.0/3"), "224.0.0.0/3 is multicast and reserved"));

    private record Refused(Cidr cidr, String why) {
    }

    /** 100.96.0.0/16, split into /30s (declared after {@code REFUSED}, which its construction reads). */
    public static final LinkRange DEFAULT = new LinkRange(Cidr.of("100.96.0.0/16"));

    public LinkRange {
        Objects.requireNonNull(range, "range");
        if (!range.network().isV4()) {
            throw new IllegalArgumentException("a link range is IPv4 (sandboxes have no IPv6): " + range);
        }
        if (range.prefixLength() > 30) {
            throw new IllegalArgumentException("a link range holds at least one /30: " + range);
        }
        for (Refused r : REFUSED) {
            if (range.overlaps(r.cidr)) {
                throw new IllegalArgumentException("link range " + range + " overlaps " + r.why);
            }
        }
    }

    /** How many /30s the range holds. */
    public int slots() {
        return 1 << (30 - range.prefixLength());
    }

    /** The /30 of slot {@code i}. */
    public Cidr slot(int i) {
        return new Cidr(address(i, 0), 30);
    }

    /** The host end of slot {@code i}'s link: the /30's first usable address. */
    public IpAddress hostAddress(int i) {
        return address(i, 1);
    }

    /** The sandbox end of slot {@code i}'s link: the /30's second usable address. */
    public IpAddress sandboxAddress(int i) {
        return address(i, 2);
    }

    /** The slot whose /30 is {@code link}, if it is one of this range's. */
    public OptionalInt indexOf(Cidr link) {
        if (link.prefixLength() != 30 || !range.covers(link)) {
            return OptionalInt.empty();
        }
        long offset = (link.network().lo() - range.network().lo()) >>> 2;
        return OptionalInt.of((int) offset);
    }

    /** The lowest slot not in {@code used}, or empty when the range is full. */
    public OptionalInt firstFree(Set<Integer> used) {
        for (int i = 0; i < slots(); i++) {
            if (!used.contains(i)) {
                return OptionalInt.of(i);
            }
        }
        return OptionalInt.empty();
    }

    private IpAddress address(int i, int offset) {
        if (i < 0 || i >= slots()) {
            throw new IndexOutOfBoundsException("slot " + i + " of " + slots() + " in " + range);
        }
        return IpAddress.ipv4((int) (range.network().lo() + 4L * i + offset));
    }
}
