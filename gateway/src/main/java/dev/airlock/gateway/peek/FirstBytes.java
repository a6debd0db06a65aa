package dev.airlock.gateway.peek;

import java.nio.ByteBuffer;
import java.util.HexFormat;

/**
 * Tells from the first bytes a client sends, not from the port, whether a connection speaks a
 * protocol that names its server: TLS (a handshake record header), HTTP/1 (a request line), or
 * HTTP/2 with prior knowledge (its connection preface). Everything else is opaque: it names no
 * server, and it is relayed as it is to the name and port that were authorised.
 *
 * <p>Design. The danger is calling opaque what an HTTP server would still read as a request: then
 * its {@code Host} goes unchecked. So the rule leans to "HTTP" whenever a server might: any
 * token followed by a space or tab is a request line until its end shows otherwise, because
 * servers such as Go's accept any token as a method; a line that ends without {@code HTTP/} is
 * opaque (no server takes it as an HTTP/1 request with headers), and one that names
 * {@code HTTP/} is HTTP whatever else is in it: leading whitespace, VT or FF after the method, a
 * control byte (lenient servers accept each of these). Only a NUL before any {@code HTTP/} makes
 * a line opaque before it ends (git's pkt-line). A leading CR or LF is HTTP too
 * (RFC 9112 §2.2 lets servers skip empty lines before a request), and {@link HttpHeadPeek} refuses it.
 * While the bytes so far could still be a request line, the answer is {@link NeedMore}: a raw
 * protocol whose first message is a lone token with no line end waits for more bytes (the caller's
 * time bound ends the wait). Pure, stateless, never throws, examines at most
 * {@link HttpHeadPeek#MAX_HEAD_BYTES}; past that an undecided line is {@link TooLong}, which the
 * caller refuses rather than relaying it unchecked.
 */
public final class FirstBytes {

    /** RFC 9113 §3.4, the client connection preface of HTTP/2 with prior knowledge. */
    public static final String HTTP2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

    private FirstBytes() {
    }

    /** The closed set of answers; every one but {@link NeedMore} is final. */
    public sealed interface Kind permits NeedMore, Tls, Http, Http2, Opaque, TooLong {
    }

    /** Not enough bytes to tell. */
    public record NeedMore() implements Kind {
    }

    /** A TLS handshake record begins: {@link ClientHelloPeek} reads the rest. */
    public record Tls() implements Kind {
    }

    /** An HTTP/1 request line (or something a server could take as one): {@link HttpHeadPeek} reads it. */
    public record Http() implements Kind {
    }

    /** The HTTP/2 connection preface (prior knowledge, no TLS). */
    public record Http2() implements Kind {
    }

    /** A protocol that names no server here; {@code why} says what the bytes were, for tests and logs. */
    public record Opaque(String why) implements Kind {
    }

    /** A possible request line longer than the peek bound. */
    public record TooLong() implements Kind {
    }

    private static final NeedMore NEED_MORE = new NeedMore();

    /** Examines the bytes from the buffer's position to its limit without changing the buffer. */
    public static Kind classify(ByteBuffer bytesSoFar) {
        int base = bytesSoFar.position();
        int avail = bytesSoFar.remaining();
        if (avail == 0) {
            return NEED_MORE;
        }
        int b0 = bytesSoFar.get(base) & 0xFF;
        if (b0 == 0x16) {
            return switch (ClientHelloPeek.parse(bytesSoFar)) {
                case ClientHelloPeek.NotTls n -> new Opaque("0x16 but not a TLS record header: " + n.why());
                case ClientHelloPeek.NeedMore m when avail < 3 -> NEED_MORE;
                // Enough of a record header to call it TLS; the handshake itself is checked later.
                case ClientHelloPeek.NeedMore m -> new Tls();
                case ClientHelloPeek.Hello h -> new Tls();
                case ClientHelloPeek.NoSni n -> new Tls();
                case ClientHelloPeek.Malformed m -> new Tls();
            };
        }
        if (b0 == '\r' || b0 == '\n') {
            return new Http();
        }
        int limit = Math.min(avail, HttpHeadPeek.MAX_HEAD_BYTES);
        if (isBlank(b0)) {
            // Leading whitespace: lenient servers skip it, so the line decides.
            return restOfLine(bytesSoFar, base, 1, limit, avail);
        }
        if (!HttpHeadPeek.isTchar(b0)) {
            return new Opaque("first byte 0x" + hex(b0) + " cannot start a request line");
        }
        int i = 1;
        while (i < limit && HttpHeadPeek.isTchar(bytesSoFar.get(base + i) & 0xFF)) {
            i++;
        }
        if (i == limit) {
            return avail >= HttpHeadPeek.MAX_HEAD_BYTES ? new TooLong() : NEED_MORE;
        }
        int sep = bytesSoFar.get(base + i) & 0xFF;
        if (!isBlank(sep)) {
            return new Opaque("a token followed by 0x" + hex(sep) + ", not a request line");
        }
        return restOfLine(bytesSoFar, base, i + 1, limit, avail);
    }

    /** SP and HT, and VT and FF, which some servers also take as whitespace between a method and its target. */
    private static boolean isBlank(int c) {
        return c == ' ' || c == '\t' || c == 0x0B || c == 0x0C;
    }

    /**
     * The rest of a line that could be a request line: once it ends, it is HTTP if it names
     * {@code HTTP/} anywhere, whatever else is in it (a lenient server may still take it, and
     * {@link HttpHeadPeek} refuses it). A control byte does not decide by itself, except NUL:
     * git's pkt-line ({@code "0032git-upload-pack /project\0host=…\0"}) has a NUL and no line end,
     * and it must not wait for one. A NUL before any {@code HTTP/} in the bytes so far is opaque.
     */
    private static Kind restOfLine(ByteBuffer b, int base, int from, int limit, int avail) {
        for (int j = from; j < limit; j++) {
            int c = b.get(base + j) & 0xFF;
            if (c == '\n') {
                return endOfLine(b, base, j, avail);
            }
            if (c == 0) {
                return containsHttpSlash(b, base, limit)
                        ? new Http() : new Opaque("a NUL in the first line before any HTTP version");
            }
        }
        return avail >= HttpHeadPeek.MAX_HEAD_BYTES ? new TooLong() : NEED_MORE;
    }

    private static boolean containsHttpSlash(ByteBuffer b, int base, int limit) {
        return ascii(b, base, base + limit).toUpperCase(java.util.Locale.ROOT).contains("HTTP/");
    }

    /** The first line is complete (its LF at {@code lf}); does it name an HTTP version? */
    private static Kind endOfLine(ByteBuffer b, int base, int lf, int avail) {
        String line = ascii(b, base, base + lf);
        if (HTTP2_PREFACE.startsWith(line + "\n")) {
            // Compare the whole preface when it is there; a prefix is enough to refuse it.
            return new Http2();
        }
        if (line.toUpperCase(java.util.Locale.ROOT).contains("HTTP/")) {
            return new Http();
        }
        return new Opaque("a first line that names no HTTP version");
    }

    private static String ascii(ByteBuffer b, int from, int to) {
        char[] c = new char[to - from];
        for (int i = 0; i < c.length; i++) {
            c[i] = (char) (b.get(from + i) & 0xFF);
        }
        return new String(c);
    }

    /**
     * Two lower-case hex digits, as {@code %02x} writes them. Not String.format: every raw TCP
     * tunnel is classified Opaque with this text, and the formatter parsed its pattern each time.
     */
    private static String hex(int b) {
        return HexFormat.of().toHexDigits((byte) b);
    }
}
