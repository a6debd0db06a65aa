package dev.airlock.gateway.dns;

import dev.airlock.gateway.audit.AuditSink;
import dev.airlock.gateway.registry.Sandbox;
import dev.airlock.gateway.registry.SandboxRegistry;
import dev.airlock.policy.address.IpAddress;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.Message;

/**
 * The sandboxes' only DNS server: UDP and TCP on one address and port, answering through a
 * {@link DnsAnswerer}. It never forwards a query; it only answers.
 *
 * <p>Design. Identity is the query's source address, looked up in {@link SandboxRegistry#byLinkAddress}
 * (the kernel's anti-spoofing rules on each sandbox link make that address trustworthy); an unknown
 * source is REFUSED and recorded with sandbox "-". Each query takes one of {@code maxInFlight}
 * slots before any work, and one source may hold at most {@code maxInFlightPerSource} of them; without
 * a slot it is SERVFAIL with reason {@code limit}, decided on the event loop without resolving. With a permit, the answer is computed on a fixed pool of
 * {@code threads} threads (resolution may block), whose queue is as large as the permit count, so
 * neither threads nor queued work can grow without bound. The audit event is submitted before the
 * response is sent; if the sink refuses it, the response is replaced by SERVFAIL (fail closed).
 *
 * <p>TCP: 2-byte length framing (so at most 64 KiB a message), {@code AUTO_READ} off so a connection
 * is read again only when its previous queries are answered, an idle timeout, and caps on open
 * connections in all and per source. Unreadable bytes on TCP close the connection.
 *
 * <p>epoll when {@link Epoll#isAvailable()}, else NIO.
 */
public final class DnsResponder implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(DnsResponder.class);

    /** Queries answered at once across all sandboxes: several times the resolver's upstream slots. */
    public static final int DEFAULT_MAX_IN_FLIGHT = 256;
    /** Threads that answer (and may block resolving): the cache's upstream slot count, so neither starves. */
    public static final int DEFAULT_THREADS = 64;
    /** RFC 7766 §6.2.3 asks for idle timeouts of seconds; stub resolvers reconnect cheaply. */
    public static final Duration DEFAULT_TCP_IDLE_TIMEOUT = Duration.ofSeconds(10);
    /** One source's share of the in-flight bound, so one busy sandbox cannot starve the others. */
    public static final int DEFAULT_MAX_IN_FLIGHT_PER_SOURCE = 32;
    /** Open TCP connections across all sandboxes; stub resolvers use UDP and fall back rarely. */
    public static final int DEFAULT_MAX_TCP_CONNECTIONS = 512;
    /** One source's share of the TCP connections: a few resolvers, each with a connection or two. */
    public static final int DEFAULT_MAX_TCP_CONNECTIONS_PER_SOURCE = 16;
    /** The 2-byte length prefix caps a TCP message at this. */
    static final int MAX_MESSAGE = 65_535;
    /**
     * UDP responses are cut to this (TC set) without EDNS. Every response Airlock builds (one question
     * of at most 255 octets, at most one A record, an OPT) fits well below it, so nothing is cut.
     */
    static final int MAX_UDP_RESPONSE = 512;
    /** A datagram is received whole or not at all: one buffer as large as any DNS message. */
    private static final int UDP_RECEIVE_BUFFER = MAX_MESSAGE;

    /**
     * @param bind              where to listen; port 0 picks a free port, the same for UDP and TCP
     * @param maxInFlight                queries being answered at once; beyond it SERVFAIL, reason {@code limit}
     * @param maxInFlightPerSource       the same bound for one source address
     * @param threads                    threads answering queries
     * @param tcpIdleTimeout             a TCP connection with nothing in flight for this long is closed
     * @param maxTcpConnections          TCP connections open at once; beyond it new ones are closed at once
     * @param maxTcpConnectionsPerSource the same bound for one source address
     * @param nativeTransport            use epoll when available (tests turn it off to cover NIO)
     */
    public record Settings(InetSocketAddress bind, int maxInFlight, int maxInFlightPerSource, int threads,
            Duration tcpIdleTimeout, int maxTcpConnections, int maxTcpConnectionsPerSource, boolean nativeTransport) {

        public Settings {
            Objects.requireNonNull(bind, "bind");
            if (maxInFlight < 1 || maxInFlightPerSource < 1 || threads < 1 || maxTcpConnections < 1
                    || maxTcpConnectionsPerSource < 1) {
                throw new IllegalArgumentException("DNS responder limits must be positive");
            }
            if (tcpIdleTimeout.isNegative() || tcpIdleTimeout.isZero()) {
                throw new IllegalArgumentException("the TCP idle timeout must be positive: " + tcpIdleTimeout);
            }
        }

        public static Settings defaults(InetSocketAddress bind) {
            return new Settings(bind, DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_IN_FLIGHT_PER_SOURCE, DEFAULT_THREADS,
                    DEFAULT_TCP_IDLE_TIMEOUT, DEFAULT_MAX_TCP_CONNECTIONS, DEFAULT_MAX_TCP_CONNECTIONS_PER_SOURCE, true);
        }

        public Settings withMaxInFlight(int total, int perSource) {
            return new Settings(bind, total, perSource, threads, tcpIdleTimeout, maxTcpConnections,
                    maxTcpConnectionsPerSource, nativeTransport);
        }

        public Settings withThreads(int n) {
            return new Settings(bind, maxInFlight, maxInFlightPerSource, n, tcpIdleTimeout, maxTcpConnections,
                    maxTcpConnectionsPerSource, nativeTransport);
        }

        public Settings withTcpIdleTimeout(Duration d) {
            return new Settings(bind, maxInFlight, maxInFlightPerSource, threads, d, maxTcpConnections,
                    maxTcpConnectionsPerSource, nativeTransport);
        }

        public Settings withMaxTcpConnections(int total, int perSource) {
            return new Settings(bind, maxInFlight, maxInFlightPerSource, threads, tcpIdleTimeout, total, perSource,
                    nativeTransport);
        }

        public Settings withNativeTransport(boolean on) {
            return new Settings(bind, maxInFlight, maxInFlightPerSource, threads, tcpIdleTimeout, maxTcpConnections,
                    maxTcpConnectionsPerSource, on);
        }
    }

    private final Settings settings;
    private final SandboxRegistry registry;
    private final DnsAnswerer answerer;
    private final AuditSink audit;
    private final SourceLimiter inFlight;
    private final SourceLimiter tcpConnections;
    private final ThreadPoolExecutor workers;
    private final ChannelGroup tcpChildren = new DefaultChannelGroup("airlock-dns-tcp", GlobalEventExecutor.INSTANCE);

    private EventLoopGroup group;
    private Channel udp;
    private Channel tcp;
    private boolean closed;

    public DnsResponder(Settings settings, SandboxRegistry registry, DnsAnswerer answerer, AuditSink audit) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.registry = Objects.requireNonNull(registry, "registry");
        this.answerer = Objects.requireNonNull(answerer, "answerer");
        this.audit = Objects.requireNonNull(audit, "audit");
        this.inFlight = new SourceLimiter(settings.maxInFlight(), settings.maxInFlightPerSource());
        this.tcpConnections = new SourceLimiter(settings.maxTcpConnections(), settings.maxTcpConnectionsPerSource());
        // The queue holds every permitted query, so a permitted query is never rejected while running.
        this.workers = new ThreadPoolExecutor(settings.threads(), settings.threads(), 30, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(settings.maxInFlight()), new DefaultThreadFactory("airlock-dns", true));
        this.workers.allowCoreThreadTimeOut(true);
    }

    /** Binds UDP and TCP on the configured address, on one port. */
    public synchronized void start() throws IOException {
        if (closed) {
            throw new IllegalStateException("the DNS responder is closed");
        }
        if (group != null) {
            throw new IllegalStateException("the DNS responder is already started");
        }
        boolean epoll = settings.nativeTransport() && Epoll.isAvailable();
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("airlock-dns-io", true), io);
        try {
            // With port 0, UDP picks a free port and TCP must get the same one: retry if TCP's is taken. The kernel
            // tends to hand UDP the same free port again, whose TCP twin may be some connection's local port, so
            // later attempts pick the port themselves, at random in the ephemeral range.
            IOException last = null;
            boolean any = settings.bind().getPort() == 0;
            for (int attempt = 0; attempt < (any ? 16 : 1); attempt++) {
                InetSocketAddress at = !any || attempt == 0 ? settings.bind()
                        : new InetSocketAddress(settings.bind().getAddress(), java.util.concurrent.ThreadLocalRandom.current().nextInt(32768, 61000));
                try {
                    udp = bindUdp(epoll, at);
                } catch (IOException e) {
                    if (!any || attempt == 0) {
                        throw e;
                    }
                    last = e;
                    continue;
                }
                InetSocketAddress udpBound = (InetSocketAddress) udp.localAddress();
                try {
                    tcp = bindTcp(epoll, new InetSocketAddress(settings.bind().getAddress(), udpBound.getPort()));
                    LOG.info("DNS responder listening on {} (udp, tcp) with {}", udpBound, epoll ? "epoll" : "nio");
                    return;
                } catch (IOException e) {
                    last = e;
                    udp.close().syncUninterruptibly();
                    udp = null;
                }
            }
            throw last;
        } catch (IOException | RuntimeException e) {
            shutdownGroup();
            group = null;
            throw e;
        }
    }

    private Channel bindUdp(boolean epoll, InetSocketAddress at) throws IOException {
        Bootstrap b = new Bootstrap()
                .group(group)
                .channel(epoll ? EpollDatagramChannel.class : NioDatagramChannel.class)
                .option(ChannelOption.RECVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(UDP_RECEIVE_BUFFER))
                .handler(new ChannelInitializer<DatagramChannel>() {
                    @Override
                    protected void initChannel(DatagramChannel ch) {
                        ch.pipeline().addLast(new UdpHandler());
                    }
                });
        return bind(b.bind(at).awaitUninterruptibly(), at, "udp");
    }

    private Channel bindTcp(boolean epoll, InetSocketAddress at) throws IOException {
        Class<? extends ServerChannel> type = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(type)
                .childOption(ChannelOption.AUTO_READ, false)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline()
                                .addLast(new IdleStateHandler(0, 0, settings.tcpIdleTimeout().toMillis(), TimeUnit.MILLISECONDS))
                                .addLast(new LengthFieldBasedFrameDecoder(MAX_MESSAGE, 0, 2, 0, 2))
                                .addLast(new LengthFieldPrepender(2))
                                .addLast(new TcpHandler());
                    }
                });
        return bind(b.bind(at).awaitUninterruptibly(), at, "tcp");
    }

    private static Channel bind(io.netty.channel.ChannelFuture f, InetSocketAddress at, String what) throws IOException {
        if (f.isSuccess()) {
            return f.channel();
        }
        Throwable cause = f.cause();
        if (cause instanceof IOException io) {
            BindException e = new BindException("cannot listen for DNS (" + what + ") on " + at + ": " + io.getMessage());
            e.initCause(io);
            throw e;
        }
        throw new IOException("cannot listen for DNS (" + what + ") on " + at, cause);
    }

    /** The bound UDP address (the port is the real one when 0 was asked for). */
    public synchronized InetSocketAddress udpAddress() {
        requireStarted();
        return (InetSocketAddress) udp.localAddress();
    }

    /** The bound TCP address; the same port as UDP. */
    public synchronized InetSocketAddress tcpAddress() {
        requireStarted();
        return (InetSocketAddress) tcp.localAddress();
    }

    public int udpPort() {
        return udpAddress().getPort();
    }

    public int tcpPort() {
        return tcpAddress().getPort();
    }

    /** Queries being answered now (tests, metrics). */
    public int inFlight() {
        return inFlight.used();
    }

    private void requireStarted() {
        if (udp == null || tcp == null) {
            throw new IllegalStateException("the DNS responder is not started");
        }
    }

    /** Stops listening, closes every TCP connection and stops the answering threads. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (udp != null) {
            udp.close().awaitUninterruptibly();
        }
        if (tcp != null) {
            tcp.close().awaitUninterruptibly();
        }
        tcpChildren.close().awaitUninterruptibly();
        shutdownGroup();
        workers.shutdownNow();
    }

    private void shutdownGroup() {
        if (group != null) {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // One query, whatever the transport

    /**
     * Answers {@code wire} from {@code source} and passes the response to {@code send}, or
     * {@code null} when nothing must be sent. {@code send} may run on any thread.
     */
    private void handle(byte[] wire, InetSocketAddress source, Consumer<Message> send) {
        InetAddress from = source.getAddress();
        String client = from.getHostAddress();
        Optional<Sandbox> sandbox = registry.byDnsClient(IpAddress.fromBytes(from.getAddress()));
        if (!inFlight.tryAcquire(from)) {
            finish(answerer.overloaded(sandbox.orElse(null), client, wire), send);
            return;
        }
        try {
            workers.execute(() -> {
                try {
                    finish(sandbox.map(s -> answerer.answer(s, client, wire))
                            .orElseGet(() -> answerer.refuseUnknownSource(client, wire)), send);
                } catch (RuntimeException e) {
                    // Fail closed: no answer. On TCP, null also closes the connection.
                    LOG.error("DNS query from {} failed; no answer sent", client, e);
                    try {
                        send.accept(null);
                    } catch (RuntimeException again) {
                        LOG.debug("and the connection could not be closed", again);
                    }
                } finally {
                    inFlight.release(from);
                }
            });
        } catch (RejectedExecutionException e) {
            inFlight.release(from);
            finish(answerer.overloaded(sandbox.orElse(null), client, wire), send);
        }
    }

    /** Records, then answers: a reply whose event the sink refuses becomes SERVFAIL (fail closed). */
    private void finish(DnsAnswerer.Reply reply, Consumer<Message> send) {
        DnsAnswerer.Reply out = reply;
        if (!audit.submit(reply.event())) {
            out = DnsAnswerer.failClosed(reply);
            LOG.warn("audit sink refused a DNS event; answered SERVFAIL (fail-closed): sandbox={} name={} reason={}",
                    reply.event().sandbox(), reply.event().name(), reply.event().reason().code);
        }
        send.accept(out.response().orElse(null));
    }

    private final class UdpHandler extends SimpleChannelInboundHandler<DatagramPacket> {

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
            InetSocketAddress sender = packet.sender();
            byte[] wire = ByteBufUtil.getBytes(packet.content());
            Channel ch = ctx.channel();
            handle(wire, sender, response -> {
                if (response != null) {
                    ch.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(response.toWire(MAX_UDP_RESPONSE)), sender));
                }
            });
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // A UDP socket error (an ICMP unreachable, say) concerns one peer; keep serving the rest.
            LOG.debug("DNS udp error", cause);
        }
    }

    private final class TcpHandler extends SimpleChannelInboundHandler<ByteBuf> {

        /** Queries of this connection not yet answered; touched only on the channel's event loop. */
        private int outstanding;
        /** The source holding a connection slot, once one was granted. */
        private InetAddress counted;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            InetAddress from = ((InetSocketAddress) ctx.channel().remoteAddress()).getAddress();
            if (!tcpConnections.tryAcquire(from)) {
                // Debug, not warn: a sandbox could otherwise flood the operator's log at will.
                LOG.debug("DNS tcp connection from {} closed: the connection limit ({} in all, {} a source) is reached",
                        from.getHostAddress(), settings.maxTcpConnections(), settings.maxTcpConnectionsPerSource());
                ctx.close();
                return;
            }
            counted = from;
            tcpChildren.add(ctx.channel());
            ctx.read();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (counted != null) {
                tcpConnections.release(counted);
                counted = null;
            }
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
            Channel ch = ctx.channel();
            byte[] wire = ByteBufUtil.getBytes(frame);
            outstanding++;
            handle(wire, (InetSocketAddress) ch.remoteAddress(), response -> onLoop(ch, () -> {
                outstanding--;
                if (response == null) {
                    // Unreadable, or not a query: RFC 7766 lets a server close; it also ends the stream.
                    ch.close();
                    return;
                }
                ch.writeAndFlush(Unpooled.wrappedBuffer(response.toWire(MAX_MESSAGE)))
                        .addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
                if (outstanding == 0 && ch.isActive()) {
                    ch.read();
                }
            }));
        }

        /** Runs on the channel's event loop; after shutdown there is nothing left to answer. */
        private static void onLoop(Channel ch, Runnable task) {
            try {
                ch.eventLoop().execute(task);
            } catch (RejectedExecutionException e) {
                ch.close();
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            // The frame decoder asks for more itself while a frame is incomplete.
            if (outstanding == 0 && ctx.channel().isActive()) {
                ctx.read();
            }
            ctx.fireChannelReadComplete();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof IdleStateEvent && outstanding == 0) {
                ctx.close();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("DNS tcp connection from {} failed", ctx.channel().remoteAddress(), cause);
            ctx.close();
        }
    }
}
