package dev.airlock.gateway.peek;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.gateway.peek.HttpRequestStream.Head;
import dev.airlock.gateway.peek.HttpRequestStream.NeedMore;
import dev.airlock.gateway.peek.HttpRequestStream.Pass;
import dev.airlock.gateway.peek.HttpRequestStream.Refused;
import dev.airlock.gateway.peek.HttpRequestStream.Step;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every head on a connection is found by the body framing, and ambiguous framing is refused. */
class HttpRequestStreamTest {

    /** Walks all of {@code text} as the gate would; returns the hosts of the heads and how it ended. */
    static List<String> walk(String text) {
        HttpRequestStream stream = new HttpRequestStream();
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.ISO_8859_1));
        List<String> seen = new ArrayList<>();
        while (true) {
            Step s = stream.next(b);
            switch (s) {
                case NeedMore m -> {
                    seen.add(b.hasRemaining() ? "need-more" : "end");
                    return seen;
                }
                case Refused r -> {
                    seen.add("refused: " + r.why());
                    return seen;
                }
                case Pass p -> b.position(b.position() + p.bytes());
                case Head h -> {
                    seen.add(h.request().authority().host());
                    b.position(b.position() + h.request().headLength());
                }
            }
        }
    }

    @Test
    void next_keepAliveRequests_yieldsEveryHead() {
        assertThat(walk("GET / HTTP/1.1\r\nHost: a.test\r\n\r\nGET / HTTP/1.1\r\nHost: b.test\r\n\r\n"))
                .containsExactly("a.test", "b.test", "end");
    }

    @Test
    void next_contentLengthBodyThatLooksLikeARequest_isBodyNotAHead() {
        String fake = "GET / HTTP/1.1\r\nHost: prod.test\r\n\r\n";
        assertThat(walk("POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: " + fake.length() + "\r\n\r\n" + fake
                + "GET / HTTP/1.1\r\nHost: c.test\r\n\r\n")).containsExactly("a.test", "c.test", "end");
    }

    @Test
    void next_chunkedBodyThenNextRequest_findsTheNextHead() {
        String fake = "GET / HTTP/1.1\r\nHost: prod.test\r\n\r\n";
        String chunked = "POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                + Integer.toHexString(fake.length()) + ";name=value\r\n" + fake + "\r\n"
                + "3\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n";
        assertThat(walk(chunked + "GET / HTTP/1.1\r\nHost: prod.test\r\n\r\n")).containsExactly("a.test", "prod.test", "end");
    }

    @Test
    void next_bodyShorterThanDeclared_waitsForTheRest() {
        assertThat(walk("POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 10\r\n\r\nabc")).containsExactly("a.test", "end");
    }

    @Test
    void next_laterHeadMalformed_isRefusedNamingItsNumber() {
        assertThat(walk("GET / HTTP/1.1\r\nHost: a.test\r\n\r\nGET / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 1\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n"))
                .containsExactly("a.test", "refused: request 2: both Content-Length and Transfer-Encoding (RFC 9112 §6.1)");
    }

    @ParameterizedTest(name = "chunk line {0}")
    @ValueSource(strings = {
            " 5\r\n",            // leading whitespace
            "5 \r\n",            // whitespace before CRLF
            "5 ;x\r\n",          // whitespace before the extension
            "5\n",               // bare LF
            "-5\r\n",            // a sign
            "0x5\r\n",           // a prefix
            "\r\n",              // no size at all
            "1000000000000000\r\n", // 16 hex digits
            "5;\u0000\r\n",      // a control byte in the extension
            "5\rX\n"             // CR without LF
    })
    void next_ambiguousChunkSizeLine_isRefused(String line) {
        List<String> r = walk("POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n" + line + "hello\r\n0\r\n\r\n");
        assertThat(r).hasSize(2);
        assertThat(r.get(1)).startsWith("refused");
    }

    @Test
    void next_chunkDataNotFollowedByCrlf_isRefused() {
        assertThat(walk("POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n"))
                .containsExactly("a.test", "refused: a chunk's data is not followed by CRLF");
    }

    @Test
    void next_trailerWithObsFold_isRefused() {
        assertThat(walk("POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: b\r\n c\r\n\r\n"))
                .containsExactly("a.test", "refused: a trailer line starts with whitespace (obs-fold)");
    }

    @Test
    void next_chunkLineOverTheBound_isRefused() {
        String line = "5;" + "x".repeat(HttpRequestStream.MAX_CHUNK_LINE);
        assertThat(walk("POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n" + line))
                .containsExactly("a.test", "refused: a chunk-size line longer than " + HttpRequestStream.MAX_CHUNK_LINE + " bytes");
    }

    @Test
    void next_trailersOverTheBound_areRefused() {
        StringBuilder t = new StringBuilder();
        while (t.length() <= HttpRequestStream.MAX_TRAILER_BYTES) {
            t.append("X-Pad: ").append("p".repeat(100)).append("\r\n");
        }
        List<String> r = walk("POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + t + "\r\n");
        assertThat(r.get(r.size() - 1)).isEqualTo("refused: trailers longer than " + HttpRequestStream.MAX_TRAILER_BYTES + " bytes");
    }

    @Test
    void next_everySplitOfAStream_findsTheSameHeads() {
        String text = "POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwxyz\r\n0\r\n\r\n"
                + "PUT / HTTP/1.1\r\nHost: b.test\r\nContent-Length: 3\r\n\r\nabc" + "GET / HTTP/1.1\r\nHost: c.test\r\n\r\n";
        byte[] all = text.getBytes(StandardCharsets.ISO_8859_1);
        for (int cut = 0; cut <= all.length; cut++) {
            assertThat(walkInTwo(all, cut)).as("cut at %d", cut).containsExactly("a.test", "b.test", "c.test");
        }
    }

    /** Feeds the bytes in two deliveries, like two reads, keeping unconsumed bytes as the gate does. */
    private static List<String> walkInTwo(byte[] all, int cut) {
        HttpRequestStream stream = new HttpRequestStream();
        List<String> hosts = new ArrayList<>();
        ByteBuffer held = ByteBuffer.allocate(all.length);
        held.flip();
        for (byte[] delivery : new byte[][] {java.util.Arrays.copyOf(all, cut), java.util.Arrays.copyOfRange(all, cut, all.length)}) {
            ByteBuffer grown = ByteBuffer.allocate(held.remaining() + delivery.length);
            grown.put(held).put(delivery).flip();
            held = grown;
            boolean more = true;
            while (more) {
                switch (stream.next(held)) {
                    case NeedMore m -> more = false;
                    case Refused r -> throw new AssertionError(r.why());
                    case Pass p -> held.position(held.position() + p.bytes());
                    case Head h -> {
                        hosts.add(h.request().authority().host());
                        held.position(held.position() + h.request().headLength());
                    }
                }
            }
        }
        return hosts;
    }
}
