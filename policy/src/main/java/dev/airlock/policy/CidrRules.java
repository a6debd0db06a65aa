package dev.airlock.policy;

import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.address.IpAddress;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The CIDR rules of one list, answering "the most specific rule containing this address on this
 * port" without allocating.
 *
 * <p>Semantics (as the binary prefix tree before it): the longest prefix containing the address
 * whose rules include one on the port wins; among rules written for the same prefix, the one
 * written last.
 *
 * <p>Design: one open-addressing table keyed by (family, prefix length, network bits), and per
 * family a bit set of the prefix lengths that occur. A lookup masks the address to each occurring
 * length, longest first, and probes: as many probes as there are distinct lengths (often one or a
 * handful), each independent of the last, instead of a chain of up to 32 or 128 dependent nodes.
 * A slot is four {@code long}s: the tag (family and length; 0 marks an empty slot), the masked
 * high and low bits, and the rule list ({@link RefLists}). Immutable after {@link #freeze}.
 */
final class CidrRules {

    private static final int STRIDE = 4;

    private final CompiledRules rules;
    private Map<Cidr, Refs> building = new LinkedHashMap<>();
    private long[] slots;
    private int mask;
    private long[] pool;
    private final long[] v4Lengths = new long[1];
    private final long[] v6Lengths = new long[3];
    private int size;

    /** Rules written for one prefix, in the order they were added. */
    private static final class Refs {
        long[] refs = new long[1];
        int count;
    }

    CidrRules(CompiledRules rules) {
        this.rules = rules;
    }

    void put(Cidr cidr, long ref) {
        Refs r = building.computeIfAbsent(cidr, k -> new Refs());
        if (r.count == r.refs.length) {
            r.refs = Arrays.copyOf(r.refs, r.count * 2);
        }
        r.refs[r.count++] = ref;
        int len = cidr.prefixLength();
        long[] lengths = cidr.network().isV4() ? v4Lengths : v6Lengths;
        lengths[len >>> 6] |= 1L << (len & 63);
        size++;
    }

    void freeze() {
        int capacity = Integer.highestOneBit(Math.max(1, building.size()) * 2 - 1) << 1;
        slots = new long[capacity * STRIDE];
        mask = capacity - 1;
        RefLists lists = new RefLists();
        for (Map.Entry<Cidr, Refs> e : building.entrySet()) {
            Cidr c = e.getKey();
            int count = e.getValue().count;
            // The last written first, as the tree's "most specific first" scan read them.
            long[] reversed = new long[count];
            for (int k = 0; k < count; k++) {
                reversed[k] = e.getValue().refs[count - 1 - k];
            }
            long tag = tag(c.network().isV4(), c.prefixLength());
            long hi = c.network().hi();
            long lo = c.network().lo();
            int at = index(tag, hi, lo);
            while (slots[at * STRIDE] != 0) {
                at = (at + 1) & mask;
            }
            int s = at * STRIDE;
            slots[s] = tag;
            slots[s + 1] = hi;
            slots[s + 2] = lo;
            slots[s + 3] = lists.encode(reversed, count);
        }
        pool = lists.pool();
        building = null;
    }

    int size() {
        return size;
    }

    /** The id of the most specific rule containing {@code a} on {@code port}, or -1. */
    int first(IpAddress a, int port) {
        if (size == 0) {
            return -1;
        }
        boolean v4 = a.isV4();
        long[] lengths = v4 ? v4Lengths : v6Lengths;
        for (int w = lengths.length - 1; w >= 0; w--) {
            long bits = lengths[w];
            while (bits != 0) {
                int b = 63 - Long.numberOfLeadingZeros(bits);
                bits &= ~(1L << b);
                int len = w * 64 + b;
                long hi = v4 ? 0 : a.hi() & highMask(len);
                long lo = a.lo() & (v4 ? v4Mask(len) : lowMask(len));
                long list = find(tag(v4, len), hi, lo);
                if (list != RefLists.EMPTY) {
                    int id = firstOnPort(list, port);
                    if (id >= 0) {
                        return id;
                    }
                }
            }
        }
        return -1;
    }

    private int firstOnPort(long list, int port) {
        if (!RefLists.pooled(list)) {
            return rules.allows(list, port) ? CompiledRules.id(list) : -1;
        }
        int at = RefLists.offset(list);
        int end = at + 1 + (int) pool[at];
        for (int k = at + 1; k < end; k++) {
            if (rules.allows(pool[k], port)) {
                return CompiledRules.id(pool[k]);
            }
        }
        return -1;
    }

    private long find(long tag, long hi, long lo) {
        long[] s = slots;
        for (int at = index(tag, hi, lo); ; at = (at + 1) & mask) {
            int i = at * STRIDE;
            long t = s[i];
            if (t == 0) {
                return RefLists.EMPTY;
            }
            if (t == tag && s[i + 1] == hi && s[i + 2] == lo) {
                return s[i + 3];
            }
        }
    }

    /** Never 0, which marks an empty slot. */
    private static long tag(boolean v4, int len) {
        return (v4 ? 0 : 256) + len + 1;
    }

    private int index(long tag, long hi, long lo) {
        long h = tag * 0x9E37_79B9_7F4A_7C15L ^ hi * 0xC2B2_AE3D_27D4_EB4FL ^ lo;
        h ^= h >>> 33;
        h *= 0xFF51_AFD7_ED55_8CCDL;
        h ^= h >>> 33;
        return (int) h & mask;
    }

    private static long v4Mask(int len) {
        return len == 0 ? 0 : (0xFFFF_FFFFL << (32 - len)) & 0xFFFF_FFFFL;
    }

    private static long highMask(int len) {
        return len >= 64 ? -1L : len == 0 ? 0 : -1L << (64 - len);
    }

    private static long lowMask(int len) {
        return len <= 64 ? 0 : len == 128 ? -1L : -1L << (128 - len);
    }
}
