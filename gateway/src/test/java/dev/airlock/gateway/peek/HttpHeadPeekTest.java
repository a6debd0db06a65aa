package dev.airlock.gateway.peek;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import dev.airlock.gateway.peek.HttpHeadPeek.Malformed;
import dev.airlock.gateway.peek.HttpHeadPeek.NeedMore;
import dev.airlock.gateway.peek.HttpHeadPeek.Request;
import dev.airlock.gateway.peek.HttpHeadPeek.Result;
import dev.airlock.policy.Authority;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class HttpHeadPeekTest {

    static Result parse(byte[] bytes) {
        return HttpHeadPeek.parse(ByteBuffer.wrap(bytes));
    }

    static Result parse(String head) {
        return parse(head.getBytes(StandardCharsets.ISO_8859_1));
    }

    private static Request request(String head) {
        Result r = parse(head);
        assertThat(r).isInstanceOf(Request.class);
        return (Request) r;
    }

    // ---- what a good head gives --------------------------------------------------------------------

    @Test
    void parse_simpleGet_returnsMethodTargetVersionAndHost() {
        String head = "GET /index.html?q=1 HTTP/1.1\r\nHost: a.example\r\nAccept: */*\r\n\r\n";
        assertThat(parse(head)).isEqualTo(new Request("GET", "/index.html?q=1", "HTTP/1.1", "a.example",
                new Authority("a.example", 80), Optional.empty(), head.length()));
    }

    @Test
    void parse_bodyFramingAndUpgrade_areReportedForTheRequestsThatFollow() {
        Request fixed = request("POST / HTTP/1.1\r\nHost: a.example\r\nContent-Length: 12\r\n\r\n");
        assertThat(fixed.contentLength()).isEqualTo(12);
        assertThat(fixed.chunked()).isFalse();
        Request chunked = request("POST / HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n");
        assertThat(chunked.contentLength()).isEqualTo(-1);
        assertThat(chunked.chunked()).isTrue();
        Request none = request("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n");
        assertThat(none.contentLength()).isEqualTo(-1);
        assertThat(none.upgrade()).isEmpty();
        assertThat(request("GET / HTTP/1.1\r\nHost: a.example\r\nUpgrade: websocket\r\n\r\n").upgrade()).contains("websocket");
        assertThat(parse("GET / HTTP/1.1\r\nHost: a.example\r\nUpgrade: websocket\r\nUpgrade: h2c\r\n\r\n"))
                .isEqualTo(new Malformed("more than one Upgrade header"));
    }

    @Test
    void parse_bodyAfterTheHead_isNotExaminedAndHeadLengthSaysWhereItStarts() {
        String head = "POST /x HTTP/1.1\r\nHost: a.example\r\nContent-Length: 5\r\n\r\n";
        Request r = request(head + "\0\r\n\u001b\n");
        assertThat(r.headLength()).isEqualTo(head.length());
    }

    @Test
    void parse_readsFromThePositionAndLeavesTheBufferAsItWas() {
        byte[] head = "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer buf = ByteBuffer.allocateDirect(head.length + 3);
        buf.put(new byte[] {1, 2, 3}).put(head).flip().position(3);
        assertThat(HttpHeadPeek.parse(buf)).isInstanceOf(Request.class);
        assertThat(buf.position()).isEqualTo(3);
        assertThat(buf.limit()).isEqualTo(head.length + 3);
    }

    static Stream<Arguments> acceptedHeads() {
        return Stream.of(
                arguments("origin-form GET", "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n", "a.example", 80, null),
                arguments("Host with a port", "GET / HTTP/1.1\r\nHost: a.example:8080\r\n\r\n", "a.example", 8080, null),
                arguments("Host in upper case with a trailing dot, kept as written",
                        "GET / HTTP/1.1\r\nHost: A.Example.\r\n\r\n", "A.Example.", 80, null),
                arguments("Host between other headers",
                        "GET / HTTP/1.1\r\nUser-Agent: x\r\nHost: a.example\r\nAccept: */*\r\n\r\n", "a.example", 80, null),
                arguments("spaces and tabs around the Host value", "GET / HTTP/1.1\r\nHost: \t a.example \t\r\n\r\n",
                        "a.example", 80, null),
                arguments("no space after the colon", "GET / HTTP/1.1\r\nHost:a.example\r\n\r\n", "a.example", 80, null),
                arguments("lower-case header name", "GET / HTTP/1.1\r\nhost: a.example\r\n\r\n", "a.example", 80, null),
                arguments("absolute-form agreeing with Host", "GET http://a.example/x HTTP/1.1\r\nHost: a.example\r\n\r\n",
                        "a.example", 80, new Authority("a.example", 80)),
                arguments("absolute-form in upper case agreeing with a lower-case Host",
                        "GET HTTP://A.EXAMPLE/x HTTP/1.1\r\nHost: a.example\r\n\r\n", "a.example", 80,
                        new Authority("A.EXAMPLE", 80)),
                arguments("absolute-form with an explicit :80 and Host without a port",
                        "GET http://a.example:80/ HTTP/1.1\r\nHost: a.example\r\n\r\n", "a.example", 80,
                        new Authority("a.example", 80)),
                arguments("absolute-form with a query and no path",
                        "GET http://a.example?x=1 HTTP/1.1\r\nHost: a.example\r\n\r\n", "a.example", 80,
                        new Authority("a.example", 80)),
                arguments("OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: a.example\r\n\r\n", "a.example", 80, null),
                arguments("HTTP/1.0 with Host", "GET / HTTP/1.0\r\nHost: a.example\r\n\r\n", "a.example", 80, null),
                arguments("IPv4 literal Host (the policy decides on it)", "GET / HTTP/1.1\r\nHost: 192.0.2.1\r\n\r\n",
                        "192.0.2.1", 80, null),
                arguments("IPv6 literal Host in brackets", "GET / HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n\r\n",
                        "[2001:db8::1]", 8080, null),
                arguments("Content-Length framing", "POST / HTTP/1.1\r\nHost: a.example\r\nContent-Length: 0\r\n\r\n",
                        "a.example", 80, null),
                arguments("chunked framing", "POST / HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: Chunked\r\n\r\n",
                        "a.example", 80, null),
                arguments("Latin-1 text in another header's value", "GET / HTTP/1.1\r\nHost: a.example\r\nX-Name: caf\u00e9\r\n\r\n",
                        "a.example", 80, null),
                arguments("an empty value in another header", "GET / HTTP/1.1\r\nHost: a.example\r\nX-Empty:\r\n\r\n",
                        "a.example", 80, null),
                arguments("an Upgrade request (the caller checks the host, not the protocol)",
                        "GET /ws HTTP/1.1\r\nHost: a.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
                        "a.example", 80, null));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("acceptedHeads")
    void parse_acceptableHead_givesItsHost(String row, String head, String host, int port, Authority target) {
        Request r = request(head);
        assertThat(r.authority()).isEqualTo(new Authority(host, port));
        assertThat(r.targetAuthority()).isEqualTo(Optional.ofNullable(target));
        assertThat(r.headLength()).isEqualTo(head.length());
    }

    // ---- what is refused -----------------------------------------------------------------------------

    static Stream<Arguments> malformedHeads() {
        String get = "GET / HTTP/1.1\r\n";
        byte[] tls = ClientHelloBuilder.clientHello().serverName("a.example").build();
        return Stream.of(
                // smuggling through Host
                arguments("two Host headers naming different hosts", get + "Host: a.com\r\nHost: b.com\r\n\r\n", "more than one Host"),
                arguments("two identical Host headers", get + "Host: a.com\r\nHost: a.com\r\n\r\n", "more than one Host"),
                arguments("Host and host", get + "Host: a.com\r\nhost: b.com\r\n\r\n", "more than one Host"),
                arguments("space before the colon", get + "Host : x.com\r\n\r\n", "whitespace in header name"),
                arguments("tab before the colon", get + "Host\t: x.com\r\n\r\n", "whitespace in header name"),
                arguments("obs-fold continuing Host", get + "Host: x\r\n y\r\n\r\n", "obs-fold"),
                arguments("obs-fold with a tab continuing another header", get + "Host: x\r\nX-A: 1\r\n\tmore\r\n\r\n", "obs-fold"),
                arguments("whitespace right after the request line", get + " Host: x\r\n\r\n", "obs-fold"),
                arguments("CR LF injected into the Host value", get + "Host: a.com\r\nevil.com\r\n\r\n", "has no ':'"),
                arguments("bare LF ending a header", get + "Host: a.com\nX: y\r\n\r\n", "bare LF"),
                arguments("bare LF ending the request line", "GET / HTTP/1.1\nHost: a.com\r\n\r\n", "bare LF"),
                arguments("bare LF ending the head", get + "Host: a.com\r\n\n", "bare LF"),
                arguments("bare CR inside the Host value", get + "Host: a.com\revil.com\r\n\r\n", "CR not followed by LF"),
                arguments("NUL inside the Host value", get + "Host: a.com\0.evil.com\r\n\r\n", "NUL"),
                arguments("NUL in the request-target", "GET /\0 HTTP/1.1\r\nHost: a.com\r\n\r\n", "NUL"),
                arguments("NUL in a header name", get + "X\0: 1\r\nHost: a.com\r\n\r\n", "NUL"),
                arguments("ESC in another header value", get + "Host: a.com\r\nX: \u001b[2J\r\n\r\n", "control character 0x1b"),
                arguments("DEL in a header value", get + "Host: a.com\r\nX: \u007f\r\n\r\n", "control character 0x7f"),
                arguments("no Host", get + "Accept: */*\r\n\r\n", "no Host"),
                arguments("no Host in HTTP/1.0 either", "GET / HTTP/1.0\r\n\r\n", "no Host"),
                arguments("empty Host", get + "Host:\r\n\r\n", "empty authority"),
                arguments("Host with user information", get + "Host: github.com@evil.com\r\n\r\n", "'@'"),
                arguments("Host with a path", get + "Host: a.com/x\r\n\r\n", "'/'"),
                arguments("Host with two ports", get + "Host: a.com:80:81\r\n\r\n", "brackets"),
                arguments("Host with port 0", get + "Host: a.com:0\r\n\r\n", "invalid port"),
                arguments("Host with port 65536", get + "Host: a.com:65536\r\n\r\n", "invalid port"),
                arguments("Host with port +80", get + "Host: a.com:+80\r\n\r\n", "invalid port"),
                arguments("Host with a leading-zero port", get + "Host: a.com:080\r\n\r\n", "invalid port"),
                arguments("Host with a comma list", get + "Host: a.com,b.com\r\n\r\n", "','"),
                arguments("Host with a space inside", get + "Host: a.com b.com\r\n\r\n", "\\x20"),
                arguments("Host with percent-encoding", get + "Host: a%2ecom\r\n\r\n", "'%'"),
                arguments("Host with a backslash", get + "Host: evil.com\\a.com\r\n\r\n", "'\\'"),
                arguments("Host with a non-ASCII byte", get + "Host: caf\u00e9.com\r\n\r\n", "non-ASCII"),
                arguments("Host with an unbracketed IPv6 address", get + "Host: 2001:db8::1\r\n\r\n", "brackets"),
                // the absolute-form target against Host
                arguments("absolute-form host differs from Host", "GET http://evil.com/ HTTP/1.1\r\nHost: a.com\r\n\r\n",
                        "request-target names evil.com:80 but Host names a.com:80"),
                arguments("absolute-form port differs from Host", "GET http://a.com:8080/ HTTP/1.1\r\nHost: a.com\r\n\r\n",
                        "but Host names"),
                arguments("Host port differs from the absolute-form default", "GET http://a.com/ HTTP/1.1\r\nHost: a.com:8080\r\n\r\n",
                        "but Host names"),
                arguments("absolute-form names a subdomain of Host", "GET http://x.a.com/ HTTP/1.1\r\nHost: a.com\r\n\r\n",
                        "but Host names"),
                arguments("absolute-form with user information", "GET http://a.com@evil.com/ HTTP/1.1\r\nHost: a.com\r\n\r\n",
                        "user information"),
                arguments("absolute-form with a backslash trick", "GET http://evil.com\\@a.com/ HTTP/1.1\r\nHost: a.com\r\n\r\n",
                        "user information"),
                arguments("absolute-form with the https scheme", "GET https://a.com/ HTTP/1.1\r\nHost: a.com\r\n\r\n", "scheme"),
                arguments("absolute-form with an empty authority", "GET http:///x HTTP/1.1\r\nHost: a.com\r\n\r\n", "empty authority"),
                // the request line
                arguments("CONNECT's authority-form", "CONNECT a.com:443 HTTP/1.1\r\nHost: a.com:443\r\n\r\n", "explicit proxy"),
                arguments("asterisk with GET", "GET * HTTP/1.1\r\nHost: a.com\r\n\r\n", "only for OPTIONS"),
                arguments("two spaces in the request line", "GET  / HTTP/1.1\r\nHost: a.com\r\n\r\n", "not METHOD SP TARGET SP VERSION"),
                arguments("tab in the request line", "GET\t/ HTTP/1.1\r\nHost: a.com\r\n\r\n", "method"),
                arguments("space inside the target", "GET /a b HTTP/1.1\r\nHost: a.com\r\n\r\n", "not METHOD SP TARGET SP VERSION"),
                arguments("lower-case version", "GET / http/1.1\r\nHost: a.com\r\n\r\n", "version"),
                arguments("the HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "version"),
                arguments("an HTTP/0.9 request", "GET /\r\n\r\n", "not METHOD SP TARGET SP VERSION"),
                arguments("a fragment in the target", "GET /#x HTTP/1.1\r\nHost: a.com\r\n\r\n", "'#'"),
                arguments("non-ASCII in the target", "GET /caf\u00e9 HTTP/1.1\r\nHost: a.com\r\n\r\n", "not allowed in the request-target"),
                arguments("empty line before the request line", "\r\nGET / HTTP/1.1\r\nHost: a.com\r\n\r\n", "empty line before"),
                arguments("header line without a colon", get + "Host a.com\r\n\r\n", "has no ':'"),
                arguments("header with an empty name", get + ": x\r\nHost: a.com\r\n\r\n", "empty name"),
                arguments("header name that is not a token", get + "X(y): 1\r\nHost: a.com\r\n\r\n", "not a token"),
                // body framing that would hide the next request
                arguments("Content-Length and Transfer-Encoding",
                        get + "Host: a.com\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "both Content-Length"),
                arguments("two Content-Lengths", get + "Host: a.com\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
                        "more than one Content-Length"),
                arguments("a Content-Length list", get + "Host: a.com\r\nContent-Length: 3, 3\r\n\r\n", "plain decimal"),
                arguments("a negative Content-Length", get + "Host: a.com\r\nContent-Length: -1\r\n\r\n", "plain decimal"),
                arguments("a Content-Length too long for a long", get + "Host: a.com\r\nContent-Length: 9999999999999999999\r\n\r\n",
                        "plain decimal"),
                arguments("Transfer-Encoding gzip, chunked", get + "Host: a.com\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                        "only chunked"),
                arguments("Transfer-Encoding twice", get + "Host: a.com\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                        "more than one Transfer-Encoding"),
                arguments("Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nHost: a.com\r\nTransfer-Encoding: chunked\r\n\r\n",
                        "HTTP/1.0"),
                // other protocols on the HTTP port
                arguments("a TLS ClientHello", new String(tls, StandardCharsets.ISO_8859_1), "control character 0x16"),
                arguments("an SSH banner", "SSH-2.0-OpenSSH_9.6\r\n", "not METHOD SP TARGET SP VERSION"),
                arguments("a postgres startup packet", "\0\0\0\u0008\u0004\u00d2\u0016/", "NUL"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedHeads")
    void parse_unacceptableHead_isMalformedWithAReason(String row, String head, String reasonContains) {
        assertThat(parse(head)).isInstanceOfSatisfying(Malformed.class, m -> {
            assertThat(m.why()).contains(reasonContains);
            assertThat(m.why()).doesNotContainPattern("[\\x00-\\x1f\\x7f]");
        });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedHeads")
    void parse_everyPrefixOfAnUnacceptableHead_isNeedMoreOrMalformed(String row, String head, String reasonContains) {
        for (int n = 0; n < head.length(); n++) {
            assertThat(parse(head.substring(0, n))).as("prefix of %d", n).isInstanceOfAny(NeedMore.class, Malformed.class);
        }
    }

    // ---- early answers and the size bound --------------------------------------------------------------

    @Test
    void parse_everyPrefixOfAGoodHead_isNeedMore() {
        String head = "GET http://a.example/x HTTP/1.1\r\nHost: a.example\r\nContent-Length: 0\r\n\r\n";
        for (int n = 0; n < head.length(); n++) {
            assertThat(parse(head.substring(0, n))).as("prefix of %d", n).isInstanceOf(NeedMore.class);
        }
        assertThat(parse(head)).isInstanceOf(Request.class);
    }

    @Test
    void parse_firstByteOfTls_isRefusedAtOnce() {
        assertThat(parse(new byte[] {0x16})).isInstanceOf(Malformed.class);
    }

    @Test
    void parse_firstByteThatCannotStartAMethod_isRefusedAtOnce() {
        assertThat(parse("{")).isInstanceOf(Malformed.class);
        assertThat(parse(" ")).isInstanceOf(Malformed.class);
    }

    @Test
    void parse_errorInACompleteLine_isReportedBeforeTheHeadEnds() {
        assertThat(parse("GET / HTTP/1.1\r\nHost: a.com\r\nHost: b.com\r\n")).isInstanceOf(Malformed.class);
        assertThat(parse("GET / HTTP/1.1\r\nHost : a.com\r\n")).isInstanceOf(Malformed.class);
    }

    /** A head of exactly {@code total} bytes, made long by one header. */
    private static String headOfLength(int total) {
        String start = "GET / HTTP/1.1\r\nHost: a.example\r\nX-Pad: ";
        String end = "\r\n\r\n";
        return start + "p".repeat(total - start.length() - end.length()) + end;
    }

    @Test
    void parse_headOfExactlyTheBound_isAccepted() {
        String head = headOfLength(HttpHeadPeek.MAX_HEAD_BYTES);
        assertThat(request(head).headLength()).isEqualTo(HttpHeadPeek.MAX_HEAD_BYTES);
        assertThat(request(head + "body").headLength()).isEqualTo(HttpHeadPeek.MAX_HEAD_BYTES);
    }

    @Test
    void parse_headOneByteOverTheBound_isMalformed() {
        assertThat(parse(headOfLength(HttpHeadPeek.MAX_HEAD_BYTES + 1)))
                .isEqualTo(new Malformed("request head larger than 8192 bytes"));
    }

    @Test
    void parse_boundReachedWithoutTheEndOfTheHead_isMalformedNotNeedMore() {
        String slow = "GET / HTTP/1.1\r\nHost: a.example\r\nX-Slow: " + "s".repeat(HttpHeadPeek.MAX_HEAD_BYTES);
        assertThat(parse(slow.substring(0, HttpHeadPeek.MAX_HEAD_BYTES - 1))).isInstanceOf(NeedMore.class);
        assertThat(parse(slow.substring(0, HttpHeadPeek.MAX_HEAD_BYTES))).isInstanceOf(Malformed.class);
    }

    @Test
    void parse_thousandsOfHeaders_hitTheBound() {
        String head = "GET / HTTP/1.1\r\nHost: a.example\r\n" + "X:1\r\n".repeat(3000) + "\r\n";
        assertThat(parse(head)).isEqualTo(new Malformed("request head larger than 8192 bytes"));
    }

    @Test
    void parse_emptyInput_isNeedMore() {
        assertThat(parse(new byte[0])).isInstanceOf(NeedMore.class);
    }

    @Test
    void sameAuthority_comparesCanonicalHostsAndPorts() {
        assertThat(HttpHeadPeek.sameAuthority(new Authority("A.Example.", 80), new Authority("a.example", 80))).isTrue();
        assertThat(HttpHeadPeek.sameAuthority(new Authority("a.example", 80), new Authority("a.example", 81))).isFalse();
        assertThat(HttpHeadPeek.sameAuthority(new Authority("[2001:DB8::1]", 80), new Authority("[2001:db8::1]", 80))).isTrue();
    }

    @Test
    void parse_bytesBeyondTheBound_areNotExamined() {
        String head = "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n";
        byte[] more = Arrays.copyOf(head.getBytes(StandardCharsets.ISO_8859_1), 100_000);
        assertThat(parse(more)).isEqualTo(parse(head));
    }
}
