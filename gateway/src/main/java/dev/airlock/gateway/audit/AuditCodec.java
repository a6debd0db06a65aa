package dev.airlock.gateway.audit;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.airlock.policy.Printable;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The one place that turns records into bytes and bytes into records, and defines the hash.
 *
 * <p>Design: a record's canonical form is compact JSON with the fields in {@link #FIELDS} order,
 * no whitespace, integers in plain decimal, and strings that are printable ASCII (0x20–0x7E) in
 * which only {@code "} and {@code \} are escaped (as {@code \"} and {@code \\}). Every string went
 * through {@link Printable#escape} first, so that is all JSON escaping ever has to do, and the form
 * can be rebuilt byte for byte without Jackson. {@code hash} is the lower-case hex SHA-256 of the
 * canonical form <em>without</em> the hash field, i.e. of the line as written with
 * {@code ,"hash":"…"} removed and no newline. The reader accepts a line only if re-encoding what it
 * parsed gives back exactly the same bytes, so any edit either breaks that or changes the hash.
 */
final class AuditCodec {

    static final String SEQ = "seq";
    static final String TIME = "time";
    static final String EVENT = "event";
    static final String SANDBOX = "sandbox";
    static final String PROJECT = "project";
    static final String VIA = "via";
    static final String CLIENT = "client";
    static final String NAME = "name";
    static final String PORT = "port";
    static final String ADDRESSES = "addresses";
    static final String DECISION = "decision";
    static final String RULE = "rule";
    static final String REASON = "reason";
    static final String BYTES_UP = "bytesUp";
    static final String BYTES_DOWN = "bytesDown";
    static final String DURATION_MS = "durationMs";
    static final String SOURCE = "source";
    static final String SOURCE_SEQ = "sourceSeq";
    static final String SOURCE_HASH = "sourceHash";
    static final String PREV = "prev";
    static final String HASH = "hash";

    /** The contract's field order (DESIGN.md §2); the hash depends on it. */
    static final List<String> FIELDS = List.of(SEQ, TIME, EVENT, SANDBOX, PROJECT, VIA, CLIENT, NAME, PORT, ADDRESSES,
            DECISION, RULE, REASON, BYTES_UP, BYTES_DOWN, DURATION_MS, PREV, HASH);

    /** A forwarded record's fields: its {@link Origin} between {@code durationMs} and {@code prev}. */
    static final List<String> FORWARDED_FIELDS = List.of(SEQ, TIME, EVENT, SANDBOX, PROJECT, VIA, CLIENT, NAME, PORT, ADDRESSES,
            DECISION, RULE, REASON, BYTES_UP, BYTES_DOWN, DURATION_MS, SOURCE, SOURCE_SEQ, SOURCE_HASH, PREV, HASH);

    /** ISO-8601 in UTC with exactly three fractional digits, so that every time has one spelling. */
    private static final DateTimeFormatter TIME_FORMAT =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    /** Thread-safe once configured; shared by the writer thread and every reader. */
    private static final JsonFactory JSON = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();
    private static final ObjectMapper MAPPER = new ObjectMapper(JSON)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private AuditCodec() {
    }

    // ---- writing ----------------------------------------------------------------------------------

    /** A record ready to append, with the exact bytes of its line. */
    record Sealed(AuditRecord record, byte[] line) {
    }

    /**
     * Builds the record the writer appends: every string escaped, the hash computed, the line encoded
     * (once: the line is the hashed bytes with the hash spliced in before the closing brace).
     */
    static Sealed seal(long seq, Instant time, AuditEvent e, String prev) {
        List<String> addresses = new ArrayList<>(e.addresses().size());
        e.addresses().forEach(a -> addresses.add(Printable.escape(a)));
        AuditRecord unsealed = new AuditRecord(seq, time.truncatedTo(ChronoUnit.MILLIS), e.event(),
                Printable.escape(e.sandbox()), Printable.escape(e.project()), e.via(), Printable.escape(e.client()),
                Printable.escape(e.name()), e.port(), addresses, e.decision(), Printable.escape(e.rule()),
                new RecordedReason.Known(e.reason()), e.bytesUp(), e.bytesDown(), e.durationMs(), prev, ChainHead.GENESIS_HASH);
        byte[] hashed = encode(unsealed);
        String hash = sha256(hashed);
        return new Sealed(withHash(unsealed, hash), lineOf(hashed, hash));
    }

    /**
     * Builds the record the daemon appends for a record another chain held first: its fields as
     * that chain wrote them (already escaped, so not escaped again), its {@code origin}, and this
     * chain's {@code seq} and {@code prev}.
     */
    static Sealed sealForwarded(long seq, AuditRecord r, Origin origin, String prev) {
        AuditRecord unsealed = new AuditRecord(seq, r.time(), r.event(), r.sandbox(), r.project(), r.via(), r.client(), r.name(),
                r.port(), r.addresses(), r.decision(), r.rule(), r.reason(), r.bytesUp(), r.bytesDown(), r.durationMs(),
                java.util.Optional.of(origin), prev, ChainHead.GENESIS_HASH);
        byte[] hashed = encode(unsealed);
        String hash = sha256(hashed);
        return new Sealed(withHash(unsealed, hash), lineOf(hashed, hash));
    }

    /**
     * One digest per thread (the writer's, a reader's): {@code MessageDigest.getInstance} looks the
     * provider up and checks the algorithm constraints on every call, which the writer paid per record.
     * {@code digest} resets it, so each use starts clean.
     */
    private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    });

    private static String sha256(byte[] bytes) {
        return ChainHead.hex(SHA256.get().digest(bytes));
    }

    /** {@code {…,"prev":"…"}} becomes {@code {…,"prev":"…","hash":"…"}\n}. */
    private static byte[] lineOf(byte[] hashed, String hash) {
        byte[] tail = (",\"" + HASH + "\":\"" + hash + "\"}\n").getBytes(StandardCharsets.US_ASCII);
        byte[] line = Arrays.copyOf(hashed, hashed.length - 1 + tail.length);
        System.arraycopy(tail, 0, line, hashed.length - 1, tail.length);
        return line;
    }

    static String formatTime(Instant t) {
        return TIME_FORMAT.format(t);
    }

    private static AuditRecord withHash(AuditRecord r, String hash) {
        return new AuditRecord(r.seq(), r.time(), r.event(), r.sandbox(), r.project(), r.via(), r.client(), r.name(),
                r.port(), r.addresses(), r.decision(), r.rule(), r.reason(), r.bytesUp(), r.bytesDown(), r.durationMs(),
                r.origin(), r.prev(), hash);
    }

    /** The canonical form without {@code hash}: the bytes that are hashed. */
    private static byte[] encode(AuditRecord r) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(512);
        try (JsonGenerator g = JSON.createGenerator(bytes)) {
            g.writeStartObject();
            g.writeNumberField(SEQ, r.seq());
            g.writeStringField(TIME, formatTime(r.time()));
            g.writeStringField(EVENT, r.event().code);
            g.writeStringField(SANDBOX, r.sandbox());
            g.writeStringField(PROJECT, r.project());
            g.writeStringField(VIA, r.via().code);
            g.writeStringField(CLIENT, r.client());
            g.writeStringField(NAME, r.name());
            g.writeNumberField(PORT, r.port());
            g.writeArrayFieldStart(ADDRESSES);
            for (String a : r.addresses()) {
                g.writeString(a);
            }
            g.writeEndArray();
            g.writeStringField(DECISION, r.decision().code);
            g.writeStringField(RULE, r.rule());
            g.writeStringField(REASON, r.reason().code());
            g.writeNumberField(BYTES_UP, r.bytesUp());
            g.writeNumberField(BYTES_DOWN, r.bytesDown());
            g.writeNumberField(DURATION_MS, r.durationMs());
            if (r.origin().isPresent()) {
                Origin o = r.origin().get();
                g.writeStringField(SOURCE, o.source());
                g.writeNumberField(SOURCE_SEQ, o.seq());
                g.writeStringField(SOURCE_HASH, o.hash());
            }
            g.writeStringField(PREV, r.prev());
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException("writing JSON to memory cannot fail", e);
        }
        return bytes.toByteArray();
    }

    // ---- reading ----------------------------------------------------------------------------------

    /** The outcome of parsing one line: a record, or why the line is not one. */
    sealed interface Parse permits Parsed, Bad {
    }

    /** @param hashMatches whether the record's hash is the hash of its content */
    record Parsed(AuditRecord record, boolean hashMatches) implements Parse {
    }

    record Bad(String why) implements Parse {
    }

    /** Parses one line (without its newline) strictly: the fields, their types, then the canonical form. */
    static Parse parse(byte[] line) {
        JsonNode node;
        try {
            node = MAPPER.readTree(line);
        } catch (IOException e) {
            String why = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            return new Bad("not valid JSON (" + Printable.escape(firstLine(why)) + ")");
        }
        if (node == null || !node.isObject()) {
            return new Bad("not a JSON object");
        }
        AuditRecord r;
        try {
            boolean forwarded = checkFieldOrder(node);
            r = new AuditRecord(number(node, SEQ), time(node), event(node), text(node, SANDBOX), text(node, PROJECT),
                    via(node), text(node, CLIENT), text(node, NAME), port(node), addresses(node), decision(node),
                    text(node, RULE), RecordedReason.of(text(node, REASON)), number(node, BYTES_UP), number(node, BYTES_DOWN),
                    number(node, DURATION_MS), forwarded ? java.util.Optional.of(origin(node)) : java.util.Optional.empty(),
                    hash(node, PREV), hash(node, HASH));
        } catch (BadField e) {
            return new Bad(e.getMessage());
        }
        byte[] hashed = encode(r);
        byte[] canonical = lineOf(hashed, r.hash());
        if (!Arrays.equals(canonical, 0, canonical.length - 1, line, 0, line.length)) {
            return new Bad("not in the exact form the writer produces (spacing, escaping or number format differs)");
        }
        return new Parsed(r, sha256(hashed).equals(r.hash()));
    }

    /** Checks the fields' names and order; true when they are a forwarded record's (with its origin). */
    private static boolean checkFieldOrder(JsonNode node) throws BadField {
        List<String> names = new ArrayList<>();
        for (Map.Entry<String, JsonNode> field : node.properties()) {
            names.add(field.getKey());
        }
        int at = FORWARDED_FIELDS.indexOf(SOURCE);
        boolean forwarded = names.size() > at && names.get(at).equals(SOURCE);
        List<String> fields = forwarded ? FORWARDED_FIELDS : FIELDS;
        for (int i = 0; i < fields.size(); i++) {
            if (i >= names.size()) {
                throw new BadField("field '" + fields.get(i) + "' is missing");
            }
            if (!names.get(i).equals(fields.get(i))) {
                throw new BadField("expected field '" + fields.get(i) + "' at position " + (i + 1) + ", found '"
                        + Printable.escape(names.get(i)) + "'");
            }
        }
        if (names.size() > fields.size()) {
            throw new BadField("unexpected field '" + Printable.escape(names.get(fields.size())) + "' after 'hash'");
        }
        return forwarded;
    }

    private static Origin origin(JsonNode node) throws BadField {
        String source = text(node, SOURCE);
        long seq = number(node, SOURCE_SEQ);
        if (source.isEmpty() || seq < 1) {
            throw new BadField("fields 'source' and 'sourceSeq' must name a writer and a seq of at least 1");
        }
        return new Origin(source, seq, hash(node, SOURCE_HASH));
    }

    private static String text(JsonNode node, String field) throws BadField {
        return printable(node.get(field), field);
    }

    private static String printable(JsonNode v, String field) throws BadField {
        if (!v.isTextual()) {
            throw new BadField("field '" + field + "' is not a string");
        }
        String s = v.textValue();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c > 0x7E) {
                throw new BadField("field '" + field + "' contains a control or non-ASCII character (U+"
                        + String.format("%04X", (int) c) + "); the writer never writes one");
            }
        }
        return s;
    }

    private static long number(JsonNode node, String field) throws BadField {
        JsonNode v = node.get(field);
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
            throw new BadField("field '" + field + "' is not a non-negative integer");
        }
        return v.longValue();
    }

    private static int port(JsonNode node) throws BadField {
        long p = number(node, PORT);
        if (p > 65535) {
            throw new BadField("field 'port' is not between 0 and 65535");
        }
        return (int) p;
    }

    private static Instant time(JsonNode node) throws BadField {
        String s = text(node, TIME);
        try {
            return Instant.parse(s);
        } catch (DateTimeParseException e) {
            throw new BadField("field 'time' is not an ISO-8601 UTC time: \"" + s + "\"");
        }
    }

    private static AuditEvent.Event event(JsonNode node) throws BadField {
        return coded(node, EVENT, AuditEvent.Event.values(), e -> e.code);
    }

    private static AuditEvent.Via via(JsonNode node) throws BadField {
        return coded(node, VIA, AuditEvent.Via.values(), v -> v.code);
    }

    private static AuditEvent.Decision decision(JsonNode node) throws BadField {
        return coded(node, DECISION, AuditEvent.Decision.values(), d -> d.code);
    }

    /** The value whose code the field holds, or which codes it could have held ("a, b or c"). */
    private static <E> E coded(JsonNode node, String field, E[] values, Function<E, String> code) throws BadField {
        String s = text(node, field);
        for (E v : values) {
            if (code.apply(v).equals(s)) {
                return v;
            }
        }
        List<String> codes = Arrays.stream(values).map(code).toList();
        throw new BadField("field '" + field + "' is \"" + s + "\", not " + String.join(", ", codes.subList(0, codes.size() - 1))
                + " or " + codes.get(codes.size() - 1));
    }

    private static List<String> addresses(JsonNode node) throws BadField {
        JsonNode v = node.get(ADDRESSES);
        if (!v.isArray()) {
            throw new BadField("field 'addresses' is not an array");
        }
        List<String> out = new ArrayList<>(v.size());
        for (JsonNode a : v) {
            out.add(printable(a, ADDRESSES));
        }
        return out;
    }

    private static String hash(JsonNode node, String field) throws BadField {
        String s = text(node, field);
        if (!ChainHead.isHash(s)) {
            throw new BadField("field '" + field + "' is not 64 lower-case hex digits");
        }
        return s;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** A field that is missing, mistyped or out of range; the message says which and how. */
    private static final class BadField extends Exception {
        BadField(String why) {
            super(why, null, false, false);
        }
    }
}
