package dev.airlock.policy;

/**
 * Makes untrusted text safe for logs, audit records, metrics and terminals: control characters,
 * ANSI escapes and non-ASCII become {@code \xNN} or {@code \}{@code uNNNN}, and length is bounded.
 */
public final class Printable {

    /** Long enough for any valid name (253) plus a port; longer input is cut and marked. */
    public static final int MAX_LENGTH = 300;

    private Printable() {
    }

    public static String escape(String s) {
        if (s == null) {
            return "";
        }
        if (printable(s)) {
            return s; // the common case: nothing to escape, no copy (every audit record escapes each of its strings)
        }
        StringBuilder out = new StringBuilder(Math.min(s.length(), MAX_LENGTH) + 8);
        for (int i = 0; i < s.length(); i++) {
            if (out.length() >= MAX_LENGTH) {
                out.append("...(").append(s.length()).append(" chars)");
                break;
            }
            char c = s.charAt(i);
            if (c == '\\') {
                out.append("\\\\");
            } else if (c < 0x20 || c == 0x7F) {
                out.append(String.format("\\x%02x", (int) c));
            } else if (c > 0x7E) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /** True when {@link #escape} would give {@code s} back unchanged: short enough, printable ASCII, no backslash. */
    private static boolean printable(String s) {
        if (s.length() > MAX_LENGTH) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c > 0x7E || c == '\\') {
                return false;
            }
        }
        return true;
    }
}
