package dev.airlock.policy.address;

import java.util.Optional;

/**
 * Recognises IP literals in host strings.
 *
 * <p>Design: a host is either a canonical literal (dotted quad without leading zeros, or RFC 5952
 * IPv6), or a name, or something that <em>looks numeric</em> (short forms such as {@code 127.1},
 * octal, hex, a bare integer, leading zeros, zone IDs, non-canonical IPv6). Resolvers and URL
 * parsers disagree on the last class, which is how filters are bypassed, so Airlock never parses it
 * leniently: it is recognised and denied as {@code ip-literal}.
 */
public final class IpLiterals {

    private IpLiterals() {
    }

    /** What a host string is, before any name rule is consulted. */
    public sealed interface Shape permits Canonical, NonCanonical, NotNumeric {
    }

    /** A canonical literal. */
    public record Canonical(IpAddress address) implements Shape {
    }

    /** A numeric form that must not be parsed leniently. {@code why} is for humans. */
    public record NonCanonical(String text, String why) implements Shape {
    }

    /** Not an IP literal at all: it must be treated as a name. */
    public record NotNumeric() implements Shape {
    }

    private static final NotNumeric NOT_NUMERIC = new NotNumeric();

    /**
     * Classifies a host as given in an authority (brackets optional for IPv6). One trailing dot is
     * tolerated on IPv4-looking hosts only to recognise them as numeric, never to accept them.
     */
    public static Shape shape(String host) {
        if (host.isEmpty()) {
            return NOT_NUMERIC;
        }
        if (host.charAt(0) == '[' || host.indexOf(':') >= 0) {
            return shapeV6(host);
        }
        if (!looksLikeIpv4(host)) {
            return NOT_NUMERIC;
        }
        Optional<IpAddress> v4 = parseCanonicalV4(host);
        return v4.<Shape>map(Canonical::new)
                .orElseGet(() -> new NonCanonical(host, "not a canonical dotted quad (a.b.c.d, each 0-255, no leading zeros)"));
    }

    private static Shape shapeV6(String host) {
        String inner = host;
        if (host.charAt(0) == '[') {
            if (host.length() < 3 || host.charAt(host.length() - 1) != ']') {
                return new NonCanonical(host, "unbalanced brackets around an IPv6 address");
            }
            inner = host.substring(1, host.length() - 1);
        }
        if (inner.indexOf('%') >= 0) {
            return new NonCanonical(host, "IPv6 zone IDs are not accepted");
        }
        Optional<IpAddress> parsed = parseV6(inner);
        if (parsed.isEmpty()) {
            return new NonCanonical(host, "not a valid IPv6 address");
        }
        if (!format(parsed.get()).equals(inner)) {
            return new NonCanonical(host, "not in RFC 5952 form; write " + format(parsed.get()));
        }
        return new Canonical(parsed.get());
    }

    /**
     * The WHATWG URL rule, widened: a host whose last label is numeric (decimal digits, or 0x
     * followed by hex) is an IPv4 attempt, whatever its other labels are.
     */
    static boolean looksLikeIpv4(String host) {
        int end = host.endsWith(".") ? host.length() - 1 : host.length();
        int start = host.lastIndexOf('.', end - 1) + 1;
        if (start >= end) {
            return false;
        }
        if (end - start >= 2 && host.charAt(start) == '0' && (host.charAt(start + 1) == 'x' || host.charAt(start + 1) == 'X')) {
            for (int i = start + 2; i < end; i++) {
                if (Character.digit(host.charAt(i), 16) < 0) {
                    return false;
                }
            }
            return true;
        }
        for (int i = start; i < end; i++) {
            char c = host.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return true;
    }

    /** Exactly four decimal octets 0-255 without leading zeros. */
    public static Optional<IpAddress> parseCanonicalV4(String s) {
        int value = 0;
        int octets = 0;
        int i = 0;
        int n = s.length();
        while (i < n) {
            int start = i;
            int octet = 0;
            while (i < n && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
                octet = octet * 10 + (s.charAt(i) - '0');
                i++;
                if (i - start > 3) {
                    return Optional.empty();
                }
            }
            int len = i - start;
            if (len == 0 || octet > 255 || (len > 1 && s.charAt(start) == '0')) {
                return Optional.empty();
            }
            value = (value << 8) | octet;
            octets++;
            if (i < n) {
                if (s.charAt(i) != '.' || octets == 4) {
                    return Optional.empty();
                }
                i++;
                if (i == n) {
                    return Optional.empty();
                }
            }
        }
        return octets == 4 ? Optional.of(IpAddress.ipv4(value)) : Optional.empty();
    }

    /**
     * Parses any textual IPv6 address (RFC 4291 §2.2, including a trailing dotted quad). Used to
     * find the canonical form; callers accept only input that equals {@link #format}.
     */
    public static Optional<IpAddress> parseV6(String s) {
        if (s.isEmpty() || s.length() > 45) {
            return Optional.empty();
        }
        int[] groups = new int[8];
        int count = 0;
        int gap = -1;
        int i = 0;
        int n = s.length();
        if (s.startsWith("::")) {
            gap = 0;
            i = 2;
            if (i == n) {
                return Optional.of(IpAddress.ipv6(0, 0));
            }
        } else if (s.charAt(0) == ':') {
            return Optional.empty();
        }
        while (i < n) {
            int start = i;
            int v = 0;
            while (i < n && Character.digit(s.charAt(i), 16) >= 0 && i - start < 4) {
                v = (v << 4) | Character.digit(s.charAt(i), 16);
                i++;
            }
            if (i < n && s.charAt(i) == '.') {
                // A trailing dotted quad takes the last two groups.
                Optional<IpAddress> v4 = parseCanonicalV4(s.substring(start));
                if (v4.isEmpty() || count > 6) {
                    return Optional.empty();
                }
                int bits = v4.get().v4Bits();
                groups[count++] = bits >>> 16;
                groups[count++] = bits & 0xFFFF;
                i = n;
                break;
            }
            if (i == start || count == 8) {
                return Optional.empty();
            }
            groups[count++] = v;
            if (i == n) {
                break;
            }
            if (s.charAt(i) != ':') {
                return Optional.empty();
            }
            i++;
            if (i < n && s.charAt(i) == ':') {
                if (gap >= 0) {
                    return Optional.empty();
                }
                gap = count;
                i++;
                if (i == n) {
                    break;
                }
            } else if (i == n) {
                return Optional.empty();
            }
        }
        if (gap < 0 && count != 8 || gap >= 0 && count > 7) {
            return Optional.empty();
        }
        int[] full = new int[8];
        if (gap < 0) {
            full = groups;
        } else {
            int tail = count - gap;
            System.arraycopy(groups, 0, full, 0, gap);
            System.arraycopy(groups, gap, full, 8 - tail, tail);
        }
        long hi = 0;
        long lo = 0;
        for (int g = 0; g < 4; g++) {
            hi = (hi << 16) | full[g];
            lo = (lo << 16) | full[g + 4];
        }
        return Optional.of(IpAddress.ipv6(hi, lo));
    }

    /** Dotted quad, or RFC 5952: lower case, no leading zeros, longest zero run (>1) as ::. */
    public static String format(IpAddress a) {
        if (a.isV4()) {
            return formatV4(a.v4Bits());
        }
        int[] g = new int[8];
        for (int i = 0; i < 4; i++) {
            g[i] = (int) ((a.hi() >>> (48 - 16 * i)) & 0xFFFF);
            g[i + 4] = (int) ((a.lo() >>> (48 - 16 * i)) & 0xFFFF);
        }
        // RFC 5952 §5: IPv4-mapped addresses are written in mixed notation.
        if (a.hi() == 0 && (a.lo() >>> 32) == 0xFFFFL) {
            return "::ffff:" + formatV4((int) a.lo());
        }
        int bestStart = -1;
        int bestLen = 1;
        for (int i = 0; i < 8; ) {
            if (g[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && g[j] == 0) {
                j++;
            }
            if (j - i > bestLen) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j;
        }
        StringBuilder sb = new StringBuilder(39);
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(g[i]));
        }
        return sb.toString();
    }

    static String formatV4(int v) {
        return ((v >>> 24) & 0xFF) + "." + ((v >>> 16) & 0xFF) + "." + ((v >>> 8) & 0xFF) + "." + (v & 0xFF);
    }
}
