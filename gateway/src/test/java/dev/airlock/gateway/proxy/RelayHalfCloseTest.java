package dev.airlock.gateway.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The relay keeps every byte when the origin sends a large answer and closes while the client is
 * still slow to read: the case in which Netty's epoll {@code spliceTo} loses the bytes still queued
 * in the socket when the origin's FIN is seen (measured: 30-96 KiB of 8 MiB lost; see
 * docs/BENCHMARKS.md). A relay that splices must pass this test too.
 */
class RelayHalfCloseTest {

    private static final int SIZE = 8 << 20;

    private EventLoopGroup group;
    private ServerSocket origin;

    @BeforeEach
    void start() throws Exception {
        group = Transport.group(1);
        origin = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    }

    @AfterEach
    void stop() throws Exception {
        origin.close();
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).sync();
    }

    @Test
    void pair_originClosesWhileClientIsSlow_deliversEveryByteCountsThemAndThenTheFin() throws Exception {
        CompletableFuture<Void> served = CompletableFuture.runAsync(() -> {
            try (Socket s = origin.accept(); OutputStream out = s.getOutputStream()) {
                out.write(new byte[SIZE]);
                s.shutdownOutput();
                s.getInputStream().read(); // until the gateway closes its side
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        AtomicLong up = new AtomicLong();
        AtomicLong down = new AtomicLong();
        CountDownLatch closed = new CountDownLatch(1);
        Channel listener = new ServerBootstrap().group(group).channel(Transport.serverChannel())
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel client) {
                        new Bootstrap().group(client.eventLoop()).channel(Transport.channel())
                                .option(ChannelOption.AUTO_READ, false)
                                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                                .handler(new ChannelInitializer<Channel>() {
                                    @Override
                                    protected void initChannel(Channel ch) {
                                    }
                                })
                                .connect(origin.getLocalSocketAddress())
                                .addListener(f -> Relay.pair(client, ((io.netty.channel.ChannelFuture) f).channel(), up, down,
                                        closed::countDown));
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
        try (Socket c = new Socket()) {
            c.setReceiveBufferSize(4096);
            c.connect(listener.localAddress());
            // A slow reader: the origin's FIN reaches the gateway while bytes still wait in its socket.
            Thread.sleep(1500);
            c.setSoTimeout(10_000);
            InputStream in = c.getInputStream();
            long received = 0;
            byte[] buf = new byte[65536];
            for (int n; (n = in.read(buf)) > 0; ) {
                received += n;
            }
            assertThat(received).as("bytes before the FIN").isEqualTo(SIZE);
        } finally {
            listener.close().sync();
        }
        served.get(10, TimeUnit.SECONDS);
        assertThat(closed.await(10, TimeUnit.SECONDS)).as("both sides closed").isTrue();
        assertThat(down.get()).as("bytes the close record reports").isEqualTo(SIZE);
        assertThat(up.get()).isZero();
    }
}
