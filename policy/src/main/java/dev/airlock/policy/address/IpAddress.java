package dev.airlock.policy.address;

/**
 * An IPv4 or IPv6 address as a value. IPv4 lives in the low 32 bits of {@code lo}.
 *
 * <p>Airlock never classifies through {@code InetAddress.isXxx}: the address is kept as bits and
 * classified against explicit CIDR tables ({@link AddressClassifier}).
 */
public record IpAddress(Family family, long hi, long lo) implements Comparable<IpAddress> {

    public enum Family {
        IPV4(32), IPV6(128);

        public final int bits;

        Family(int bits) {
            this.bits = bits;
        }
    }

    public IpAddress {
        if (family == Family.IPV4 && (hi != 0 || (lo >>> 32) != 0)) {
            throw new IllegalArgumentException("IPv4 address wider than 32 bits");
        }
    }

    public static IpAddress ipv4(int bits) {
        return new IpAddress(Family.IPV4, 0, bits & 0xFFFF_FFFFL);
    }

    public static IpAddress ipv6(long hi, long lo) {
        return new IpAddress(Family.IPV6, hi, lo);
    }

    /** From the 4 or 16 network-order bytes a resolver or socket returns. */
    public static IpAddress fromBytes(byte[] bytes) {
        if (bytes.length == 4) {
            return ipv4(((bytes[0] & 0xFF) << 24) | ((bytes[1] & 0xFF) << 16)
                    | ((bytes[2] & 0xFF) << 8) | (bytes[3] & 0xFF));
        }
        if (bytes.length == 16) {
            long hi = 0;
            long lo = 0;
            for (int i = 0; i < 8; i++) {
                hi = (hi << 8) | (bytes[i] & 0xFF);
                lo = (lo << 8) | (bytes[i + 8] & 0xFF);
            }
            return ipv6(hi, lo);
        }
        throw new IllegalArgumentException("an address has 4 or 16 bytes, not " + bytes.length);
    }

    public boolean isV4() {
        return family == Family.IPV4;
    }

    public int v4Bits() {
        return (int) lo;
    }

    public byte[] toBytes() {
        if (isV4()) {
            int v = v4Bits();
            return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
        }
        byte[] out = new byte[16];
        for (int i = 0; i < 8; i++) {
            out[i] = (byte) (hi >>> (56 - 8 * i));
            out[i + 8] = (byte) (lo >>> (56 - 8 * i));
        }
        return out;
    }

    /** Bit {@code i}, counted from the most significant bit of this family's width. */
    public int bit(int i) {
        if (isV4()) {
            return (int) ((lo >>> (31 - i)) & 1);
        }
        return i < 64 ? (int) ((hi >>> (63 - i)) & 1) : (int) ((lo >>> (127 - i)) & 1);
    }

    /** Canonical text: dotted quad, or RFC 5952 IPv6 (mapped addresses in mixed notation). */
    @Override
    public String toString() {
        return IpLiterals.format(this);
    }

    @Override
    public int compareTo(IpAddress o) {
        int c = family.compareTo(o.family);
        if (c != 0) {
            return c;
        }
        c = Long.compareUnsigned(hi, o.hi);
        return c != 0 ? c : Long.compareUnsigned(lo, o.lo);
    }
}
