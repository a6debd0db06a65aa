package dev.airlock.gateway.peek;

import dev.airlock.policy.Printable;
import dev.airlock.policy.address.IpLiterals;
import dev.airlock.policy.name.HostNames;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Reads the server names from the first bytes a client sends on a TLS port, before Airlock dials
 * anything: the gateway compares them with the name the connection was authorised for.
 *
 * <p>Design. The input is hostile, so the parser is pure and small: it takes the bytes received so
 * far and returns a closed set of answers; it keeps no state between calls, never changes the
 * buffer, never throws on any input, and looks at no more than {@link #MAX_PEEK_BYTES}. The caller
 * accumulates bytes and calls again while the answer is {@link NeedMore}; an answer other than
 * {@code NeedMore} is final, because it depends only on bytes already seen.
 *
 * <ul>
 *   <li>The ClientHello may be fragmented over several handshake records (RFC 8446 §5.1); the
 *       fragments are reassembled. A record of any other content type before the ClientHello is
 *       complete, an empty handshake record, or a record over 2^14 bytes is {@link Malformed}.</li>
 *   <li>If the very first bytes are not a handshake record header ({@code 0x16 0x03 0x00..0x04})
 *       the answer is {@link NotTls}, as soon as the first differing byte arrives. That includes
 *       an <b>SSLv2-compatible ClientHello</b> (first byte with the high bit set): it is not the
 *       TLS record protocol, cannot carry SNI, and no server Airlock fronts needs it (RFC 6176), so
 *       it is reported as "not TLS" rather than as a broken TLS hello.</li>
 *   <li>Every length is checked against its TLS bounds and against the structure that encloses it;
 *       lengths must add up exactly. The same extension twice is {@code Malformed}
 *       (RFC 8446 §4.2), because two {@code server_name} extensions would let Airlock and the
 *       server read different names. So is a {@code server_name} entry of a type other than
 *       {@code host_name}, and an empty one: TLS's grammar forbids both, and OpenSSL refuses them.</li>
 *   <li>A {@code host_name} that is well-formed TLS but not an acceptable DNS name is not dropped:
 *       it is returned in {@link Hello#rejectedNames()} with why, so the caller denies with the
 *       right reason. IP literals (anything {@link IpLiterals} calls numeric, RFC 6066 §3 forbids
 *       them in SNI), NUL and other control bytes, non-ASCII bytes (IDNs travel as A-labels) and
 *       whatever {@link HostNames} refuses land there. Upper case and one trailing dot are
 *       accepted, as everywhere in Airlock, and {@link Hello#soleName()} canonicalises them.</li>
 * </ul>
 *
 * <p>How the gateway reads the answer (deny wins): {@code NotTls} is {@code not-tls};
 * {@code Malformed} is {@code bad-request}; {@code NoSni} is {@code no-sni}; a {@code Hello} with an
 * IP-literal rejected name is {@code ip-literal}, with any other rejected name {@code bad-request};
 * a {@code Hello} whose {@link Hello#soleName()} is empty (several names) or differs from the
 * authorised name is {@code sni-mismatch}. Time is not this class's business: the caller bounds
 * how long it waits while the answer is {@code NeedMore} (a slow client must not hold a slot).
 */
public final class ClientHelloPeek {

    /**
     * Input bytes examined at most, record headers included: several times any real ClientHello,
     * post-quantum key shares and GREASE included, and a bound on what a connection can make
     * Airlock buffer before it is authorised.
     */
    public static final int MAX_PEEK_BYTES = 16384;

    /** RFC 8446 §5.1: a plaintext record carries at most 2^14 bytes. */
    static final int MAX_RECORD_LENGTH = 1 << 14;
    /** content type (1), legacy_record_version (2), length (2). */
    static final int RECORD_HEADER = 5;
    /** msg_type (1), length (3). */
    static final int HANDSHAKE_HEADER = 4;

    private static final int CONTENT_HANDSHAKE = 0x16;
    private static final int CLIENT_HELLO = 0x01;
    private static final int EXT_SERVER_NAME = 0x0000;
    private static final int EXT_ALPN = 0x0010;
    private static final int EXT_SUPPORTED_VERSIONS = 0x002b;
    private static final int NAME_TYPE_HOST_NAME = 0;

    private ClientHelloPeek() {
    }

    /** The closed set of answers. Every one but {@link NeedMore} is final. */
    public sealed interface Result permits NeedMore, NotTls, Hello, NoSni, Malformed {
    }

    /**
     * Not enough bytes yet. The answer cannot change before {@code atLeast} bytes have arrived in
     * total, so the caller may wait until then before calling again.
     */
    public record NeedMore(int atLeast) implements Result {
    }

    /** The first bytes are not a TLS handshake record. {@code why} is for the audit log (escaped). */
    public record NotTls(String why) implements Result {
    }

    /** The bytes are TLS but not a ClientHello Airlock accepts; {@code why} is for the audit log. */
    public record Malformed(String why) implements Result {
    }

    /**
     * A complete ClientHello with a {@code server_name} extension.
     *
     * @param serverNames   the acceptable {@code host_name} entries, in order, exactly as sent
     *                      (each is accepted by {@link HostNames#canonicalize}); several entries
     *                      mean the client is ambiguous about where it goes
     * @param rejectedNames entries that are IP literals or not valid host names
     * @param version       the highest version offered: from {@code supported_versions} when
     *                      present, otherwise {@code legacy_version}
     * @param alpn          the ALPN protocol names offered, in order, empty when absent
     */
    public record Hello(List<String> serverNames, List<RejectedName> rejectedNames, ProtocolVersion version,
                        List<String> alpn) implements Result {
        public Hello {
            serverNames = List.copyOf(serverNames);
            rejectedNames = List.copyOf(rejectedNames);
            alpn = List.copyOf(alpn);
        }

        /**
         * The canonical name when the hello names exactly one acceptable host and nothing else;
         * empty when the caller must deny (several names, or any rejected one).
         */
        public Optional<String> soleName() {
            if (serverNames.size() != 1 || !rejectedNames.isEmpty()) {
                return Optional.empty();
            }
            return HostNames.canonicalOrEmpty(serverNames.get(0));
        }
    }

    /** A complete, valid ClientHello without a {@code server_name} extension. */
    public record NoSni(ProtocolVersion version, List<String> alpn) implements Result {
        public NoSni {
            alpn = List.copyOf(alpn);
        }
    }

    /**
     * A {@code host_name} entry that must not be used as a name. {@code raw} is the entry exactly as
     * sent, one char per byte: escape it with {@link Printable#escape} before logging it.
     */
    public record RejectedName(String raw, Problem problem, String why) {
    }

    /** Why a {@code host_name} entry was rejected; maps to the {@code ip-literal} or {@code bad-request} reason. */
    public enum Problem {
        IP_LITERAL,
        INVALID_NAME
    }

    /** A TLS protocol version as on the wire, such as {@code 0x0303} for TLS 1.2. */
    public record ProtocolVersion(int wire) {
        @Override
        public String toString() {
            return switch (wire) {
                case 0x0300 -> "SSLv3";
                case 0x0301 -> "TLSv1";
                case 0x0302 -> "TLSv1.1";
                case 0x0303 -> "TLSv1.2";
                case 0x0304 -> "TLSv1.3";
                default -> String.format("0x%04x", wire);
            };
        }

        boolean isKnown() {
            return wire >= 0x0300 && wire <= 0x0304;
        }
    }

    /**
     * Examines the bytes from the buffer's position to its limit (at most {@link #MAX_PEEK_BYTES}
     * of them), without changing its position, limit or content.
     */
    public static Result parse(ByteBuffer bytesSoFar) {
        int base = bytesSoFar.position();
        int avail = Math.min(bytesSoFar.remaining(), MAX_PEEK_BYTES);

        // The first record header decides "TLS or not" byte by byte, so that a plain-text protocol
        // is answered as soon as its first byte arrives.
        if (avail == 0) {
            return new NeedMore(1);
        }
        int b0 = bytesSoFar.get(base) & 0xFF;
        if (b0 != CONTENT_HANDSHAKE) {
            return new NotTls(notTlsWhy(bytesSoFar, base, 1));
        }
        if (avail >= 2 && (bytesSoFar.get(base + 1) & 0xFF) != 0x03) {
            return new NotTls(notTlsWhy(bytesSoFar, base, 2));
        }
        if (avail >= 3 && (bytesSoFar.get(base + 2) & 0xFF) > 0x04) {
            return new NotTls(notTlsWhy(bytesSoFar, base, 3));
        }
        if (avail < 3) {
            return new NeedMore(avail + 1); // the next byte may already decide "not TLS"
        }

        byte[] handshake = new byte[avail];
        int handshakeLength = 0;      // bytes of handshake reassembled so far
        int helloEnd = -1;            // 4 + the ClientHello's declared length, once known
        int pos = 0;                  // start of the next record in the input
        while (true) {
            if (avail - pos < RECORD_HEADER) {
                if (avail == pos) {
                    return needMore(pos + 1); // its content type alone may decide
                }
                if ((bytesSoFar.get(base + pos) & 0xFF) != CONTENT_HANDSHAKE) {
                    return otherRecordType(bytesSoFar.get(base + pos) & 0xFF);
                }
                return needMore(pos + RECORD_HEADER);
            }
            int type = bytesSoFar.get(base + pos) & 0xFF;
            int major = bytesSoFar.get(base + pos + 1) & 0xFF;
            int minor = bytesSoFar.get(base + pos + 2) & 0xFF;
            int length = ((bytesSoFar.get(base + pos + 3) & 0xFF) << 8) | (bytesSoFar.get(base + pos + 4) & 0xFF);
            if (type != CONTENT_HANDSHAKE) {
                return otherRecordType(type);
            }
            if (!plausibleVersion(major, minor)) {
                return new Malformed(String.format("record version 0x%02x%02x is not TLS", major, minor));
            }
            if (length == 0) {
                return new Malformed("empty handshake record (RFC 8446 §5.1 forbids them)");
            }
            if (length > MAX_RECORD_LENGTH) {
                return new Malformed("record length " + length + " exceeds the TLS maximum of " + MAX_RECORD_LENGTH);
            }
            int end = pos + RECORD_HEADER + length;
            if (end > avail) {
                return needMore(end);
            }
            bytesSoFar.get(base + pos + RECORD_HEADER, handshake, handshakeLength, length);
            handshakeLength += length;
            pos = end;

            if (handshake[0] != CLIENT_HELLO) {
                return new Malformed("first handshake message has type " + (handshake[0] & 0xFF)
                        + ", not ClientHello (1)");
            }
            if (helloEnd < 0 && handshakeLength >= HANDSHAKE_HEADER) {
                int declared = ((handshake[1] & 0xFF) << 16) | ((handshake[2] & 0xFF) << 8) | (handshake[3] & 0xFF);
                helloEnd = HANDSHAKE_HEADER + declared;
                if (helloEnd + RECORD_HEADER > MAX_PEEK_BYTES) {
                    return tooLarge();
                }
            }
            if (helloEnd >= 0 && handshakeLength >= helloEnd) {
                if (handshakeLength > helloEnd) {
                    return new Malformed((handshakeLength - helloEnd) + " bytes follow the ClientHello in its record");
                }
                try {
                    return clientHello(new Cursor(handshake, HANDSHAKE_HEADER, helloEnd));
                } catch (Cursor.Invalid e) {
                    return new Malformed(e.getMessage());
                }
            }
        }
    }

    /** The ClientHello body (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2), complete and exactly delimited. */
    private static Result clientHello(Cursor body) {
        int legacyVersion = body.u16("legacy_version");
        if (legacyVersion >> 8 != 0x03) {
            throw new Cursor.Invalid(String.format("ClientHello legacy_version 0x%04x is not TLS", legacyVersion));
        }
        body.skip(32, "random");
        body.vector(1, 0, 32, "legacy_session_id");
        Cursor suites = body.vector(2, 2, 0xFFFE, "cipher_suites");
        if (suites.remaining() % 2 != 0) {
            throw new Cursor.Invalid("cipher_suites length " + suites.remaining() + " is odd");
        }
        body.vector(1, 1, 0xFF, "legacy_compression_methods");
        if (body.atEnd()) {
            // TLS 1.2 and older may omit the extensions block altogether.
            return new NoSni(new ProtocolVersion(legacyVersion), List.of());
        }
        Cursor extensions = body.vector(2, 0, 0xFFFF, "extensions");
        if (!body.atEnd()) {
            throw new Cursor.Invalid(body.remaining() + " bytes follow the extensions");
        }

        Set<Integer> seen = new HashSet<>();
        boolean hasServerName = false;
        List<String> names = new ArrayList<>();
        List<RejectedName> rejected = new ArrayList<>();
        List<String> alpn = List.of();
        int highest = -1;
        while (!extensions.atEnd()) {
            int type = extensions.u16("extension type");
            Cursor data = extensions.vector(2, 0, 0xFFFF, "extension_data");
            if (!seen.add(type)) {
                throw new Cursor.Invalid(String.format("extension 0x%04x appears twice", type));
            }
            switch (type) {
                case EXT_SERVER_NAME -> {
                    hasServerName = true;
                    serverNames(data, names, rejected);
                }
                case EXT_ALPN -> alpn = alpn(data);
                case EXT_SUPPORTED_VERSIONS -> highest = highestVersion(data);
                default -> {
                    // Other extensions do not concern the name; their framing was checked above.
                }
            }
        }
        ProtocolVersion version = new ProtocolVersion(highest >= 0 ? highest : legacyVersion);
        return hasServerName ? new Hello(names, rejected, version, alpn) : new NoSni(version, alpn);
    }

    /** RFC 6066 §3: {@code ServerName server_name_list<1..2^16-1>}. */
    private static void serverNames(Cursor data, List<String> names, List<RejectedName> rejected) {
        Cursor list = data.vector(2, 1, 0xFFFF, "server_name_list");
        if (!data.atEnd()) {
            throw new Cursor.Invalid(data.remaining() + " bytes follow the server_name_list");
        }
        while (!list.atEnd()) {
            int nameType = list.u8("server_name name_type");
            if (nameType != NAME_TYPE_HOST_NAME) {
                throw new Cursor.Invalid("server_name entry of type " + nameType + "; only host_name (0) is accepted");
            }
            String raw = list.vector(2, 1, 0xFFFF, "host_name").latin1();
            RejectedName problem = check(raw);
            if (problem == null) {
                names.add(raw);
            } else {
                rejected.add(problem);
            }
        }
    }

    /**
     * Null when {@code raw} is an acceptable host name; otherwise why not. The order matters:
     * control and non-ASCII bytes first (so that nothing below sees them), then IP literals: a
     * canonical address of either family, or a numeric shape that {@link HostNames} would otherwise
     * accept as a name and a resolver might read as an address ({@code 127.1}, {@code 0x7f.1},
     * {@code 192.0.2.1.}). Other text with {@code :} or brackets is simply not a host name.
     */
    static RejectedName check(String raw) {
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c <= 0x20 || c == 0x7F) {
                return new RejectedName(raw, Problem.INVALID_NAME, "NUL, control character or space in the server name");
            }
            if (c > 0x7E) {
                return new RejectedName(raw, Problem.INVALID_NAME,
                        "non-ASCII byte in the server name; internationalised names are sent as A-labels (xn--)");
            }
        }
        IpLiterals.Shape shape = IpLiterals.shape(raw);
        HostNames.Result name = HostNames.canonicalize(raw);
        if (shape instanceof IpLiterals.Canonical
                || shape instanceof IpLiterals.NonCanonical && name instanceof HostNames.Canonical) {
            return new RejectedName(raw, Problem.IP_LITERAL, "an IP address as the server name (RFC 6066 §3 forbids it)");
        }
        if (name instanceof HostNames.Invalid invalid) {
            return new RejectedName(raw, Problem.INVALID_NAME, invalid.why());
        }
        return null;
    }

    /** RFC 7301 §3.1: {@code ProtocolName protocol_name_list<2..2^16-1>}, each {@code <1..2^8-1>}. */
    private static List<String> alpn(Cursor data) {
        Cursor list = data.vector(2, 2, 0xFFFF, "protocol_name_list");
        if (!data.atEnd()) {
            throw new Cursor.Invalid(data.remaining() + " bytes follow the protocol_name_list");
        }
        List<String> protocols = new ArrayList<>();
        while (!list.atEnd()) {
            protocols.add(list.vector(1, 1, 0xFF, "protocol_name").latin1());
        }
        return protocols;
    }

    /** RFC 8446 §4.2.1: {@code ProtocolVersion versions<2..254>}; GREASE and unknown values are skipped. */
    private static int highestVersion(Cursor data) {
        Cursor list = data.vector(1, 2, 254, "supported_versions");
        if (!data.atEnd()) {
            throw new Cursor.Invalid(data.remaining() + " bytes follow supported_versions");
        }
        if (list.remaining() % 2 != 0) {
            throw new Cursor.Invalid("supported_versions length " + list.remaining() + " is odd");
        }
        int highest = -1;
        while (!list.atEnd()) {
            int v = list.u16("supported_versions entry");
            if (new ProtocolVersion(v).isKnown() && v > highest) {
                highest = v;
            }
        }
        return highest;
    }

    private static boolean plausibleVersion(int major, int minor) {
        return major == 0x03 && minor <= 0x04;
    }

    private static Result needMore(int atLeast) {
        // Bytes past the bound will never be examined, so waiting for them cannot help.
        return atLeast > MAX_PEEK_BYTES ? tooLarge() : new NeedMore(atLeast);
    }

    private static Malformed tooLarge() {
        return new Malformed("ClientHello larger than " + MAX_PEEK_BYTES + " bytes");
    }

    private static Malformed otherRecordType(int type) {
        return new Malformed("a TLS record of content type " + type + " arrived before the ClientHello was complete");
    }

    /** Names only the {@code deciding} bytes, so that the answer is the same however many follow. */
    private static String notTlsWhy(ByteBuffer in, int base, int deciding) {
        int b0 = in.get(base) & 0xFF;
        StringBuilder first = new StringBuilder();
        for (int i = 0; i < deciding; i++) {
            first.append(i == 0 ? "" : " ").append(String.format("%02x", in.get(base + i) & 0xFF));
        }
        if (b0 == CONTENT_HANDSHAKE) {
            return "handshake record with a version that is not TLS (first bytes " + first + ")";
        }
        if ((b0 & 0x80) != 0) {
            return "first byte " + first + " has the high bit set, an SSLv2-style header;"
                    + " SSLv2-compatible hellos carry no server name and are not accepted";
        }
        return "first byte " + first + " is not a TLS handshake record (0x16)";
    }
}
