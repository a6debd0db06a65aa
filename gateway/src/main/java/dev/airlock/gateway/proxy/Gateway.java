package dev.airlock.gateway.proxy;

import dev.airlock.gateway.audit.AuditSink;
import dev.airlock.gateway.registry.Sandbox;
import dev.airlock.gateway.registry.SandboxRegistry;
import dev.airlock.gateway.resolve.Resolver;
import dev.airlock.policy.address.IpAddress;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.timeout.IdleStateHandler;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * One running egress gateway: its event loops, the bounded resolver pool, the authorizer and its
 * listeners. Wired by hand, in one place (DESIGN.md §3); the runtime owns its lifecycle.
 */
public final class Gateway implements AutoCloseable {

    /**
     * @param ioThreads   event loop threads (the machine has 2 cores; 2 is right there)
     * @param failOpen    allow connections even when the audit sink fails (off by default)
     * @param policyLabel what denial bodies call the project policy file ("airlock.yaml")
     */
    public record Config(Resolver resolver, AuditSink audit, GatewayMetrics metrics, GatewayLimits limits, int ioThreads,
            boolean failOpen, String policyLabel) {
    }

    private final Config config;
    private final SandboxRegistry registry;
    private final EventLoopGroup group;
    private final ThreadPoolExecutor resolvers;
    private final ConnectionAuthorizer authorizer;
    private final UpstreamDialer dialer;
    private final List<Channel> listeners = new CopyOnWriteArrayList<>();

    public Gateway(Config config, SandboxRegistry registry) {
        SpliceHandover.configured(); // a -Dairlock.relay.splice value it does not understand stops the gateway here
        this.config = config;
        this.registry = registry;
        this.group = Transport.group(config.ioThreads());
        int n = config.limits().maxResolutions();
        // Bounded both ways: n threads, a short queue; beyond that a connection is denied as `limit`.
        this.resolvers = new ThreadPoolExecutor(n, n, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(n * 16), r -> {
            Thread t = new Thread(r, "airlock-resolve");
            t.setDaemon(true);
            return t;
        });
        this.resolvers.allowCoreThreadTimeOut(true);
        this.authorizer = new ConnectionAuthorizer(config.resolver(), config.audit(), config.metrics(), config.limits(),
                resolvers, config.failOpen());
        this.dialer = new UpstreamDialer((int) config.limits().connectTimeout().toMillis());
    }

    public SandboxRegistry registry() {
        return registry;
    }

    public ConnectionAuthorizer authorizer() {
        return authorizer;
    }

    /**
     * An explicit HTTP/CONNECT listener whose every connection belongs to {@code sandbox}: identity
     * by the listener a connection arrives on.
     */
    public InetSocketAddress explicitListener(InetSocketAddress bind, Sandbox sandbox) throws InterruptedException {
        return explicit(bind, ch -> Optional.of(sandbox));
    }

    /** An explicit listener shared by sandboxes: identity by the client's link address. */
    public InetSocketAddress sharedExplicitListener(InetSocketAddress bind) throws InterruptedException {
        return explicit(bind, ch -> registry.byLinkAddress(IpAddress.fromBytes(
                ((InetSocketAddress) ch.remoteAddress()).getAddress().getAddress())));
    }

    private InetSocketAddress explicit(InetSocketAddress bind, Function<Channel, Optional<Sandbox>> identity)
            throws InterruptedException {
        GatewayLimits limits = config.limits();
        Channel server = listener(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        Optional<Sandbox> sandbox = identity.apply(ch);
                        if (sandbox.isEmpty()) {
                            // Not a known sandbox: nothing to decide for, nothing to answer.
                            ch.close();
                            return;
                        }
                        ch.pipeline().addLast("codec", new HttpServerCodec(limits.maxHeaderBytes(), limits.maxHeaderBytes(), 8192));
                        ch.pipeline().addLast("idle", new IdleStateHandler(0, 0, limits.idleTimeout().toMillis(), TimeUnit.MILLISECONDS));
                        ch.pipeline().addLast("proxy", new ExplicitProxyHandler(sandbox.get(), authorizer, dialer, limits,
                                config.policyLabel()));
                    }
                })
                .bind(bind).sync().channel();
        listeners.add(server);
        return (InetSocketAddress) server.localAddress();
    }

    /**
     * The transparent listener the kernel's TPROXY rule sends a sandbox's TCP to. The socket is
     * IP_TRANSPARENT, so each accepted connection's local address is the original destination.
     * Identity comes from the connection's source: the sandbox's link address.
     */
    public InetSocketAddress transparentListener(InetSocketAddress bind) throws InterruptedException {
        return transparent(bind, ch -> (InetSocketAddress) ch.localAddress(), TransparentHandler.Ports.DEFAULT, true);
    }

    /**
     * Connections a sandbox makes to its own gateway address on this port are served by the
     * explicit proxy (HTTP_PROXY), still identified by their source. Every other destination goes
     * through the transparent path.
     */
    public void explicitOnTransparent(int port) {
        this.explicitHandoffPort = port;
    }

    private volatile int explicitHandoffPort = -1;

    /**
     * For tests without the kernel: {@code destination} stands in for the original destination
     * TPROXY would have preserved. Identity still comes from the source address.
     */
    InetSocketAddress transparent(InetSocketAddress bind, Function<Channel, InetSocketAddress> destination,
            TransparentHandler.Ports ports, boolean ipTransparent) throws InterruptedException {
        GatewayLimits limits = config.limits();
        ServerBootstrap b = listener(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        Optional<Sandbox> sandbox = registry.byLinkAddress(IpAddress.fromBytes(
                                ch.remoteAddress().getAddress().getAddress()));
                        if (sandbox.isEmpty()) {
                            ch.config().setOption(ChannelOption.SO_LINGER, 0);
                            ch.close();
                            return;
                        }
                        InetSocketAddress dst = destination.apply(ch);
                        ch.pipeline().addLast("idle", new IdleStateHandler(0, 0, limits.idleTimeout().toMillis(), TimeUnit.MILLISECONDS));
                        if (dst.getPort() == explicitHandoffPort && sandbox.get().gatewayAddresses()
                                .contains(IpAddress.fromBytes(dst.getAddress().getAddress()))) {
                            ch.pipeline().addLast("codec", new HttpServerCodec(limits.maxHeaderBytes(), limits.maxHeaderBytes(), 8192));
                            ch.pipeline().addLast("proxy", new ExplicitProxyHandler(sandbox.get(), authorizer, dialer, limits,
                                    config.policyLabel()));
                            return;
                        }
                        ch.pipeline().addLast("transparent", new TransparentHandler(sandbox.get(), dst,
                                authorizer, dialer, limits, ports));
                    }
                });
        if (ipTransparent) {
            if (!Transport.epoll()) {
                throw new IllegalStateException("the transparent listener needs Linux epoll (IP_TRANSPARENT); it is not available here");
            }
            b.option(io.netty.channel.epoll.EpollChannelOption.IP_TRANSPARENT, true);
        }
        Channel server = b.bind(bind).sync().channel();
        listeners.add(server);
        return (InetSocketAddress) server.localAddress();
    }

    /**
     * A server bootstrap with the options every listener shares: reads only on demand (AUTO_READ
     * off, so the other side is ready first), half-close allowed (FINs propagate). No Nagle delay
     * either, which Netty's socket channels set themselves when they are made; asking again cost
     * one more setsockopt per connection (TransportTest pins that default).
     */
    private ServerBootstrap listener(ChannelInitializer<SocketChannel> init) {
        return new ServerBootstrap().group(group).channel(Transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 4096)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childHandler(init);
    }

    @Override
    public void close() {
        listeners.forEach(Channel::close);
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        resolvers.shutdownNow();
    }
}
