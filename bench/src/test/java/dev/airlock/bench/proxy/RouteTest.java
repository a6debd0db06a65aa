package dev.airlock.bench.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** How the harness reads a proxy's answer to CONNECT: the three proxies answer differently. */
class RouteTest {

    private static InputStream answer(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.US_ASCII));
    }

    /** Hands out one byte per read, as a slow proxy or a split segment would. */
    private static InputStream trickle(String s) {
        InputStream in = answer(s);
        return new InputStream() {
            @Override
            public int read() throws IOException {
                return in.read();
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return len == 0 ? 0 : in.read(b, off, 1);
            }
        };
    }

    @Test
    void readHead_airlockAndSquid200_accepted() throws IOException {
        long[] leftover = new long[1];
        Route.readHead(answer("HTTP/1.1 200 Connection established\r\n\r\n"), new byte[8192], leftover);
        assertThat(leftover[0]).isZero();
    }

    @Test
    void readHead_tinyproxyHttp10WithHeader_accepted() throws IOException {
        long[] leftover = new long[1];
        Route.readHead(answer("HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n"), new byte[8192],
                leftover);
        assertThat(leftover[0]).isZero();
    }

    @Test
    void readHead_bodyInSameSegment_countedAsLeftover() throws IOException {
        long[] leftover = new long[1];
        Route.readHead(answer("HTTP/1.1 200 OK\r\n\r\nabcde"), new byte[8192], leftover);
        assertThat(leftover[0]).isEqualTo(5);
    }

    @Test
    void readHead_oneByteAtATime_findsTheBlankLine() throws IOException {
        long[] leftover = new long[1];
        Route.readHead(trickle("HTTP/1.1 200 Connection established\r\n\r\n"), new byte[8192], leftover);
        assertThat(leftover[0]).isZero();
    }

    @Test
    void readHead_tooManyTunnels_refusedWithStatus() {
        assertThatThrownBy(() -> Route.readHead(answer("HTTP/1.1 429 Too Many Requests\r\ncontent-length: 0\r\n\r\n"),
                new byte[8192], new long[1]))
                .isInstanceOfSatisfying(Route.Refused.class, r -> assertThat(r.status).isEqualTo(429));
    }

    @Test
    void readHead_garbageStatusLine_refusedWithoutStatus() {
        assertThatThrownBy(() -> Route.readHead(answer("SSH-2.0-OpenSSH\r\n\r\n"), new byte[8192], new long[1]))
                .isInstanceOfSatisfying(Route.Refused.class, r -> assertThat(r.status).isEqualTo(-1));
    }

    @Test
    void readHead_closedBeforeBlankLine_fails() {
        assertThatThrownBy(() -> Route.readHead(answer("HTTP/1.1 200 Connection established\r\n"), new byte[8192], new long[1]))
                .isInstanceOf(IOException.class).isNotInstanceOf(Route.Refused.class)
                .hasMessageContaining("closed the connection");
    }

    @Test
    void readHead_headLongerThanBuffer_fails() {
        assertThatThrownBy(() -> Route.readHead(answer("HTTP/1.1 200 OK\r\nX: " + "a".repeat(200) + "\r\n\r\n"), new byte[64],
                new long[1]))
                .isInstanceOf(IOException.class).hasMessageContaining("longer than 64 bytes");
    }
}
