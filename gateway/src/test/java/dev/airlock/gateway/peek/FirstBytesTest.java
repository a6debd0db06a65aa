package dev.airlock.gateway.peek;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** The protocol is told from the first bytes, never from the port; when in doubt, HTTP. */
class FirstBytesTest {

    private static FirstBytes.Kind classify(String s) {
        return FirstBytes.classify(ByteBuffer.wrap(s.getBytes(StandardCharsets.ISO_8859_1)));
    }

    private static String kind(String s) {
        return classify(s).getClass().getSimpleName();
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', textBlock = """
            # a request line, any method token, any case of the version
            GET / HTTP/1.1\\r\\n                     | Http
            get / http/1.1\\r\\n                     | Http
            FOO /x HTTP/1.0\\r\\n                    | Http
            *X / HTTP/1.1\\r\\n                      | Http
            GET\\t/ HTTP/1.1\\r\\n                   | Http
            # a bare LF ends the line too (servers accept it; HttpHeadPeek refuses it)
            GET / HTTP/1.1\\n                        | Http
            # leading empty lines: servers may skip them, so it is HTTP (and then refused)
            \\r\\nGET / HTTP/1.1\\r\\n               | Http
            \\n                                      | Http
            # the HTTP/2 preface
            PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n | Http2
            PRI * HTTP/2.0\\r\\n                     | Http2
            # undecided: could still become a request line
            G                                        | NeedMore
            GET                                      | NeedMore
            GET /                                    | NeedMore
            *                                        | NeedMore
            ping over the tunnel                     | NeedMore
            # opaque: names no server
            SSH-2.0-OpenSSH_9.6\\r\\n                | Opaque
            SSH-2.0-OpenSSH_9.6p1 Ubuntu-3\\r\\n     | Opaque
            *1\\r\\n$4\\r\\nPING\\r\\n               | Opaque
            EHLO client.test\\r\\n                   | Opaque
            ping, over the tunnel                    | Opaque
            """)
    void classify_textTable(String input, String expected) {
        String unescaped = input.replace("\\r", "\r").replace("\\n", "\n").replace("\\t", "\t");
        assertThat(kind(unescaped)).isEqualTo(expected);
    }

    @Test
    void classify_tlsRecordHeader_isTlsOnceThreeBytesAgree() {
        assertThat(FirstBytes.classify(ByteBuffer.wrap(new byte[] {0x16}))).isInstanceOf(FirstBytes.NeedMore.class);
        assertThat(FirstBytes.classify(ByteBuffer.wrap(new byte[] {0x16, 0x03}))).isInstanceOf(FirstBytes.NeedMore.class);
        assertThat(FirstBytes.classify(ByteBuffer.wrap(new byte[] {0x16, 0x03, 0x01}))).isInstanceOf(FirstBytes.Tls.class);
        assertThat(FirstBytes.classify(ByteBuffer.wrap(new byte[] {0x16, 0x01}))).isInstanceOf(FirstBytes.Opaque.class);
    }

    @Test
    void classify_nulBeforeAnyHttpVersion_isOpaqueAtOnce() {
        // git's pkt-line: a token, a space, then a NUL before any line end; it must not wait for one.
        assertThat(classify("0032git-upload-pack /x.git\0host=git.test\0")).isInstanceOf(FirstBytes.Opaque.class);
        assertThat(classify("0032git-upload-pack /x.git\0host=git.test\0\0version=2\0")).isInstanceOf(FirstBytes.Opaque.class);
        assertThat(classify("GET /\r")).isInstanceOf(FirstBytes.NeedMore.class);
    }

    /** Lenient servers take each of these as a request, so none may become opaque (review finding 4). */
    @Test
    void classify_lenientRequestLineNamingHttp_isHttpNotOpaque() {
        List<String> lines = List.of(" GET / HTTP/1.1\r\n", "\tGET / HTTP/1.1\r\n", "GET\u000b/ HTTP/1.1\r\n",
                "GET\u000c/ HTTP/1.1\r\n", "GET /\u0001 HTTP/1.1\r\n", "GET /\u007f HTTP/1.1\r\n", "GET /\u001b[x HTTP/1.1\r\n",
                "GET / HTTP/1.1\u0000\r\n");
        for (String line : lines) {
            assertThat(kind(line)).as(line).isEqualTo("Http");
            // Cut before the version arrives, the line is not decided yet: it waits rather than going opaque.
            assertThat(kind(line.substring(0, line.indexOf("HTTP/")))).as(line).isEqualTo("NeedMore");
        }
    }

    @Test
    void classify_lenientLineWithoutHttpVersion_isOpaqueAtItsEnd() {
        assertThat(classify(" ping\r\n")).isInstanceOf(FirstBytes.Opaque.class);
        assertThat(classify("GET\u000b/ ping\r\n")).isInstanceOf(FirstBytes.Opaque.class);
        assertThat(classify("GET /\u0001 ping\r\n")).isInstanceOf(FirstBytes.Opaque.class);
    }

    @Test
    void classify_binaryFirstByte_isOpaqueAtOnce() {
        // A postgres startup message, an SSLv2 hello, a NUL: none can start a request line.
        assertThat(FirstBytes.classify(ByteBuffer.wrap(new byte[] {0, 0, 0, 8}))).isInstanceOf(FirstBytes.Opaque.class);
        assertThat(FirstBytes.classify(ByteBuffer.wrap(new byte[] {(byte) 0x80, 0x2e}))).isInstanceOf(FirstBytes.Opaque.class);
    }

    @Test
    void classify_tokenLongerThanTheBound_isTooLongNotOpaque() {
        assertThat(classify("A".repeat(HttpHeadPeek.MAX_HEAD_BYTES))).isInstanceOf(FirstBytes.TooLong.class);
        assertThat(classify("GET /" + "a".repeat(HttpHeadPeek.MAX_HEAD_BYTES))).isInstanceOf(FirstBytes.TooLong.class);
    }

    @Test
    void classify_neverChangesTheBuffer() {
        ByteBuffer b = ByteBuffer.wrap("GET / HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII));
        b.position(0);
        FirstBytes.classify(b);
        assertThat(b.position()).isZero();
        assertThat(b.limit()).isEqualTo(16);
    }

    @Test
    void classify_opaqueBytes_nameTheByteInTwoLowerCaseHexDigits() {
        assertThat(FirstBytes.classify(ByteBuffer.wrap(new byte[] {0x01, 'x'})))
                .isEqualTo(new FirstBytes.Opaque("first byte 0x01 cannot start a request line"));
        assertThat(FirstBytes.classify(ByteBuffer.wrap(new byte[] {'G', 'E', 'T', (byte) 0xAB})))
                .isEqualTo(new FirstBytes.Opaque("a token followed by 0xab, not a request line"));
    }
}
