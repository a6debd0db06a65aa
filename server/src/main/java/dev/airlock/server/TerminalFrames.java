package dev.airlock.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.airlock.sandbox.WindowSize;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;

/**
 * The upstream frames of a command on a terminal (docs/daemon.md, "A terminal through the
 * daemon"): after the request's first line, which carries {@code "tty": {"rows": R, "cols": C}},
 * every body line is one JSON object, {@code {"stdin": BASE64}} (keys as typed, ^C included) or
 * {@code {"resize": [ROWS, COLS]}}. Lines are what a small client in any language can write; the
 * downstream is the same NDJSON stream as without a terminal (its output as {@code "stdout"}).
 */
final class TerminalFrames {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One upstream frame. */
    sealed interface Frame {
    }

    /** Bytes for the terminal's input. */
    record Stdin(byte[] data) implements Frame {
    }

    /** The client's window has this size now. */
    record Resize(WindowSize size) implements Frame {
    }

    /** A line that is no frame of this protocol (later additions, or garbage): skipped. */
    record Unknown(String why) implements Frame {
    }

    private TerminalFrames() {
    }

    static String stdin(byte[] b, int off, int len) {
        return "{\"stdin\":\"" + Base64.getEncoder().encodeToString(java.util.Arrays.copyOfRange(b, off, off + len)) + "\"}\n";
    }

    static String resize(WindowSize s) {
        return "{\"resize\":[" + s.rows() + "," + s.cols() + "]}\n";
    }

    /** The frame a body line (without its newline) holds. */
    static Frame parse(String line) {
        JsonNode n;
        try {
            n = JSON.readTree(line);
        } catch (IOException e) {
            return new Unknown("not JSON");
        }
        if (n == null || !n.isObject()) {
            return new Unknown("not a JSON object");
        }
        if (n.path("stdin").isTextual()) {
            try {
                return new Stdin(Base64.getDecoder().decode(n.get("stdin").asText()));
            } catch (IllegalArgumentException e) {
                return new Unknown("stdin is not base64");
            }
        }
        JsonNode r = n.path("resize");
        if (r.isArray() && r.size() == 2 && r.get(0).canConvertToInt() && r.get(1).canConvertToInt()) {
            try {
                return new Resize(new WindowSize(r.get(0).asInt(), r.get(1).asInt()));
            } catch (IllegalArgumentException e) {
                return new Unknown(e.getMessage());
            }
        }
        return new Unknown("neither stdin nor resize");
    }

    /** The request's terminal ({@code "tty": {"rows": R, "cols": C}}), or empty for plain pipes. */
    static Optional<WindowSize> requested(JsonNode req) throws ApiHandler.BadRequest {
        JsonNode t = req.get("tty");
        if (t == null || t.isNull()) {
            return Optional.empty();
        }
        if (!t.isObject() || !t.path("rows").canConvertToInt() || !t.path("cols").canConvertToInt()) {
            throw new ApiHandler.BadRequest("`tty` must be {\"rows\": R, \"cols\": C} (the client's window size), or absent for pipes");
        }
        try {
            return Optional.of(new WindowSize(t.get("rows").asInt(), t.get("cols").asInt()));
        } catch (IllegalArgumentException e) {
            throw new ApiHandler.BadRequest("`tty`: " + e.getMessage());
        }
    }

    /** Splits a body into lines across chunks (a line may span chunks, a chunk may hold several lines). */
    static final class Lines {
        /** A frame line is small (a read of the client's keys, base64): a longer one is cut off. */
        static final int MAX_LINE = 1 << 20;
        private final java.io.ByteArrayOutputStream pending = new java.io.ByteArrayOutputStream();

        /** The complete lines in {@code data} (and what earlier chunks left), in order. */
        java.util.List<String> feed(byte[] data) {
            java.util.List<String> out = new java.util.ArrayList<>();
            for (byte b : data) {
                if (b == '\n') {
                    out.add(pending.toString(StandardCharsets.UTF_8));
                    pending.reset();
                } else if (pending.size() < MAX_LINE) {
                    pending.write(b);
                }
            }
            return out;
        }
    }
}
