package dev.airlock.gateway.peek;

import java.nio.ByteBuffer;

/**
 * Finds every request head on one plain-HTTP/1 connection, so that each one's {@code Host} is
 * checked: keep-alive and pipelined requests alike. It walks the client's bytes by their framing:
 * a head (read by {@link HttpHeadPeek}), then its body by {@code Content-Length}, or by chunks and
 * trailers for {@code Transfer-Encoding: chunked}, or none; then the next head.
 *
 * <p>Design. Hand-written rather than Netty's {@code HttpRequestDecoder}, because the gateway must
 * relay the client's bytes exactly as sent (it never re-encodes a request) and must read them as
 * strictly as {@link HttpHeadPeek} reads the first head: a parser that is more lenient than the
 * origin's could be led to see a body where the origin sees a request (smuggling). Everything
 * {@code HttpHeadPeek} refuses is refused in every head, and in the chunk framing: a chunk size
 * that is not 1 to 16 hex digits directly followed by CRLF or by {@code ;extension}, a bare LF,
 * whitespace before the extension, a chunk not followed by CRLF, a control byte in a chunk line or
 * trailer, and a chunk line or trailer section over its bound. Not thread-safe; one per
 * connection. Body bytes are never copied: {@link Pass} says how many may go on as they are.
 *
 * <p>Use: call {@link #next} with the bytes not yet relayed; act on the step; advance the input by
 * exactly the step's length ({@link Pass#bytes()}, or the head's {@code headLength}); call again.
 */
public final class HttpRequestStream {

    /** A chunk-size line with its extension: far more than any client sends, small enough to hold. */
    static final int MAX_CHUNK_LINE = 1024;
    /** The trailer section, like a head. */
    static final int MAX_TRAILER_BYTES = HttpHeadPeek.MAX_HEAD_BYTES;
    /** Hex digits in a chunk size: below 2^60, far past any real chunk; more overflow some parsers and not others. */
    private static final int MAX_CHUNK_SIZE_DIGITS = 15;

    /** What the next bytes are. */
    public sealed interface Step permits NeedMore, Pass, Head, Refused {
    }

    /** Nothing can be said before more bytes arrive. */
    public record NeedMore() implements Step {
    }

    /** The next {@code bytes} bytes are body or body framing: they may be relayed as they are. */
    public record Pass(int bytes) implements Step {
    }

    /** A complete head, {@code request.headLength()} bytes: check it before relaying it. */
    public record Head(HttpHeadPeek.Request request) implements Step {
    }

    /** The bytes cannot be framed safely; {@code why} is for the audit log (no raw control bytes). */
    public record Refused(String why) implements Step {
    }

    private enum State { HEAD, BODY, CHUNK_SIZE, CHUNK_DATA, CHUNK_END, TRAILERS }

    private static final NeedMore NEED_MORE = new NeedMore();

    private State state = State.HEAD;
    private long remaining;
    private int trailerBytes;
    private int heads;

    /** Heads returned so far; the first is number 1. */
    public int heads() {
        return heads;
    }

    /** True between requests: no head, body or chunk is in progress. */
    public boolean atRequestBoundary() {
        return state == State.HEAD;
    }

    /**
     * Examines the bytes from the buffer's position to its limit without changing the buffer. The
     * caller must relay (or drop) exactly the bytes the step covers before calling again.
     */
    public Step next(ByteBuffer unrelayed) {
        int avail = unrelayed.remaining();
        int base = unrelayed.position();
        return switch (state) {
            case HEAD -> head(unrelayed);
            case BODY, CHUNK_DATA -> {
                if (avail == 0) {
                    yield NEED_MORE;
                }
                int n = (int) Math.min(remaining, avail);
                remaining -= n;
                if (remaining == 0) {
                    state = state == State.BODY ? State.HEAD : State.CHUNK_END;
                }
                yield new Pass(n);
            }
            case CHUNK_SIZE -> chunkSize(unrelayed, base, avail);
            case CHUNK_END -> {
                if (avail >= 1 && unrelayed.get(base) != '\r' || avail >= 2 && unrelayed.get(base + 1) != '\n') {
                    yield new Refused("a chunk's data is not followed by CRLF");
                }
                if (avail < 2) {
                    yield NEED_MORE;
                }
                state = State.CHUNK_SIZE;
                yield new Pass(2);
            }
            case TRAILERS -> trailer(unrelayed, base, avail);
        };
    }

    private Step head(ByteBuffer unrelayed) {
        if (!unrelayed.hasRemaining()) {
            return NEED_MORE;
        }
        return switch (HttpHeadPeek.parse(unrelayed)) {
            case HttpHeadPeek.NeedMore m -> NEED_MORE;
            case HttpHeadPeek.Malformed m -> new Refused("request " + (heads + 1) + ": " + m.why());
            case HttpHeadPeek.Request r -> {
                heads++;
                if (r.chunked()) {
                    state = State.CHUNK_SIZE;
                } else if (r.contentLength() > 0) {
                    state = State.BODY;
                    remaining = r.contentLength();
                }
                yield new Head(r);
            }
        };
    }

    /** RFC 9112 §7.1: {@code chunk-size [ chunk-ext ] CRLF}, read strictly. */
    private Step chunkSize(ByteBuffer b, int base, int avail) {
        int limit = Math.min(avail, MAX_CHUNK_LINE);
        int digits = 0;
        long size = 0;
        for (int i = 0; i < limit; i++) {
            int c = b.get(base + i) & 0xFF;
            int hex = Character.digit(c, 16);
            if (hex >= 0 && digits == i) {
                if (++digits > MAX_CHUNK_SIZE_DIGITS) {
                    return new Refused("a chunk size of more than " + MAX_CHUNK_SIZE_DIGITS + " hex digits");
                }
                size = size * 16 + hex;
                continue;
            }
            if (digits == 0) {
                return new Refused(String.format("a chunk size starts with 0x%02x, not a hex digit", c));
            }
            if (i == digits && c != '\r' && c != ';') {
                return new Refused(String.format("0x%02x after a chunk size; only ';' or CRLF may follow it", c));
            }
            if (c == '\n') {
                if (b.get(base + i - 1) != '\r') {
                    return new Refused("a bare LF ends a chunk-size line");
                }
                if (size == 0) {
                    state = State.TRAILERS;
                    trailerBytes = 0;
                } else {
                    state = State.CHUNK_DATA;
                    remaining = size;
                }
                return new Pass(i + 1);
            }
            if (c == '\r') {
                if (i + 1 < avail && b.get(base + i + 1) != '\n') {
                    return new Refused("a CR not followed by LF in a chunk-size line");
                }
            } else if (c < 0x20 && c != '\t' || c == 0x7F) {
                return new Refused(String.format("control byte 0x%02x in a chunk extension", c));
            }
        }
        return avail >= MAX_CHUNK_LINE ? new Refused("a chunk-size line longer than " + MAX_CHUNK_LINE + " bytes") : NEED_MORE;
    }

    /** One trailer line, or the empty line that ends the message. */
    private Step trailer(ByteBuffer b, int base, int avail) {
        int limit = Math.min(avail, MAX_TRAILER_BYTES - trailerBytes);
        for (int i = 0; i < limit; i++) {
            int c = b.get(base + i) & 0xFF;
            if (c == '\n') {
                if (i == 0 || b.get(base + i - 1) != '\r') {
                    return new Refused("a bare LF in the trailers");
                }
                if (i == 1) {
                    state = State.HEAD;
                } else {
                    trailerBytes += i + 1;
                }
                return new Pass(i + 1);
            }
            if (i == 0 && (c == ' ' || c == '\t')) {
                return new Refused("a trailer line starts with whitespace (obs-fold)");
            }
            if (c == '\r') {
                if (i + 1 < avail && b.get(base + i + 1) != '\n') {
                    return new Refused("a CR not followed by LF in the trailers");
                }
            } else if (c < 0x20 && c != '\t' || c == 0x7F) {
                return new Refused(String.format("control byte 0x%02x in the trailers", c));
            }
        }
        return trailerBytes + avail >= MAX_TRAILER_BYTES
                ? new Refused("trailers longer than " + MAX_TRAILER_BYTES + " bytes") : NEED_MORE;
    }
}
