package dev.airlock.policy;

import java.util.Optional;

/**
 * A strict {@code host:port} authority, as in a CONNECT line, a {@code Host} header or a command
 * line target. Smuggling characters ({@code @ # \ / ? %}, whitespace, control characters) are
 * refused rather than interpreted: parsers disagree on them, and disagreement is the attack.
 * The host is returned as written; {@link PolicyEngine} canonicalises it.
 */
public record Authority(String host, int port) {

    /** Either an authority or why the text is not one. */
    public sealed interface Parsed permits Ok, Bad {
    }

    public record Ok(Authority authority) implements Parsed {
    }

    public record Bad(String why) implements Parsed {
    }

    /** @param defaultPort used when no port is written, or -1 when a port is required */
    public static Parsed parse(String text, int defaultPort) {
        if (text == null || text.isEmpty()) {
            return new Bad("empty authority");
        }
        if (text.length() > Printable.MAX_LENGTH) {
            return new Bad("authority longer than " + Printable.MAX_LENGTH + " characters");
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c <= 0x20 || c == 0x7F || "@#\\/?%,;\"'<>{}|^`".indexOf(c) >= 0) {
                return new Bad("character " + describe(c) + " is not allowed in an authority");
            }
        }
        String host;
        String portText;
        if (text.charAt(0) == '[') {
            int close = text.indexOf(']');
            if (close < 0) {
                return new Bad("unclosed '[' in an IPv6 authority");
            }
            host = text.substring(0, close + 1);
            String rest = text.substring(close + 1);
            if (rest.isEmpty()) {
                portText = null;
            } else if (rest.charAt(0) == ':') {
                portText = rest.substring(1);
            } else {
                return new Bad("unexpected text after ']'");
            }
        } else {
            int colon = text.indexOf(':');
            if (colon >= 0 && text.indexOf(':', colon + 1) >= 0) {
                return new Bad("an IPv6 address must be in brackets, such as [2001:db8::1]:443");
            }
            host = colon < 0 ? text : text.substring(0, colon);
            portText = colon < 0 ? null : text.substring(colon + 1);
        }
        if (host.isEmpty()) {
            return new Bad("no host");
        }
        int port;
        if (portText == null) {
            if (defaultPort < 0) {
                return new Bad("no port; write host:port");
            }
            port = defaultPort;
        } else {
            Optional<Integer> p = port(portText);
            if (p.isEmpty()) {
                return new Bad("invalid port \"" + Printable.escape(portText) + "\"; write a decimal port from 1 to 65535");
            }
            port = p.get();
        }
        return new Ok(new Authority(host, port));
    }

    /** Plain decimal 1-65535: no sign, no leading zero, at most five digits. */
    public static Optional<Integer> port(String s) {
        if (s.isEmpty() || s.length() > 5 || s.charAt(0) == '0') {
            return Optional.empty();
        }
        int v = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return Optional.empty();
            }
            v = v * 10 + (c - '0');
        }
        return v <= 65535 ? Optional.of(v) : Optional.empty();
    }

    /**
     * A command-line target: {@code host[:port]}, {@code ip[:port]}, {@code [v6][:port]}, or a URL
     * whose scheme gives the default port (http 80, https 443, ssh 22, git 9418). Without a scheme
     * or port, 443.
     */
    public static Parsed parseTarget(String text) {
        if (text == null) {
            return new Bad("no target");
        }
        int scheme = text.indexOf("://");
        if (scheme < 0) {
            return parse(text, 443);
        }
        int defaultPort = switch (text.substring(0, scheme).toLowerCase(java.util.Locale.ROOT)) {
            case "http", "ws" -> 80;
            case "https", "wss" -> 443;
            case "ssh" -> 22;
            case "git" -> 9418;
            default -> -2;
        };
        if (defaultPort == -2) {
            return new Bad("unknown URL scheme \"" + Printable.escape(text.substring(0, scheme))
                    + "\"; use http, https, ws, wss, ssh or git, or write host:port");
        }
        String rest = text.substring(scheme + 3);
        int end = rest.length();
        for (int i = 0; i < rest.length(); i++) {
            char c = rest.charAt(i);
            if (c == '/' || c == '?' || c == '#') {
                end = i;
                break;
            }
        }
        String authority = rest.substring(0, end);
        if (authority.indexOf('@') >= 0) {
            return new Bad("user information (user@) in a URL is refused: it hides the real host");
        }
        return parse(authority, defaultPort);
    }

    private static String describe(char c) {
        return c <= 0x20 || c == 0x7F ? String.format("\\x%02x", (int) c) : "'" + c + "'";
    }

    @Override
    public String toString() {
        return host + ":" + port;
    }
}
