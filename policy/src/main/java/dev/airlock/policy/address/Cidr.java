package dev.airlock.policy.address;

import java.util.Optional;

/** An address prefix. The address is stored with its host bits cleared. */
public record Cidr(IpAddress network, int prefixLength) {

    public Cidr {
        if (prefixLength < 0 || prefixLength > network.family().bits) {
            throw new IllegalArgumentException("prefix length " + prefixLength + " out of range");
        }
        network = mask(network, prefixLength);
    }

    public static Cidr of(String text) {
        return parse(text).orElseThrow(() -> new IllegalArgumentException("not a CIDR: " + text));
    }

    public static Cidr host(IpAddress a) {
        return new Cidr(a, a.family().bits);
    }

    /**
     * Strict parse of {@code addr/len}: the address must be canonical and have no host bits set
     * (so {@code 10.0.0.1/8} is refused rather than silently widened). A bare canonical address
     * is a host route.
     */
    public static Optional<Cidr> parse(String text) {
        int slash = text.indexOf('/');
        String addr = slash < 0 ? text : text.substring(0, slash);
        IpLiterals.Shape shape = IpLiterals.shape(addr);
        if (!(shape instanceof IpLiterals.Canonical c) || addr.startsWith("[")) {
            return Optional.empty();
        }
        IpAddress a = c.address();
        int len = a.family().bits;
        if (slash >= 0) {
            String digits = text.substring(slash + 1);
            if (digits.isEmpty() || digits.length() > 3 || (digits.length() > 1 && digits.charAt(0) == '0')) {
                return Optional.empty();
            }
            for (int i = 0; i < digits.length(); i++) {
                if (digits.charAt(i) < '0' || digits.charAt(i) > '9') {
                    return Optional.empty();
                }
            }
            len = Integer.parseInt(digits);
            if (len > a.family().bits) {
                return Optional.empty();
            }
        }
        if (!mask(a, len).equals(a)) {
            return Optional.empty();
        }
        return Optional.of(new Cidr(a, len));
    }

    public boolean contains(IpAddress a) {
        return a.family() == network.family() && mask(a, prefixLength).equals(network);
    }

    /** True when every address of {@code other} is in this prefix. */
    public boolean covers(Cidr other) {
        return other.network.family() == network.family() && other.prefixLength >= prefixLength
                && contains(other.network);
    }

    public boolean overlaps(Cidr other) {
        return covers(other) || other.covers(this);
    }

    static IpAddress mask(IpAddress a, int len) {
        if (a.isV4()) {
            long m = len == 0 ? 0 : (0xFFFF_FFFFL << (32 - len)) & 0xFFFF_FFFFL;
            return IpAddress.ipv4((int) (a.lo() & m));
        }
        long hiMask = len >= 64 ? -1L : len == 0 ? 0 : -1L << (64 - len);
        long loMask = len <= 64 ? 0 : len == 128 ? -1L : -1L << (128 - len);
        return IpAddress.ipv6(a.hi() & hiMask, a.lo() & loMask);
    }

    @Override
    public String toString() {
        return network + "/" + prefixLength;
    }
}
