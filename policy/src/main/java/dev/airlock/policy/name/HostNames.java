package dev.airlock.policy.name;

import java.net.IDN;
import java.util.Locale;
import java.util.Optional;

/**
 * Canonical host names: UTS-46 mapping to lower-case Punycode, one trailing dot stripped, labels
 * and length checked.
 *
 * <p>Design: {@link IDN} implements IDNA 2003, whose Nameprep mapping (NFKC and case folding) is the
 * transitional UTS-46 mapping for the characters that matter here: full-width letters and dots
 * fold to ASCII, and look-alike letters from other scripts stay distinct, so {@code gіthub.com}
 * (Cyrillic і) never equals {@code github.com}. After mapping, the result must be plain LDH
 * labels; anything else is rejected rather than repaired.
 */
public final class HostNames {

    /** RFC 1035: 253 characters of text (255 octets on the wire). */
    public static final int MAX_NAME_LENGTH = 253;
    /** RFC 1035: 63 octets per label. */
    public static final int MAX_LABEL_LENGTH = 63;
    /** Input longer than this is rejected before any Unicode processing, to bound the work. */
    private static final int MAX_RAW_LENGTH = 1024;

    private HostNames() {
    }

    /** Either the canonical name or why there is none. */
    public sealed interface Result permits Canonical, Invalid {
    }

    public record Canonical(String name) implements Result {
    }

    public record Invalid(String why) implements Result {
    }

    public static Result canonicalize(String raw) {
        if (raw == null || raw.isEmpty()) {
            return new Invalid("empty host name");
        }
        if (raw.length() > MAX_RAW_LENGTH) {
            return new Invalid("host name longer than " + MAX_RAW_LENGTH + " characters");
        }
        boolean ascii = true;
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c <= 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F)) {
                return new Invalid("control character or space in host name");
            }
            if (c >= 0x80) {
                ascii = false;
            } else if (!isLdh(c) && c != '.' && !(c >= 'A' && c <= 'Z')) {
                return new Invalid("character '" + c + "' is not allowed in a host name");
            }
        }
        String mapped;
        if (ascii) {
            mapped = raw.toLowerCase(Locale.ROOT);
        } else {
            try {
                // ALLOW_UNASSIGNED stays off: unassigned code points are refused, as UTS-46 does.
                mapped = IDN.toASCII(raw, IDN.USE_STD3_ASCII_RULES).toLowerCase(Locale.ROOT);
            } catch (IllegalArgumentException e) {
                return new Invalid("not a valid internationalised name: " + e.getMessage());
            }
        }
        return check(mapped);
    }

    /** Convenience for callers that have already rejected invalid input. */
    public static Optional<String> canonicalOrEmpty(String raw) {
        return canonicalize(raw) instanceof Canonical c ? Optional.of(c.name()) : Optional.empty();
    }

    private static Result check(String name) {
        String n = name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
        if (n.isEmpty()) {
            return new Invalid("empty host name");
        }
        if (n.length() > MAX_NAME_LENGTH) {
            return new Invalid("host name longer than " + MAX_NAME_LENGTH + " characters");
        }
        int start = 0;
        while (start <= n.length()) {
            int dot = n.indexOf('.', start);
            int end = dot < 0 ? n.length() : dot;
            // Fast path: a plain LDH label needs no copy; anything else is cut and checked in full.
            if (!plainLabel(n, start, end)) {
                String problem = checkLabel(n.substring(start, end));
                if (problem != null) {
                    return new Invalid(problem);
                }
            }
            if (dot < 0) {
                break;
            }
            start = dot + 1;
        }
        return new Canonical(n);
    }

    /**
     * True when {@link #canonicalize} would return {@code raw} unchanged: at most 253 characters of
     * lower-case LDH labels of 1-63 characters, none starting or ending with a hyphen, no Punycode
     * label ({@code xn--}, which needs the full check) and no trailing dot. One pass, no copy, so a
     * name that is already canonical (the usual case) skips canonicalisation.
     */
    public static boolean isPlainCanonical(String raw) {
        int n = raw.length();
        if (n == 0 || n > MAX_NAME_LENGTH) {
            return false;
        }
        int start = 0;
        for (int i = 0; i < n; i++) {
            char c = raw.charAt(i);
            if (c == '.') {
                if (!plainLabelEdges(raw, start, i)) {
                    return false;
                }
                start = i + 1;
            } else if (!isLdh(c)) {
                return false;
            }
        }
        return plainLabelEdges(raw, start, n);
    }

    /** The rest of {@link #plainLabel} for a label whose characters are already known to be LDH. */
    private static boolean plainLabelEdges(String n, int start, int end) {
        int len = end - start;
        return len > 0 && len <= MAX_LABEL_LENGTH && n.charAt(start) != '-' && n.charAt(end - 1) != '-'
                && !n.startsWith("xn--", start);
    }

    /** True for a label checkLabel would pass without looking at Punycode: 1-63 LDH, no edge hyphen, no xn--. */
    private static boolean plainLabel(String n, int start, int end) {
        int len = end - start;
        if (len == 0 || len > MAX_LABEL_LENGTH || n.charAt(start) == '-' || n.charAt(end - 1) == '-') {
            return false;
        }
        for (int i = start; i < end; i++) {
            if (!isLdh(n.charAt(i))) {
                return false;
            }
        }
        return !n.startsWith("xn--", start);
    }

    private static String checkLabel(String label) {
        if (label.isEmpty()) {
            return "empty label (two dots in a row, or a leading dot)";
        }
        if (label.length() > MAX_LABEL_LENGTH) {
            return "label longer than " + MAX_LABEL_LENGTH + " characters";
        }
        for (int i = 0; i < label.length(); i++) {
            if (!isLdh(label.charAt(i))) {
                return "character '" + label.charAt(i) + "' is not allowed in a host name";
            }
        }
        if (label.charAt(0) == '-' || label.charAt(label.length() - 1) == '-') {
            return "label '" + label + "' starts or ends with a hyphen";
        }
        if (label.startsWith("xn--")) {
            // A Punycode label must decode and re-encode to itself, or it is not canonical.
            String unicode = IDN.toUnicode(label, IDN.USE_STD3_ASCII_RULES);
            if (unicode.equals(label)) {
                // java.net.IDN is IDNA 2003 on Unicode 3.2: a label decoding to a later code point
                // (an emoji, say) is refused, never guessed at. That fails closed: such a name can be
                // neither allowed nor reached (docs/policy.md says why Airlock carries no ICU4J).
                String decoded = IDN.toUnicode(label, IDN.ALLOW_UNASSIGNED | IDN.USE_STD3_ASCII_RULES);
                return decoded.equals(label) ? "label '" + label + "' is not valid Punycode"
                        : "label '" + label + "' decodes to characters newer than Unicode 3.2, which Airlock's IDNA 2003 "
                                + "(java.net.IDN) cannot check; such names are refused";
            }
            String again;
            try {
                again = IDN.toASCII(unicode, IDN.USE_STD3_ASCII_RULES).toLowerCase(Locale.ROOT);
            } catch (IllegalArgumentException e) {
                return "label '" + label + "' is not valid Punycode";
            }
            if (!again.equals(label)) {
                return "label '" + label + "' is not canonical Punycode (it maps to " + again + ")";
            }
        }
        return null;
    }

    private static boolean isLdh(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    }

    /** True when {@code name} equals {@code parent} or ends with "." + parent (a label boundary). */
    public static boolean isSameOrSubdomain(String name, String parent) {
        return name.equals(parent) || isStrictSubdomain(name, parent);
    }

    public static boolean isStrictSubdomain(String name, String parent) {
        return name.length() > parent.length() + 1 && name.endsWith(parent)
                && name.charAt(name.length() - parent.length() - 1) == '.';
    }
}
