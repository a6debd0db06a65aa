package dev.airlock.audit.k8s;

import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.address.IpAddress;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/**
 * A set of addresses of both families, kept as sorted, disjoint, non-adjacent ranges, with the set
 * arithmetic NetworkPolicy semantics need: an {@code ipBlock} is its CIDR minus its {@code except}s,
 * rules are a union, and what a rule opens of a production range is their intersection. Results
 * come back as the fewest CIDRs that cover exactly the set ({@link #toCidrs}).
 *
 * <p>Values are immutable. Addresses are {@link BigInteger}s so one code path serves 32 and 128 bits.
 */
public final class CidrSet {

    private static final BigInteger V4_MAX = BigInteger.ONE.shiftLeft(32).subtract(BigInteger.ONE);
    private static final BigInteger V6_MAX = BigInteger.ONE.shiftLeft(128).subtract(BigInteger.ONE);
    private static final CidrSet EMPTY = new CidrSet(List.of(), List.of());

    private record Range(BigInteger lo, BigInteger hi) {
    }

    private final List<Range> v4;
    private final List<Range> v6;

    private CidrSet(List<Range> v4, List<Range> v6) {
        this.v4 = List.copyOf(v4);
        this.v6 = List.copyOf(v6);
    }

    public static CidrSet empty() {
        return EMPTY;
    }

    /** Every address: 0.0.0.0/0 and ::/0. */
    public static CidrSet all() {
        return new CidrSet(List.of(new Range(BigInteger.ZERO, V4_MAX)), List.of(new Range(BigInteger.ZERO, V6_MAX)));
    }

    public static CidrSet of(Cidr... cidrs) {
        return of(List.of(cidrs));
    }

    public static CidrSet of(Collection<Cidr> cidrs) {
        List<Range> a = new ArrayList<>();
        List<Range> b = new ArrayList<>();
        for (Cidr c : cidrs) {
            (c.network().isV4() ? a : b).add(range(c));
        }
        return new CidrSet(normalise(a), normalise(b));
    }

    public boolean isEmpty() {
        return v4.isEmpty() && v6.isEmpty();
    }

    public boolean contains(IpAddress a) {
        BigInteger x = value(a);
        for (Range r : a.isV4() ? v4 : v6) {
            if (r.lo.compareTo(x) <= 0 && x.compareTo(r.hi) <= 0) {
                return true;
            }
        }
        return false;
    }

    public CidrSet union(CidrSet o) {
        List<Range> a = new ArrayList<>(v4);
        a.addAll(o.v4);
        List<Range> b = new ArrayList<>(v6);
        b.addAll(o.v6);
        return new CidrSet(normalise(a), normalise(b));
    }

    public CidrSet intersect(CidrSet o) {
        return new CidrSet(intersect(v4, o.v4), intersect(v6, o.v6));
    }

    public CidrSet minus(CidrSet o) {
        return new CidrSet(intersect(v4, complement(o.v4, V4_MAX)), intersect(v6, complement(o.v6, V6_MAX)));
    }

    /** The fewest CIDRs whose union is exactly this set, IPv4 first, each family in address order. */
    public List<Cidr> toCidrs() {
        List<Cidr> out = new ArrayList<>();
        v4.forEach(r -> split(r, 32, out));
        v6.forEach(r -> split(r, 128, out));
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CidrSet s && s.v4.equals(v4) && s.v6.equals(v6);
    }

    @Override
    public int hashCode() {
        return v4.hashCode() * 31 + v6.hashCode();
    }

    @Override
    public String toString() {
        return toCidrs().toString();
    }

    // ------------------------------------------------------------------------------------------

    private static Range range(Cidr c) {
        int bits = c.network().family().bits;
        BigInteger lo = value(c.network());
        BigInteger size = BigInteger.ONE.shiftLeft(bits - c.prefixLength());
        return new Range(lo, lo.add(size).subtract(BigInteger.ONE));
    }

    private static BigInteger value(IpAddress a) {
        if (a.isV4()) {
            return BigInteger.valueOf(a.lo());
        }
        return unsigned(a.hi()).shiftLeft(64).or(unsigned(a.lo()));
    }

    private static BigInteger unsigned(long v) {
        return new BigInteger(Long.toUnsignedString(v));
    }

    private static IpAddress address(BigInteger v, int bits) {
        if (bits == 32) {
            return IpAddress.ipv4(v.intValue());
        }
        return IpAddress.ipv6(v.shiftRight(64).longValue(), v.longValue());
    }

    /** Sorted, overlapping and adjacent ranges merged. */
    private static List<Range> normalise(List<Range> in) {
        List<Range> sorted = new ArrayList<>(in);
        sorted.sort(Comparator.comparing(Range::lo));
        List<Range> out = new ArrayList<>();
        for (Range r : sorted) {
            if (!out.isEmpty()) {
                Range last = out.get(out.size() - 1);
                if (r.lo.compareTo(last.hi.add(BigInteger.ONE)) <= 0) {
                    out.set(out.size() - 1, new Range(last.lo, last.hi.max(r.hi)));
                    continue;
                }
            }
            out.add(r);
        }
        return out;
    }

    private static List<Range> intersect(List<Range> a, List<Range> b) {
        List<Range> out = new ArrayList<>();
        for (Range x : a) {
            for (Range y : b) {
                BigInteger lo = x.lo.max(y.lo);
                BigInteger hi = x.hi.min(y.hi);
                if (lo.compareTo(hi) <= 0) {
                    out.add(new Range(lo, hi));
                }
            }
        }
        return normalise(out);
    }

    private static List<Range> complement(List<Range> a, BigInteger max) {
        List<Range> out = new ArrayList<>();
        BigInteger next = BigInteger.ZERO;
        for (Range r : a) {
            if (r.lo.compareTo(next) > 0) {
                out.add(new Range(next, r.lo.subtract(BigInteger.ONE)));
            }
            next = r.hi.add(BigInteger.ONE);
        }
        if (next.compareTo(max) <= 0) {
            out.add(new Range(next, max));
        }
        return out;
    }

    /** The largest aligned blocks that tile {@code r}, in order. */
    private static void split(Range r, int bits, List<Cidr> out) {
        BigInteger lo = r.lo;
        while (lo.compareTo(r.hi) <= 0) {
            int size = lo.signum() == 0 ? bits : Math.min(lo.getLowestSetBit(), bits);
            BigInteger remaining = r.hi.subtract(lo).add(BigInteger.ONE);
            while (BigInteger.ONE.shiftLeft(size).compareTo(remaining) > 0) {
                size--;
            }
            out.add(new Cidr(address(lo, bits), bits - size));
            lo = lo.add(BigInteger.ONE.shiftLeft(size));
        }
    }
}
