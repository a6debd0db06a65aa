package dev.airlock.gateway.peek;

import dev.airlock.policy.Authority;
import dev.airlock.policy.Printable;
import dev.airlock.policy.name.HostNames;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Optional;

/**
 * Reads the head of the first request on a plain-HTTP port, before Airlock dials anything: the
 * gateway authorises the {@code Host} it names.
 *
 * <p>Design. The input is hostile, and the danger is that Airlock and the origin read different
 * hosts from the same bytes (request smuggling). So this parser accepts a strict subset of
 * RFC 9112 and refuses, rather than repairs, everything on which parsers are known to disagree.
 * It is pure: it takes the bytes received so far, never changes the buffer, never throws, keeps no
 * state, and looks at no more than {@link #MAX_HEAD_BYTES}. An answer other than {@link NeedMore}
 * is final, because it depends only on bytes already seen; errors in a line are reported as soon
 * as that line is complete, and stray control bytes as soon as they arrive.
 *
 * <p>Refused ({@link Malformed}), each with a one-line reason for the audit log:
 * <ul>
 *   <li>a bare LF or a bare CR: every line ends in CRLF (RFC 9112 §2.2 lets a server accept a bare
 *       LF; Airlock does not, because the origin might not);</li>
 *   <li>NUL or any other control byte except HT, anywhere in the head;</li>
 *   <li>an empty line before the request line, and whitespace at the start of any header line
 *       (obs-fold, RFC 9112 §5.2);</li>
 *   <li>whitespace between a field name and its colon (RFC 9112 §5.1 requires a 400);</li>
 *   <li>no {@code Host}, more than one {@code Host}, or a {@code Host} that {@link Authority#parse}
 *       refuses or that is not ASCII; HTTP/1.0 requests need {@code Host} too, because it is what
 *       Airlock routes by;</li>
 *   <li>an absolute-form target whose authority differs from {@code Host} (host compared after
 *       canonicalisation, ports after defaulting to 80): the origin would obey the target and
 *       ignore {@code Host} (RFC 9112 §3.2.2);</li>
 *   <li>a target that is not origin-form, {@code http://} absolute-form, or {@code *} with
 *       {@code OPTIONS} (so CONNECT's authority-form is refused here);</li>
 *   <li>ambiguous body framing, so that the gateway can find the next request on the connection:
 *       both {@code Content-Length} and {@code Transfer-Encoding}, either one twice, a
 *       {@code Content-Length} that is not plain digits, a {@code Transfer-Encoding} other than
 *       {@code chunked}, or one in an HTTP/1.0 request;</li>
 *   <li>a head that is not complete within {@link #MAX_HEAD_BYTES}.</li>
 * </ul>
 *
 * <p>Accepted as sent, for the policy to judge: upper case and a trailing dot in {@code Host}, IP
 * literals, and any port; the caller canonicalises the host, checks the port against the one the
 * client dialled, and bounds how long it waits while the answer is {@code NeedMore} (slowloris).
 * This class reads one head; {@link HttpRequestStream} finds every later head on a kept-alive or
 * pipelined connection by the body framing that this class has made unambiguous.
 */
public final class HttpHeadPeek {

    /**
     * 8 KiB: the bound egress-cases F names and Netty's decoders use by default; no real first
     * request head needs more, and it bounds what a connection can make Airlock buffer.
     */
    public static final int MAX_HEAD_BYTES = 8192;

    /** The port an authority without one means on a plain-HTTP port. */
    private static final int HTTP_PORT = 80;
    /** Digits in a Content-Length that fit a long with room to spare. */
    private static final int MAX_CONTENT_LENGTH_DIGITS = 18;

    private HttpHeadPeek() {
    }

    /** The closed set of answers. Every one but {@link NeedMore} is final. */
    public sealed interface Result permits NeedMore, Request, Malformed {
    }

    /** The head is not complete yet; call again with more bytes. */
    public record NeedMore() implements Result {
    }

    /** Not an acceptable request head; {@code why} is for the audit log and has no raw control bytes. */
    public record Malformed(String why) implements Result {
    }

    /**
     * A complete, acceptable request head.
     *
     * @param method          the method token, such as {@code GET}
     * @param target          the request-target exactly as sent
     * @param version         {@code HTTP/1.1} or {@code HTTP/1.0}
     * @param hostHeader      the {@code Host} value as sent, without surrounding whitespace
     * @param authority       {@code hostHeader} parsed; the port is 80 when none is written
     * @param targetAuthority the authority of an absolute-form target, which agrees with
     *                        {@code authority}; empty for origin-form and {@code *}
     * @param headLength      bytes of the head, the final CRLF CRLF included; a body or the next
     *                        request starts there
     * @param contentLength   the body's length from {@code Content-Length}, or -1 when there is none
     * @param chunked         the body is {@code Transfer-Encoding: chunked} (never together with a
     *                        {@code Content-Length}); with neither, the request has no body
     * @param upgrade         the {@code Upgrade} header's value, when the request asks to switch protocols
     * @param expect          the {@code Expect} header's value, when there is one
     */
    public record Request(String method, String target, String version, String hostHeader, Authority authority,
                          Optional<Authority> targetAuthority, int headLength, long contentLength, boolean chunked,
                          Optional<String> upgrade, Optional<String> expect) implements Result {

        /** A head without a body and without an upgrade, as most requests are. */
        public Request(String method, String target, String version, String hostHeader, Authority authority,
                Optional<Authority> targetAuthority, int headLength) {
            this(method, target, version, hostHeader, authority, targetAuthority, headLength, -1, false, Optional.empty(),
                    Optional.empty());
        }
    }

    private static final NeedMore NEED_MORE = new NeedMore();

    /**
     * Examines the bytes from the buffer's position to its limit (at most {@link #MAX_HEAD_BYTES}
     * of them), without changing its position, limit or content.
     */
    public static Result parse(ByteBuffer bytesSoFar) {
        int avail = Math.min(bytesSoFar.remaining(), MAX_HEAD_BYTES);
        byte[] b = new byte[avail];
        bytesSoFar.get(bytesSoFar.position(), b);
        Head head = new Head();
        int lineStart = 0;
        boolean firstLine = true;
        boolean inMethod = true;
        for (int i = 0; i < avail; i++) {
            int c = b[i] & 0xFF;
            if (c == '\n') {
                if (i == lineStart || b[i - 1] != '\r') {
                    return new Malformed("bare LF at byte " + i + "; lines must end in CRLF");
                }
                int lineEnd = i - 1;
                String problem;
                if (lineEnd == lineStart) {
                    if (firstLine) {
                        return new Malformed("empty line before the request line");
                    }
                    return head.finish(i + 1);
                } else if (firstLine) {
                    problem = head.requestLine(text(b, lineStart, lineEnd));
                    firstLine = false;
                    inMethod = false;
                } else {
                    problem = head.field(text(b, lineStart, lineEnd));
                }
                if (problem != null) {
                    return new Malformed(problem);
                }
                lineStart = i + 1;
            } else if (c == '\r') {
                if (i + 1 < avail && b[i + 1] != '\n') {
                    return new Malformed("CR not followed by LF at byte " + i);
                }
            } else if (c == 0) {
                return new Malformed("NUL byte at byte " + i);
            } else if (c < 0x20 && c != '\t' || c == 0x7F) {
                return new Malformed(String.format("control character 0x%02x at byte %d", c, i));
            } else if (inMethod) {
                // Answer at once when the first bytes cannot start a request (TLS, SSH, binary).
                if (c == ' ' && i > 0) {
                    inMethod = false;
                } else if (!isTchar(c)) {
                    return new Malformed(String.format("byte 0x%02x cannot appear in a method name", c));
                }
            }
        }
        if (bytesSoFar.remaining() >= MAX_HEAD_BYTES) {
            return new Malformed("request head larger than " + MAX_HEAD_BYTES + " bytes");
        }
        return NEED_MORE;
    }

    /** What the lines seen so far establish; each method returns null or why the line is refused. */
    private static final class Head {
        private String method;
        private String target;
        private String version;
        private Authority targetAuthority;
        private String hostHeader;
        private Authority authority;
        private boolean contentLength;
        private long contentLengthValue = -1;
        private boolean transferEncoding;
        private String upgrade;
        private String expect;

        /** RFC 9112 §3: method SP request-target SP HTTP-version, single spaces. */
        String requestLine(String line) {
            int sp1 = line.indexOf(' ');
            int sp2 = sp1 < 0 ? -1 : line.indexOf(' ', sp1 + 1);
            if (sp1 <= 0 || sp2 < 0 || line.indexOf(' ', sp2 + 1) >= 0) {
                return "request line \"" + Printable.escape(line) + "\" is not METHOD SP TARGET SP VERSION";
            }
            method = line.substring(0, sp1);
            target = line.substring(sp1 + 1, sp2);
            version = line.substring(sp2 + 1);
            if (!isToken(method)) {
                return "method \"" + Printable.escape(method) + "\" is not a token";
            }
            if (!version.equals("HTTP/1.1") && !version.equals("HTTP/1.0")) {
                return "version \"" + Printable.escape(version) + "\" is not HTTP/1.1 or HTTP/1.0";
            }
            if (target.isEmpty()) {
                return "empty request-target (two spaces in the request line)";
            }
            for (int i = 0; i < target.length(); i++) {
                char c = target.charAt(i);
                if (c <= 0x20 || c >= 0x7F || c == '#') {
                    return "character '" + Printable.escape(String.valueOf(c)) + "' is not allowed in the request-target";
                }
            }
            if (target.charAt(0) == '/') {
                return null;
            }
            if (target.equals("*")) {
                return method.equals("OPTIONS") ? null : "request-target * is only for OPTIONS";
            }
            return absoluteForm();
        }

        /** RFC 9112 §3.2.2: {@code http://authority[/path][?query]}; no user information. */
        private String absoluteForm() {
            int scheme = target.indexOf("://");
            if (scheme < 0) {
                return "request-target \"" + Printable.escape(target)
                        + "\" is neither origin-form (/path) nor absolute-form (http://host/path)"
                        + (method.equals("CONNECT") ? "; CONNECT belongs on the explicit proxy port" : "");
            }
            String name = target.substring(0, scheme);
            if (!name.toLowerCase(Locale.ROOT).equals("http")) {
                return "scheme \"" + Printable.escape(name) + "\" in the request-target; only http is served here";
            }
            String rest = target.substring(scheme + 3);
            int end = rest.length();
            for (int i = 0; i < rest.length(); i++) {
                if (rest.charAt(i) == '/' || rest.charAt(i) == '?') {
                    end = i;
                    break;
                }
            }
            String text = rest.substring(0, end);
            if (text.indexOf('@') >= 0) {
                return "user information (user@) in the request-target is refused: it hides the real host";
            }
            Authority.Parsed parsed = Authority.parse(text, HTTP_PORT);
            if (parsed instanceof Authority.Bad bad) {
                return "request-target authority \"" + Printable.escape(text) + "\" is invalid: " + bad.why();
            }
            targetAuthority = ((Authority.Ok) parsed).authority();
            return null;
        }

        /** RFC 9112 §5: field-name ":" OWS field-value OWS. */
        String field(String line) {
            char first = line.charAt(0);
            if (first == ' ' || first == '\t') {
                return "a header line starts with whitespace (obs-fold, or whitespace after the request line)";
            }
            int colon = line.indexOf(':');
            if (colon < 0) {
                return "header line \"" + Printable.escape(line) + "\" has no ':'";
            }
            String name = line.substring(0, colon);
            if (name.isEmpty()) {
                return "header line with an empty name";
            }
            if (name.indexOf(' ') >= 0 || name.indexOf('\t') >= 0) {
                return "whitespace in header name \"" + Printable.escape(name) + "\" or before its ':'";
            }
            if (!isToken(name)) {
                return "header name \"" + Printable.escape(name) + "\" is not a token";
            }
            String value = trimOws(line.substring(colon + 1));
            switch (name.toLowerCase(Locale.ROOT)) {
                case "host" -> {
                    return host(value);
                }
                case "content-length" -> {
                    if (contentLength) {
                        return "more than one Content-Length header";
                    }
                    contentLength = true;
                    if (value.isEmpty() || value.length() > MAX_CONTENT_LENGTH_DIGITS || !allDigits(value)) {
                        return "Content-Length \"" + Printable.escape(value) + "\" is not a plain decimal number";
                    }
                    contentLengthValue = Long.parseLong(value);
                    return null;
                }
                case "transfer-encoding" -> {
                    if (transferEncoding) {
                        return "more than one Transfer-Encoding header";
                    }
                    transferEncoding = true;
                    if (!value.equalsIgnoreCase("chunked")) {
                        return "Transfer-Encoding \"" + Printable.escape(value) + "\"; only chunked is accepted";
                    }
                    return null;
                }
                case "upgrade" -> {
                    if (upgrade != null) {
                        return "more than one Upgrade header";
                    }
                    upgrade = value;
                    return null;
                }
                case "expect" -> {
                    if (expect != null) {
                        return "more than one Expect header";
                    }
                    expect = value;
                    return null;
                }
                default -> {
                    return null;
                }
            }
        }

        private String host(String value) {
            if (hostHeader != null) {
                return "more than one Host header";
            }
            hostHeader = value;
            for (int i = 0; i < value.length(); i++) {
                if (value.charAt(i) > 0x7E) {
                    return "non-ASCII byte in Host; internationalised names are sent as A-labels (xn--)";
                }
            }
            Authority.Parsed parsed = Authority.parse(value, HTTP_PORT);
            if (parsed instanceof Authority.Bad bad) {
                return "Host \"" + Printable.escape(value) + "\" is invalid: " + bad.why();
            }
            authority = ((Authority.Ok) parsed).authority();
            return null;
        }

        Result finish(int headLength) {
            if (authority == null) {
                return new Malformed("no Host header");
            }
            if (targetAuthority != null && !sameAuthority(targetAuthority, authority)) {
                return new Malformed("request-target names " + Printable.escape(targetAuthority.toString())
                        + " but Host names " + Printable.escape(authority.toString()));
            }
            if (contentLength && transferEncoding) {
                return new Malformed("both Content-Length and Transfer-Encoding (RFC 9112 §6.1)");
            }
            if (transferEncoding && version.equals("HTTP/1.0")) {
                return new Malformed("Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1)");
            }
            return new Request(method, target, version, hostHeader, authority, Optional.ofNullable(targetAuthority),
                    headLength, contentLengthValue, transferEncoding, Optional.ofNullable(upgrade), Optional.ofNullable(expect));
        }
    }

    /** Same port, and the same host once both are canonical; IP literals compare as written, lower-cased. */
    static boolean sameAuthority(Authority a, Authority b) {
        return a.port() == b.port() && hostKey(a.host()).equals(hostKey(b.host()));
    }

    private static String hostKey(String host) {
        return HostNames.canonicalOrEmpty(host).orElse(host.toLowerCase(Locale.ROOT));
    }

    private static String text(byte[] b, int from, int to) {
        return new String(b, from, to - from, StandardCharsets.ISO_8859_1);
    }

    private static String trimOws(String s) {
        int from = 0;
        int to = s.length();
        while (from < to && (s.charAt(from) == ' ' || s.charAt(from) == '\t')) {
            from++;
        }
        while (to > from && (s.charAt(to - 1) == ' ' || s.charAt(to - 1) == '\t')) {
            to--;
        }
        return s.substring(from, to);
    }

    private static boolean allDigits(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return false;
            }
        }
        return true;
    }

    private static boolean isToken(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (!isTchar(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    /** RFC 9110 §5.6.2 tchar. */
    static boolean isTchar(int c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
    }
}
