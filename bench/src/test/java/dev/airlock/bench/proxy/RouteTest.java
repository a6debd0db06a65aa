package dev.airlock.bench.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** How the harness reaches the origin, and reads a proxy's answer to CONNECT: the three proxies answer differently. */
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

    private static InetSocketAddress loopback(int port) {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
    }

    @Test
    void open_throughTcpRelay_connectsToTheRelayAndSendsNoConnect() throws IOException {
        try (ServerSocket relay = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Route route = new Route(Optional.empty(), Optional.of(loopback(relay.getLocalPort())), "127.0.0.1", loopback(1),
                    loopback(2));
            try (SocketChannel ch = route.open(Route.Port.SOURCE, new byte[64], new long[1]);
                    Socket accepted = relay.accept()) {
                ch.write(ByteBuffer.wrap(new byte[] {'x'}));
                // The first byte the relay sees is the client's own, not a CONNECT line.
                assertThat(accepted.getInputStream().read()).isEqualTo('x');
            }
        }
        assertThat(new Route(Optional.empty(), Optional.of(loopback(9)), "127.0.0.1", loopback(1), loopback(2)).describe())
                .isEqualTo("TCP relay (no CONNECT) via 127.0.0.1:9 to the origin's source port");
    }

    @Test
    void open_echoThroughTcpRelay_refusedSinceTheRelayReachesTheSourcePortOnly() {
        Route route = new Route(Optional.empty(), Optional.of(loopback(9)), "127.0.0.1", loopback(1), loopback(2));
        assertThatThrownBy(() -> route.open(Route.Port.ECHO, new byte[64], new long[1]))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("source port only");
    }

    @Test
    void route_proxyAndTcpRelayBoth_refused() {
        assertThatThrownBy(() -> new Route(Optional.of(loopback(8)), Optional.of(loopback(9)), "h", loopback(1), loopback(2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("give one");
    }
}
