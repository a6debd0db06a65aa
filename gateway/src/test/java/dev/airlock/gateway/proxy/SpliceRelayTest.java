package dev.airlock.gateway.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.timeout.IdleStateHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The splicing relay against the copy relay, on the cases where a relay loses bytes or file
 * descriptors: a large answer and a FIN to a slow reader, both directions at once, a reset in the
 * middle, many tunnels, and the idle timeout. Every case runs on the splice relay (with its
 * enlarged pipes, and with the kernel's default pipes when the resize is refused), on the copy
 * relay (splice off), and on NIO (splice asked for, no epoll: the copy relay); the splice cases
 * also check that the bytes really went through the kernel (the channels left Netty's epoll set).
 */
class SpliceRelayTest {

    private static final int SIZE = 8 << 20;
    /** fcntl(2): F_LINUX_SPECIFIC_BASE + 8. */
    private static final int F_GETPIPE_SZ = 1032;

    enum Relays {
        SPLICE(true, true, PipeSizing.kernel()),
        SPLICE_PIPE_RESIZE_REFUSED(true, true, PipeSizing.none()),
        COPY(true, false, PipeSizing.kernel()),
        NIO(false, true, PipeSizing.kernel());

        final boolean epoll;
        final boolean splice;
        final PipeSizing sizing;

        Relays(boolean epoll, boolean splice, PipeSizing sizing) {
            this.epoll = epoll;
            this.splice = splice;
            this.sizing = sizing;
        }

        boolean splices() {
            return epoll && splice;
        }

        SpliceSettings settings(long threshold) {
            return splice ? new SpliceSettings(threshold, SpliceSettings.DEFAULT_PIPE_BYTES, sizing) : SpliceSettings.OFF;
        }
    }

    interface LibC extends Library {
        int fcntl(int fd, int cmd, int arg) throws LastErrorException;
    }

    private EventLoopGroup group;
    private ServerSocket origin;
    private Channel listener;
    private final Queue<Channel> clients = new ConcurrentLinkedQueue<>();
    private final AtomicLong up = new AtomicLong();
    private final AtomicLong down = new AtomicLong();
    /** Bytes a tunnel moves before it is spliced: at once, unless a test says otherwise. */
    private long threshold = 0;
    /** Blocking peers each get a thread: the common pool has one thread on a two-core machine. */
    private final ExecutorService threads = Executors.newCachedThreadPool();

    @AfterEach
    void stop() throws Exception {
        threads.shutdownNow();
        if (listener != null) {
            listener.close().sync();
        }
        if (origin != null) {
            origin.close();
        }
        if (group != null) {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS).sync();
        }
    }

    /** A relay listener in front of {@link #origin}: each client is paired with its own upstream. */
    private InetSocketAddress gateway(Relays relays, Runnable onClosed, long idleMillis) throws Exception {
        if (relays.epoll) {
            assumeThat(Transport.epoll()).as("epoll is available (Linux)").isTrue();
        }
        group = relays.epoll ? Transport.group(1) : new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        Class<? extends ServerSocketChannel> server = relays.epoll ? Transport.serverChannel() : NioServerSocketChannel.class;
        Class<? extends SocketChannel> client = relays.epoll ? Transport.channel() : NioSocketChannel.class;
        origin = new ServerSocket(0, 1024, InetAddress.getLoopbackAddress());
        listener = new ServerBootstrap().group(group).channel(server)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel c) {
                        clients.add(c);
                        if (idleMillis > 0) {
                            c.pipeline().addLast("idle", new IdleStateHandler(0, 0, idleMillis, TimeUnit.MILLISECONDS));
                        }
                        new Bootstrap().group(c.eventLoop()).channel(client)
                                .option(ChannelOption.AUTO_READ, false)
                                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                                .handler(new ChannelInitializer<Channel>() {
                                    @Override
                                    protected void initChannel(Channel ch) {
                                    }
                                })
                                .connect(origin.getLocalSocketAddress())
                                .addListener(f -> Relay.pair(c, ((ChannelFuture) f).channel(), up, down, onClosed, null,
                                        relays.settings(threshold)));
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
        return (InetSocketAddress) listener.localAddress();
    }

    @ParameterizedTest
    @EnumSource(Relays.class)
    void pair_eightMiBThenFinToASlowReader_deliversEveryByteInOrderThenTheFin(Relays relays) throws Exception {
        byte[] data = random(SIZE, 1);
        CountDownLatch closed = new CountDownLatch(1);
        InetSocketAddress gw = gateway(relays, closed::countDown, 0);
        CompletableFuture<Void> served = CompletableFuture.runAsync(() -> {
            try (Socket s = origin.accept(); OutputStream out = s.getOutputStream()) {
                out.write(data);
                s.shutdownOutput();
                s.getInputStream().read();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }, threads);
        try (Socket c = new Socket()) {
            c.setReceiveBufferSize(4096);
            c.connect(gw);
            Thread.sleep(1500);
            assertThat(spliced()).as("the pair left Netty's epoll set (bytes move in the kernel)").isEqualTo(relays.splices());
            c.setSoTimeout(10_000);
            assertThat(crc(c.getInputStream())).as("every byte, in order, then the FIN").isEqualTo(crc(data));
        }
        served.get(10, TimeUnit.SECONDS);
        assertThat(closed.await(10, TimeUnit.SECONDS)).as("both sides closed").isTrue();
        assertThat(down.get()).as("bytes the close record reports").isEqualTo(SIZE);
        assertThat(up.get()).isZero();
    }

    @ParameterizedTest
    @EnumSource(Relays.class)
    void pair_bothDirectionsAtOnce_deliversEachWayAndCountsBoth(Relays relays) throws Exception {
        bothDirections(relays);
    }

    /**
     * Past the threshold both directions are busy, so Netty still reads while the pair is handed
     * over: those bytes are carried into the splice relay (or the move is called off), never lost.
     */
    @Test
    void pair_bothDirectionsBusyAtTheHandOver_deliversEachWayAndCountsBoth() throws Exception {
        threshold = SpliceHandover.DEFAULT_AFTER_BYTES;
        bothDirections(Relays.SPLICE);
    }

    private void bothDirections(Relays relays) throws Exception {
        int size = 4 << 20;
        byte[] toOrigin = random(size, 2);
        byte[] toClient = random(size, 3);
        CountDownLatch closed = new CountDownLatch(1);
        InetSocketAddress gw = gateway(relays, closed::countDown, 0);
        CompletableFuture<Long> originGot = CompletableFuture.supplyAsync(() -> {
            try (Socket s = origin.accept()) {
                CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> send(s, toClient), threads);
                long crc = crc(s.getInputStream());
                sent.join();
                return crc;
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }, threads);
        long clientGot;
        try (Socket c = new Socket()) {
            c.connect(gw);
            c.setSoTimeout(10_000);
            CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> send(c, toOrigin), threads);
            clientGot = crc(c.getInputStream());
            sent.get(10, TimeUnit.SECONDS);
        }
        assertThat(clientGot).as("origin → client").isEqualTo(crc(toClient));
        assertThat(originGot.get(10, TimeUnit.SECONDS)).as("client → origin").isEqualTo(crc(toOrigin));
        assertThat(closed.await(10, TimeUnit.SECONDS)).as("both sides closed").isTrue();
        assertThat(up.get()).isEqualTo(size);
        assertThat(down.get()).isEqualTo(size);
    }

    @ParameterizedTest
    @EnumSource(Relays.class)
    void pair_originResetsMidStream_endsTheClientAndClosesThePair(Relays relays) throws Exception {
        CountDownLatch closed = new CountDownLatch(1);
        InetSocketAddress gw = gateway(relays, closed::countDown, 0);
        CountDownLatch clientRead = new CountDownLatch(1);
        long pipesBefore = pipes();
        CompletableFuture<Void> served = CompletableFuture.runAsync(() -> {
            try (Socket s = origin.accept()) {
                s.getOutputStream().write(new byte[1 << 20]);
                clientRead.await(10, TimeUnit.SECONDS);
                s.setSoLinger(true, 0); // close() now sends a reset
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }, threads);
        try (Socket c = new Socket()) {
            c.connect(gw);
            c.setSoTimeout(10_000);
            InputStream in = c.getInputStream();
            byte[] buf = new byte[65536];
            long got = 0;
            while (got < 65536) {
                got += in.read(buf);
            }
            assertThat(spliced()).as("spliced while the stream runs").isEqualTo(relays.splices());
            clientRead.countDown();
            served.get(10, TimeUnit.SECONDS);
            try {
                while (in.read(buf) > 0) {
                    // the rest of what the origin sent before its reset, if the relay still had it
                }
            } catch (IOException reset) {
                // a reset passed on is an end too
            }
        }
        assertThat(closed.await(10, TimeUnit.SECONDS)).as("the pair closed after the reset").isTrue();
        assertThat(up.get()).isZero();
        awaitPipes(pipesBefore);
        assertThat(pipes()).as("the pipes are closed after the reset").isEqualTo(pipesBefore);
    }

    @ParameterizedTest
    @EnumSource(Relays.class)
    void pair_manyTunnels_pipesAreOpenWhileTheyRunAndAllClosedAfter(Relays relays) throws Exception {
        int tunnels = 64;
        CountDownLatch warm = new CountDownLatch(1);
        CountDownLatch closed = new CountDownLatch(tunnels + 1);
        InetSocketAddress gw = gateway(relays, () -> {
            warm.countDown();
            closed.countDown();
        }, 0);
        CompletableFuture<Void> served = CompletableFuture.runAsync(() -> {
            List<Socket> accepted = new ArrayList<>();
            try {
                for (int i = 0; i < tunnels + 1; i++) {
                    Socket s = origin.accept();
                    accepted.add(s);
                    threads.execute(() -> echo(s)); // platform threads: virtual ones open poller descriptors on first use
                }
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }, threads);
        roundTrip(gw).close(); // warms the JVM's own descriptors (classes, libraries) before counting
        assertThat(warm.await(10, TimeUnit.SECONDS)).isTrue();
        long pipesBefore = pipes();
        long fdsBefore = fds();
        List<Socket> open = new ArrayList<>();
        for (int i = 0; i < tunnels; i++) {
            open.add(roundTrip(gw));
        }
        long pipesDuring = pipes();
        for (Socket s : open) {
            s.close();
        }
        served.get(10, TimeUnit.SECONDS);
        assertThat(closed.await(20, TimeUnit.SECONDS)).as("every tunnel closed").isTrue();
        assertThat(pipesDuring - pipesBefore).as("two pipes (four descriptors) per spliced tunnel while open")
                .isEqualTo(relays.splices() ? 4L * tunnels : 0L);
        awaitPipes(pipesBefore);
        assertThat(pipes()).as("pipe descriptors after every tunnel closed").isEqualTo(pipesBefore);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (fds() > fdsBefore && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(fds()).as("file descriptors after every tunnel closed").isLessThanOrEqualTo(fdsBefore);
    }

    /**
     * The kernel's own answer (F_GETPIPE_SZ) for the pipes a spliced tunnel opened: as large as
     * asked, and the default 64 KiB when the resize is refused (the relay then moves 64 KiB per
     * call, which every case above also runs with).
     */
    @ParameterizedTest
    @EnumSource(value = Relays.class, names = {"SPLICE", "SPLICE_PIPE_RESIZE_REFUSED"})
    void pair_spliced_pipesAreAsLargeAsAskedOrTheKernelDefaultWhenRefused(Relays relays) throws Exception {
        // readAllLines, not readString: on this procfs file readString returned "1" (JDK 25).
        int maxSize = Integer.parseInt(Files.readAllLines(Path.of("/proc/sys/fs/pipe-max-size")).get(0).trim());
        CountDownLatch closed = new CountDownLatch(1);
        InetSocketAddress gw = gateway(relays, closed::countDown, 0);
        CompletableFuture<Void> served = CompletableFuture.runAsync(() -> {
            try (Socket s = origin.accept()) {
                echo(s);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }, threads);
        List<Path> pipesBefore = pipePaths();
        try (Socket c = roundTrip(gw)) {
            assertThat(spliced()).as("spliced").isTrue();
            List<Path> opened = pipePaths();
            opened.removeAll(pipesBefore);
            assertThat(opened).as("two pipes, four ends").hasSize(4);
            LibC libc = Native.load("c", LibC.class);
            boolean granted = relays != Relays.SPLICE_PIPE_RESIZE_REFUSED && maxSize >= SpliceSettings.DEFAULT_PIPE_BYTES;
            int expected = granted ? SpliceSettings.DEFAULT_PIPE_BYTES : SplicePipe.DEFAULT_CAPACITY;
            for (Path end : opened) {
                int fd = Integer.parseInt(end.getFileName().toString());
                assertThat(libc.fcntl(fd, F_GETPIPE_SZ, 0))
                        .as("capacity of pipe end %s (%s, pipe-max-size %s)", fd, relays, maxSize).isEqualTo(expected);
            }
        }
        served.get(10, TimeUnit.SECONDS);
        assertThat(closed.await(10, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void pair_splicedBytesCountAsActivity_idleTimeoutClosesOnlyAfterSilence() throws Exception {
        CountDownLatch closed = new CountDownLatch(1);
        InetSocketAddress gw = gateway(Relays.SPLICE, closed::countDown, 1000);
        CompletableFuture<Void> served = CompletableFuture.runAsync(() -> {
            try (Socket s = origin.accept()) {
                echo(s);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }, threads);
        try (Socket c = new Socket()) {
            c.connect(gw);
            c.setSoTimeout(10_000);
            OutputStream out = c.getOutputStream();
            InputStream in = c.getInputStream();
            // One and a half idle periods of traffic, a byte every 100 ms: the tunnel stays open.
            for (int i = 0; i < 15; i++) {
                out.write(i);
                assertThat(in.read()).isEqualTo(i);
                if (i == 0) {
                    assertThat(spliced()).as("spliced").isTrue();
                }
                Thread.sleep(100);
            }
            assertThat(closed.getCount()).as("open while bytes move").isEqualTo(1);
            // Then silence: the idle timeout closes it.
            assertThat(closed.await(10, TimeUnit.SECONDS)).as("closed after silence").isTrue();
            assertThat(in.read()).as("the client sees the end").isEqualTo(-1);
        }
        served.get(10, TimeUnit.SECONDS);
        assertThat(up.get()).isEqualTo(15);
        assertThat(down.get()).isEqualTo(15);
    }

    @Test
    void pair_defaultThreshold_shortExchangeStaysOnCopyRelayAndBulkMovesToSpliceMidStream() throws Exception {
        assumeThat(Transport.epoll()).as("epoll is available (Linux)").isTrue();
        CountDownLatch closed = new CountDownLatch(1);
        threshold = SpliceHandover.DEFAULT_AFTER_BYTES;
        InetSocketAddress gw = gateway(Relays.SPLICE, closed::countDown, 0);
        byte[] bulk = random(SIZE, 4);
        CompletableFuture<Void> served = CompletableFuture.runAsync(() -> {
            try (Socket s = origin.accept()) {
                assertThat(s.getInputStream().read()).isEqualTo(1);
                s.getOutputStream().write(2);
                assertThat(s.getInputStream().read()).isEqualTo(3);
                send(s, bulk);
                s.getInputStream().read();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }, threads);
        try (Socket c = new Socket()) {
            c.setReceiveBufferSize(4096);
            c.connect(gw);
            c.setSoTimeout(10_000);
            c.getOutputStream().write(1);
            assertThat(c.getInputStream().read()).isEqualTo(2);
            assertThat(spliced()).as("a short exchange stays on the copy relay").isFalse();
            c.getOutputStream().write(3);
            Thread.sleep(1500);
            assertThat(spliced()).as("past the threshold the tunnel is spliced").isTrue();
            assertThat(crc(c.getInputStream())).as("every byte, in order, across the hand-over").isEqualTo(crc(bulk));
        }
        served.get(10, TimeUnit.SECONDS);
        assertThat(closed.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(down.get()).isEqualTo(SIZE + 1);
        assertThat(up.get()).isEqualTo(2);
    }

    @Test
    void connect_rawBulkThroughTheGateway_isSplicedOnceTheGateLeftAndArrivesWholeWithItsCloseRecord() throws Exception {
        byte[] data = random(SIZE, 5);
        data[0] = 0; // a binary first byte names no server: the gate lets it through and leaves
        try (Origins.Echo echo = new Origins.Echo("127.0.0.1");
                TestGateway gw = new TestGateway("""
                        version: 1
                        project: demo
                        network:
                          allow:
                            - host: git.test
                              ports: [%d]
                        """.formatted(echo.port()), TestGateway.loopbackException(echo.port()), "127.0.0.1 git.test\n",
                        GatewayLimits.DEFAULT)) {
            long pipesBefore = pipes();
            try (Socket s = gw.client()) {
                TestGateway.send(s, "CONNECT git.test:" + echo.port() + " HTTP/1.1\r\n\r\n");
                assertThat(TestGateway.read(s).status()).isEqualTo(200);
                CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> send(s, data), threads);
                InputStream in = s.getInputStream();
                CRC32 crc = new CRC32();
                byte[] first = in.readNBytes(1 << 20);
                crc.update(first);
                boolean splices = Transport.epoll() && SpliceHandover.threshold() != SpliceHandover.OFF;
                assertThat(pipes() - pipesBefore).as("two pipes while the tunnel is spliced (none on the copy relay)")
                        .isEqualTo(splices ? 4 : 0);
                byte[] buf = new byte[65536];
                for (int n; (n = in.read(buf)) > 0; ) {
                    crc.update(buf, 0, n);
                }
                sent.get(10, TimeUnit.SECONDS);
                assertThat(crc.getValue()).as("every byte there and back").isEqualTo(crc(data));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (gw.audit.closes().isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(gw.audit.closes()).singleElement().satisfies(e -> {
                assertThat(e.bytesUp()).isEqualTo(SIZE);
                assertThat(e.bytesDown()).isEqualTo(SIZE);
            });
            awaitPipes(pipesBefore);
            assertThat(pipes()).as("the pipes are closed with the tunnel").isEqualTo(pipesBefore);
        }
    }

    /** True when every client channel is off Netty's epoll set, i.e. in the splice relay's hands. */
    private boolean spliced() {
        return !clients.isEmpty() && clients.stream().noneMatch(Channel::isRegistered);
    }

    private static Socket roundTrip(InetSocketAddress gw) throws IOException {
        Socket c = new Socket();
        c.connect(gw);
        c.setSoTimeout(10_000);
        c.getOutputStream().write(7);
        assertThat(c.getInputStream().read()).isEqualTo(7);
        return c;
    }

    private static void echo(Socket s) {
        try (s) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            byte[] buf = new byte[8192];
            for (int n; (n = in.read(buf)) > 0; ) {
                out.write(buf, 0, n);
            }
        } catch (IOException e) {
            // the client went away
        }
    }

    private static void send(Socket s, byte[] data) {
        try {
            s.getOutputStream().write(data);
            s.shutdownOutput();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long crc(InputStream in) throws IOException {
        CRC32 crc = new CRC32();
        byte[] buf = new byte[65536];
        for (int n; (n = in.read(buf)) > 0; ) {
            crc.update(buf, 0, n);
        }
        return crc.getValue();
    }

    private static long crc(byte[] data) {
        CRC32 crc = new CRC32();
        crc.update(data);
        return crc.getValue();
    }

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static long fds() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    /** Closing is asynchronous (the loop closes after the client saw the end): waits, then the caller asserts. */
    private static void awaitPipes(long count) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (pipes() != count && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
    }

    private static List<Path> pipePaths() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return new ArrayList<>(s.filter(p -> {
                try {
                    return Files.readSymbolicLink(p).toString().startsWith("pipe:");
                } catch (IOException gone) {
                    return false;
                }
            }).toList());
        }
    }

    private static long pipes() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.filter(p -> {
                try {
                    return Files.readSymbolicLink(p).toString().startsWith("pipe:");
                } catch (IOException gone) {
                    return false;
                }
            }).count();
        }
    }
}
