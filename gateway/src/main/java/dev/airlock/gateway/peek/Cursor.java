package dev.airlock.gateway.peek;

import java.nio.charset.StandardCharsets;

/**
 * A bounds-checked reader over part of a byte array, for TLS structures. Every read names the field
 * it reads, so that a short or overlong length becomes a {@link Invalid} that says which field was
 * wrong. Nothing here ever reads outside {@code [pos, limit)}.
 */
final class Cursor {

    /** Thrown for malformed input and turned into a result at the parser's edge; never escapes it. */
    static final class Invalid extends RuntimeException {
        Invalid(String why) {
            // No stack trace: this is control flow for hostile input, and must stay cheap.
            super(why, null, false, false);
        }
    }

    private final byte[] bytes;
    private final int limit;
    private int pos;

    Cursor(byte[] bytes, int from, int to) {
        if (from < 0 || to > bytes.length || from > to) {
            throw new IllegalArgumentException("range " + from + ".." + to + " outside 0.." + bytes.length);
        }
        this.bytes = bytes;
        this.pos = from;
        this.limit = to;
    }

    int remaining() {
        return limit - pos;
    }

    boolean atEnd() {
        return pos == limit;
    }

    int u8(String field) {
        need(1, field);
        return bytes[pos++] & 0xFF;
    }

    int u16(String field) {
        need(2, field);
        int v = ((bytes[pos] & 0xFF) << 8) | (bytes[pos + 1] & 0xFF);
        pos += 2;
        return v;
    }

    void skip(int n, String field) {
        need(n, field);
        pos += n;
    }

    /**
     * A TLS vector ({@code opaque field<min..max>}): reads its length, of {@code lengthBytes} bytes,
     * checks it against the bounds and what is left, and returns a cursor over exactly its content.
     */
    Cursor vector(int lengthBytes, int min, int max, String field) {
        int length = lengthBytes == 1 ? u8(field + " length") : u16(field + " length");
        if (length < min || length > max) {
            throw new Invalid(field + " length " + length + " is outside " + min + ".." + max);
        }
        if (length > remaining()) {
            throw new Invalid(field + " length " + length + " runs past its enclosing structure ("
                    + remaining() + " bytes left)");
        }
        Cursor inner = new Cursor(bytes, pos, pos + length);
        pos += length;
        return inner;
    }

    /** The rest of this cursor as text, one char per byte, so that the text is exactly the bytes sent. */
    String latin1() {
        String s = new String(bytes, pos, limit - pos, StandardCharsets.ISO_8859_1);
        pos = limit;
        return s;
    }

    private void need(int n, String field) {
        if (n > remaining()) {
            throw new Invalid(field + " needs " + n + " bytes but only " + remaining() + " remain");
        }
    }
}
