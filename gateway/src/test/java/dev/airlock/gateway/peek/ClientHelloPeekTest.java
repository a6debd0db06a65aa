package dev.airlock.gateway.peek;

import static dev.airlock.gateway.peek.ClientHelloBuilder.EXT_ALPN;
import static dev.airlock.gateway.peek.ClientHelloBuilder.EXT_SERVER_NAME;
import static dev.airlock.gateway.peek.ClientHelloBuilder.EXT_SUPPORTED_GROUPS;
import static dev.airlock.gateway.peek.ClientHelloBuilder.EXT_SUPPORTED_VERSIONS;
import static dev.airlock.gateway.peek.ClientHelloBuilder.clientHello;
import static dev.airlock.gateway.peek.ClientHelloBuilder.concat;
import static dev.airlock.gateway.peek.ClientHelloBuilder.record;
import static dev.airlock.gateway.peek.ClientHelloBuilder.vector16;
import static dev.airlock.gateway.peek.ClientHelloBuilder.vector8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import dev.airlock.gateway.peek.ClientHelloPeek.Hello;
import dev.airlock.gateway.peek.ClientHelloPeek.Malformed;
import dev.airlock.gateway.peek.ClientHelloPeek.NeedMore;
import dev.airlock.gateway.peek.ClientHelloPeek.NoSni;
import dev.airlock.gateway.peek.ClientHelloPeek.NotTls;
import dev.airlock.gateway.peek.ClientHelloPeek.Problem;
import dev.airlock.gateway.peek.ClientHelloPeek.ProtocolVersion;
import dev.airlock.gateway.peek.ClientHelloPeek.RejectedName;
import dev.airlock.gateway.peek.ClientHelloPeek.Result;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class ClientHelloPeekTest {

    private static final ProtocolVersion TLS12 = new ProtocolVersion(0x0303);
    private static final ProtocolVersion TLS13 = new ProtocolVersion(0x0304);

    static Result parse(byte[] bytes) {
        return ClientHelloPeek.parse(ByteBuffer.wrap(bytes));
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** A server_name extension body with one host_name entry per name. */
    static byte[] sniData(String... names) {
        byte[] list = new byte[0];
        for (String n : names) {
            list = concat(list, new byte[] {0}, vector16(ascii(n)));
        }
        return vector16(list);
    }

    // ---- server names --------------------------------------------------------------------------------

    @Test
    void parse_oneServerName_returnsItVerbatim() {
        assertThat(parse(clientHello().serverName("example.test").build()))
                .isEqualTo(new Hello(List.of("example.test"), List.of(), TLS12, List.of()));
    }

    @Test
    void parse_upperCaseAndTrailingDot_areAcceptedAndSoleNameCanonicalises() {
        Hello hello = (Hello) parse(clientHello().serverName("GitHub.COM.").build());
        assertThat(hello.serverNames()).containsExactly("GitHub.COM.");
        assertThat(hello.soleName()).contains("github.com");
    }

    @Test
    void parse_severalNames_returnsAllInOrderAndNoSoleName() {
        Hello hello = (Hello) parse(clientHello().serverName("allowed.example").serverName("evil.example").build());
        assertThat(hello.serverNames()).containsExactly("allowed.example", "evil.example");
        assertThat(hello.soleName()).isEmpty();
    }

    @Test
    void parse_sameNameTwice_returnsBothSoTheCallerDenies() {
        Hello hello = (Hello) parse(clientHello().serverName("a.example").serverName("a.example").build());
        assertThat(hello.serverNames()).containsExactly("a.example", "a.example");
        assertThat(hello.soleName()).isEmpty();
    }

    @Test
    void parse_extensionsBeforeAndAfterServerName_stillFindsIt() {
        byte[] hello = clientHello().typicalExtensions().supportedVersions(0x0304, 0x0303)
                .serverName("example.test").alpn("h2", "http/1.1").padding(37).build();
        assertThat(parse(hello)).isEqualTo(new Hello(List.of("example.test"), List.of(), TLS13, List.of("h2", "http/1.1")));
    }

    @Test
    void parse_greaseAndUnknownSupportedVersions_doNotCountAsTheVersion() {
        byte[] hello = clientHello().supportedVersions(0x0a0a, 0x7f1c, 0x0303).serverName("a.example").build();
        assertThat(((Hello) parse(hello)).version()).isEqualTo(TLS12);
    }

    @Test
    void parse_noServerNameExtension_isNoSni() {
        assertThat(parse(clientHello().typicalExtensions().alpn("h2").build())).isEqualTo(new NoSni(TLS12, List.of("h2")));
    }

    @Test
    void parse_noExtensionsBlockAtAll_isNoSni() {
        assertThat(parse(clientHello().noExtensions().legacyVersion(0x0301).build()))
                .isEqualTo(new NoSni(new ProtocolVersion(0x0301), List.of()));
    }

    @Test
    void protocolVersion_toString_namesKnownVersionsAndHexForOthers() {
        assertThat(TLS13).hasToString("TLSv1.3");
        assertThat(new ProtocolVersion(0x0a0a)).hasToString("0x0a0a");
    }

    static Stream<Arguments> unacceptableServerNames() {
        Problem ip = Problem.IP_LITERAL;
        Problem bad = Problem.INVALID_NAME;
        return Stream.of(
                arguments("an IPv4 address", "192.0.2.1", ip),
                arguments("loopback", "127.0.0.1", ip),
                arguments("metadata address", "169.254.169.254", ip),
                arguments("short IPv4 form 127.1", "127.1", ip),
                arguments("hex IPv4 form", "0x7f.1", ip),
                arguments("octal-looking IPv4", "0177.0.0.1", ip),
                arguments("IPv4 as one decimal integer", "2130706433", ip),
                arguments("IPv4 with a trailing dot", "192.0.2.1.", ip),
                arguments("name whose last label is numeric", "evil.example.1", ip),
                arguments("IPv6 loopback", "::1", ip),
                arguments("IPv6 in brackets", "[::1]", ip),
                arguments("IPv4-mapped IPv6", "::ffff:127.0.0.1", ip),
                arguments("NUL inside a name", "a\0.example", bad),
                arguments("NUL after an allowed name (C-string truncation)", "github.com\0.evil.net", bad),
                arguments("CR LF inside (log injection)", "a.example\r\nx: y", bad),
                arguments("ANSI escape (terminal injection)", "\u001b[31mred.example", bad),
                arguments("space", "a example", bad),
                arguments("tab", "a\texample", bad),
                arguments("DEL", "a\u007f.example", bad),
                arguments("Latin-1 byte", "caf\u00e9.example", bad),
                arguments("raw UTF-8 of a Cyrillic i (homograph not sent as an A-label)", "g\u00d1\u0096thub.com", bad),
                arguments("underscore", "bad_name.example", bad),
                arguments("empty label", "a..example", bad),
                arguments("leading dot", ".example", bad),
                arguments("only a dot", ".", bad),
                arguments("label of 64 characters", "a".repeat(64) + ".example", bad),
                arguments("name of 254 characters", ("a".repeat(49) + ".").repeat(5) + "abcd", bad),
                arguments("label with a leading hyphen", "-a.example", bad),
                arguments("Punycode that does not decode", "xn--.example", bad),
                arguments("wildcard", "*.example", bad),
                arguments("user information", "github.com@evil.net", bad),
                arguments("a port", "github.com:443", bad),
                arguments("unclosed IPv6 bracket", "[::1", bad));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("unacceptableServerNames")
    void parse_unacceptableServerName_isReturnedAsRejectedWithItsProblem(String row, String raw, Problem problem) {
        Result result = parse(clientHello().serverName(raw).build());
        assertThat(result).isInstanceOfSatisfying(Hello.class, h -> {
            assertThat(h.serverNames()).isEmpty();
            assertThat(h.rejectedNames()).singleElement().satisfies(r -> {
                assertThat(r.raw()).isEqualTo(raw);
                assertThat(r.problem()).isEqualTo(problem);
                assertThat(r.why()).isNotBlank();
            });
            assertThat(h.soleName()).isEmpty();
        });
    }

    @Test
    void parse_longestValidName_isAccepted() {
        String name = ("a".repeat(62) + ".").repeat(3) + "a".repeat(61); // 253 characters, labels of 63 and 61
        assertThat(((Hello) parse(clientHello().serverName(name).build())).soleName()).contains(name);
    }

    @Test
    void parse_oneGoodAndOneRejectedName_hasNoSoleName() {
        Hello hello = (Hello) parse(clientHello().serverName("a.example").serverName("127.0.0.1").build());
        assertThat(hello.serverNames()).containsExactly("a.example");
        assertThat(hello.rejectedNames()).extracting(RejectedName::raw).containsExactly("127.0.0.1");
        assertThat(hello.soleName()).isEmpty();
    }

    // ---- records and segments ------------------------------------------------------------------------

    @ParameterizedTest(name = "{0} records")
    @ValueSource(ints = {2, 3, 4, 5, 6, 7, 8, 9, 10})
    void parse_splitAcrossRecords_givesTheSameHello(int records) {
        ClientHelloBuilder b = clientHello().typicalExtensions().serverName("example.test").alpn("h2");
        assertThat(parse(b.records(records).build())).isEqualTo(parse(b.records(1).build()));
    }

    @Test
    void parse_oneByteRecords_areReassembled() {
        ClientHelloBuilder b = clientHello().serverName("example.test");
        int length = b.handshake().length;
        assertThat(parse(b.records(length).build())).isEqualTo(parse(b.records(1).build()));
    }

    @Test
    void parse_recordBoundaryInsideTheHandshakeHeader_isReassembled() {
        byte[] hs = clientHello().serverName("example.test").handshake();
        byte[] split = ClientHelloBuilder.inRecords(hs, new int[] {1, 2, hs.length - 3}, 0x0301);
        assertThat(((Hello) parse(split)).serverNames()).containsExactly("example.test");
    }

    @ParameterizedTest(name = "{0} records")
    @ValueSource(ints = {1, 2, 3, 7})
    void parse_everyPrefix_isNeedMoreUntilTheLastByte(int records) {
        byte[] hello = clientHello().typicalExtensions().serverName("example.test").records(records).build();
        for (int n = 0; n < hello.length; n++) {
            Result r = parse(Arrays.copyOf(hello, n));
            assertThat(r).as("prefix of %d bytes", n).isInstanceOf(NeedMore.class);
            int atLeast = ((NeedMore) r).atLeast();
            assertThat(atLeast).as("hint for %d bytes", n).isGreaterThan(n).isLessThanOrEqualTo(hello.length);
        }
        assertThat(parse(hello)).isInstanceOf(Hello.class);
    }

    @Test
    void parse_bytesAfterTheHello_areIgnored() {
        byte[] hello = clientHello().serverName("example.test").build();
        byte[] earlyData = record(0x17, 0x0303, ascii("0-RTT data that is not examined"));
        assertThat(parse(concat(hello, earlyData))).isEqualTo(parse(hello));
    }

    @Test
    void parse_readsFromThePositionAndLeavesTheBufferAsItWas() {
        byte[] hello = clientHello().serverName("example.test").build();
        ByteBuffer buf = ByteBuffer.allocateDirect(hello.length + 10);
        buf.put(new byte[7]).put(hello).flip().position(7);
        assertThat(ClientHelloPeek.parse(buf)).isInstanceOf(Hello.class);
        assertThat(buf.position()).isEqualTo(7);
        assertThat(buf.limit()).isEqualTo(hello.length + 7);
    }

    @Test
    void parse_emptyInput_needsOneByte() {
        assertThat(parse(new byte[0])).isEqualTo(new NeedMore(1));
    }

    // ---- not TLS -------------------------------------------------------------------------------------

    static Stream<Arguments> notTls() {
        return Stream.of(
                arguments("an HTTP request", ascii("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n")),
                arguments("the first byte of an HTTP request", ascii("G")),
                arguments("an SSH banner", ascii("SSH-2.0-OpenSSH_9.6\r\n")),
                arguments("a postgres startup packet", concat(new byte[] {0, 0, 0, 0x17, 0, 3, 0, 0},
                        ascii("user\0postgres\0\0"))),
                arguments("a postgres SSLRequest", new byte[] {0, 0, 0, 8, 0x04, (byte) 0xd2, 0x16, 0x2f}),
                arguments("a redis command", ascii("*1\r\n$4\r\nPING\r\n")),
                arguments("the HTTP/2 preface", ascii("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")),
                arguments("an SSLv2-compatible ClientHello", new byte[] {(byte) 0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15}),
                arguments("a TLS alert record first", new byte[] {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28}),
                arguments("a TLS application-data record first", new byte[] {0x17, 0x03, 0x03, 0x00, 0x01, 0x00}),
                arguments("handshake byte with an SSL 2 version", new byte[] {0x16, 0x02, 0x00, 0x00, 0x10}),
                arguments("handshake byte with version 3.5", new byte[] {0x16, 0x03, 0x05, 0x00, 0x10}),
                arguments("handshake byte followed by text", ascii("\u0016GET / HTTP/1.1")),
                arguments("a single zero byte", new byte[] {0}));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("notTls")
    void parse_bytesThatAreNotTls_areNotTls(String row, byte[] bytes) {
        assertThat(parse(bytes)).isInstanceOfSatisfying(NotTls.class, n -> assertThat(n.why()).isNotBlank());
    }

    @Test
    void parse_sslv2Hello_saysSoInTheReason() {
        assertThat(((NotTls) parse(new byte[] {(byte) 0x80, 0x2e, 0x01})).why()).contains("SSLv2");
    }

    // ---- malformed -----------------------------------------------------------------------------------

    static Stream<Arguments> malformed() {
        byte[] hs = clientHello().serverName("example.test").handshake();
        byte[] firstHalf = record(0x16, 0x0301, Arrays.copyOf(hs, 20));
        byte[] bodyNoExt = clientHello().noExtensions().body();
        return Stream.of(
                // record layer
                arguments("ClientHello declares 16 MiB", new byte[] {0x16, 3, 1, 0, 4, 1, (byte) 0xff, (byte) 0xff, (byte) 0xff},
                        "larger than"),
                arguments("record longer than 2^14", new byte[] {0x16, 3, 1, 0x40, 0x01, 1}, "exceeds the TLS maximum"),
                arguments("empty handshake record", new byte[] {0x16, 3, 1, 0, 0}, "empty handshake record"),
                arguments("alert record between fragments", concat(firstHalf, record(0x15, 0x0303, new byte[] {2, 40})),
                        "content type 21"),
                arguments("application data between fragments", concat(firstHalf, record(0x17, 0x0303, new byte[] {1})),
                        "content type 23"),
                arguments("change_cipher_spec between fragments", concat(firstHalf, new byte[] {0x14}), "content type 20"),
                arguments("second record with version 2.0", concat(firstHalf, record(0x16, 0x0200, new byte[] {1})),
                        "not TLS"),
                arguments("ServerHello instead of ClientHello", record(0x16, 0x0301, new byte[] {2, 0, 0, 1, 0}), "not ClientHello"),
                arguments("handshake bytes after the ClientHello in its record", record(0x16, 0x0301, concat(hs, new byte[] {0x14})),
                        "follow the ClientHello"),
                arguments("empty ClientHello", record(0x16, 0x0301, new byte[] {1, 0, 0, 0}), "legacy_version"),
                // ClientHello fields
                arguments("legacy_version 2.0", clientHello().legacyVersion(0x0200).build(), "legacy_version"),
                arguments("session id of 33 bytes", clientHello().sessionId(new byte[33]).build(), "legacy_session_id"),
                arguments("odd cipher_suites length", clientHello().cipherSuites(new byte[] {0x13, 0x01, 0x13}).build(), "odd"),
                arguments("no cipher suites", clientHello().cipherSuites(new byte[0]).build(), "cipher_suites length 0"),
                arguments("no compression methods", clientHello().compression(new byte[0]).build(),
                        "legacy_compression_methods length 0"),
                arguments("extensions block longer than the rest", helloFromBody(concat(bodyNoExt, new byte[] {0, 9, 0, 0})),
                        "runs past"),
                arguments("bytes after the extensions block", helloFromBody(concat(clientHello().body(), new byte[] {0})),
                        "follow the extensions"),
                arguments("extension longer than the block",
                        helloFromBody(concat(bodyNoExt, vector16(new byte[] {0, 0x0a, 0, 100, 0, 0}))), "runs past"),
                arguments("half an extension header", helloFromBody(concat(bodyNoExt, vector16(new byte[] {0, 0x0a, 0}))),
                        "needs 2 bytes"),
                // server_name
                arguments("server_name extension twice",
                        clientHello().serverName("a.example").extensionAfter(EXT_SERVER_NAME, sniData("b.example")).build(),
                        "appears twice"),
                arguments("empty server_name extension", clientHello().extensionAfter(EXT_SERVER_NAME, new byte[0]).build(),
                        "server_name_list length"),
                arguments("empty server_name_list", clientHello().extensionAfter(EXT_SERVER_NAME, vector16(new byte[0])).build(),
                        "server_name_list length 0"),
                arguments("server_name_list longer than its extension",
                        clientHello().extensionAfter(EXT_SERVER_NAME, new byte[] {0, 50, 0, 0, 1, 'a'}).build(), "runs past"),
                arguments("bytes after the server_name_list",
                        clientHello().extensionAfter(EXT_SERVER_NAME, concat(sniData("a.example"), new byte[] {0})).build(),
                        "follow the server_name_list"),
                arguments("host_name of length zero", clientHello().serverNameBytes(new byte[0]).build(), "host_name length 0"),
                arguments("server_name entry of type 1",
                        clientHello().extensionAfter(EXT_SERVER_NAME, vector16(concat(new byte[] {1}, vector16(ascii("a.example")))))
                                .build(), "type 1"),
                arguments("host_name longer than the list",
                        clientHello().extensionAfter(EXT_SERVER_NAME, vector16(new byte[] {0, 0, 9, 'a'})).build(), "runs past"),
                // other extensions Airlock reads, and duplicates of any
                arguments("ALPN with an empty protocol name", clientHello().alpn("h2", "").build(), "protocol_name length 0"),
                arguments("ALPN list longer than its extension",
                        clientHello().extensionAfter(EXT_ALPN, new byte[] {0, 9, 2, 'h', '2'}).build(), "runs past"),
                arguments("supported_versions of odd length",
                        clientHello().extensionBefore(EXT_SUPPORTED_VERSIONS, vector8(new byte[] {3, 4, 3})).build(), "odd"),
                arguments("supported_groups twice",
                        clientHello().extensionBefore(EXT_SUPPORTED_GROUPS, vector16(new byte[] {0, 0x1d}))
                                .extensionAfter(EXT_SUPPORTED_GROUPS, vector16(new byte[] {0, 0x17})).build(),
                        "appears twice"),
                // size bound
                arguments("hello of 17000 bytes in two records", clientHello().serverName("a.example").padding(17000)
                        .records(2).build(), "larger than"),
                arguments("hello of 3000 one-byte records", onebyteRecords(3000), "larger than"));
    }

    private static byte[] helloFromBody(byte[] body) {
        return record(0x16, 0x0301, ClientHelloBuilder.handshake(body));
    }

    private static byte[] onebyteRecords(int n) {
        ClientHelloBuilder b = clientHello().serverName("a.example");
        b.padding(n - b.handshake().length - 4);
        return b.records(n).build();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformed")
    void parse_malformedInput_isMalformedWithAReason(String row, byte[] bytes, String reasonContains) {
        assertThat(parse(bytes)).isInstanceOfSatisfying(Malformed.class, m -> assertThat(m.why()).contains(reasonContains));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformed")
    void parse_everyTruncationOfMalformedInput_isNeedMoreOrMalformed(String row, byte[] bytes, String reasonContains) {
        for (int n = 0; n < bytes.length; n++) {
            assertThat(parse(Arrays.copyOf(bytes, n))).as("prefix of %d bytes", n)
                    .isInstanceOfAny(NeedMore.class, Malformed.class);
        }
    }

    // ---- the size bound: edge rows -------------------------------------------------------------------

    /** A one-record hello of exactly {@code total} input bytes. */
    private static byte[] helloOfTotalLength(int total) {
        ClientHelloBuilder b = clientHello().serverName("example.test");
        int withoutPadding = 5 + b.handshake().length;
        return b.padding(total - withoutPadding - 4).build();
    }

    @Test
    void parse_helloEndingExactlyAtTheBound_isAccepted() {
        byte[] hello = helloOfTotalLength(ClientHelloPeek.MAX_PEEK_BYTES);
        assertThat(hello).hasSize(ClientHelloPeek.MAX_PEEK_BYTES);
        assertThat(((Hello) parse(hello)).serverNames()).containsExactly("example.test");
    }

    @Test
    void parse_helloOneByteOverTheBound_isMalformedFromItsHeaderAlone() {
        byte[] hello = helloOfTotalLength(ClientHelloPeek.MAX_PEEK_BYTES + 1);
        assertThat(parse(Arrays.copyOf(hello, 9))).isEqualTo(new Malformed("ClientHello larger than 16384 bytes"));
        assertThat(parse(hello)).isEqualTo(new Malformed("ClientHello larger than 16384 bytes"));
    }

    @Test
    void parse_moreInputThanTheBound_examinesOnlyTheBound() {
        byte[] hello = helloOfTotalLength(ClientHelloPeek.MAX_PEEK_BYTES);
        assertThat(parse(concat(hello, new byte[100_000]))).isEqualTo(parse(hello));
    }

    @Test
    void check_acceptableName_isNull() {
        assertThat(ClientHelloPeek.check("xn--bcher-kva.example")).isNull();
    }
}
