package dev.airlock.server;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.handler.codec.http.HttpServerCodec;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The daemon's REST API: HTTP/1.1 on a unix domain socket (mode 0600, root's: who can open it can
 * run sandboxes), and optionally on TCP, where every request needs the bearer token.
 *
 * <p>Sandboxes cannot reach either. The socket lives in the state directory, which no sandbox
 * mounts; a sandbox's TCP to any host address is intercepted by its nftables rules and denied by
 * the gateway as a protected address; and the TCP listener still wants the token.
 */
final class ApiServer implements AutoCloseable {

    private final EventLoopGroup group;
    private final List<Channel> channels;
    /** The socket file to remove at close: the daemon's own; one systemd passed stays, to start the next daemon. */
    private final Optional<Path> ownSocket;

    private ApiServer(EventLoopGroup group, List<Channel> channels, Optional<Path> ownSocket) {
        this.group = group;
        this.channels = channels;
        this.ownSocket = ownSocket;
    }

    static ApiServer start(Daemon daemon, Path socket, Optional<InetSocketAddress> tcp, Optional<String> token) throws IOException {
        return startWith(t -> new ApiHandler(daemon, t), socket, tcp, token);
    }

    /**
     * The API with its handlers from {@code handlers} (given the listener's token: none on the unix
     * socket), on the socket systemd passed this process if it did ({@link SystemdSocket}).
     */
    static ApiServer startWith(java.util.function.Function<Optional<String>, io.netty.channel.ChannelHandler> handlers, Path socket,
            Optional<InetSocketAddress> tcp, Optional<String> token) throws IOException {
        return startWith(handlers, socket, tcp, token, SystemdSocket.passed(System.getenv(), ProcessHandle.current().pid()));
    }

    /** As above, on {@code passed} when present (it must be bound to {@code socket}), else on a socket of its own. */
    static ApiServer startWith(java.util.function.Function<Optional<String>, io.netty.channel.ChannelHandler> handlers, Path socket,
            Optional<InetSocketAddress> tcp, Optional<String> token, Optional<SystemdSocket> passed) throws IOException {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
        List<Channel> channels = new ArrayList<>();
        try {
            if (passed.isPresent()) {
                channels.add(adopt(group, handlers, passed.get(), socket));
            } else {
                Files.createDirectories(socket.getParent());
                if (Files.exists(socket)) {
                    // a socket file left by a killed daemon; start() refuses to run two daemons (see Daemons.lock)
                    Files.delete(socket);
                }
                channels.add(bootstrap(group, handlers, Optional.empty()).channel(EpollServerDomainSocketChannel.class)
                        .bind(new DomainSocketAddress(socket.toFile())).sync().channel());
                Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
            }
            if (tcp.isPresent()) {
                channels.add(bootstrap(group, handlers, token).channel(EpollServerSocketChannel.class).bind(tcp.get()).sync().channel());
            }
            return new ApiServer(group, channels, passed.isPresent() ? Optional.empty() : Optional.of(socket));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            group.shutdownGracefully();
            throw new IOException("interrupted while binding the API", e);
        } catch (IOException | RuntimeException e) {
            channels.forEach(Channel::close);
            group.shutdownGracefully();
            throw new IOException("cannot serve the API on " + socket + tcp.map(t -> " and " + t).orElse("") + ": " + e.getMessage(), e);
        }
    }

    /**
     * Serves the listening socket systemd passed, which systemd made (its mode is the unit's
     * {@code SocketMode=0600}) and keeps after the daemon stops. It must be bound to the socket the
     * configuration names: clients look there, and a socket elsewhere would be served unchecked.
     */
    private static Channel adopt(EventLoopGroup group, java.util.function.Function<Optional<String>, io.netty.channel.ChannelHandler> handlers,
            SystemdSocket passed, Path socket) throws IOException, InterruptedException {
        EpollServerDomainSocketChannel ch = new EpollServerDomainSocketChannel(passed.fd(), true);
        DomainSocketAddress bound = ((io.netty.channel.unix.Socket) ch.fd()).localDomainSocketAddress();
        if (bound == null || !Path.of(bound.path()).toAbsolutePath().normalize().equals(socket.toAbsolutePath().normalize())) {
            ch.unsafe().closeForcibly();
            throw new IOException("systemd passed a socket bound to " + (bound == null ? "no path" : bound.path()) + ", but the daemon's socket is "
                    + socket + ". Fix: make ListenStream= in airlock.socket and the daemon's socket the same path.");
        }
        // who can open the socket can run sandboxes: root alone, as for the daemon's own socket
        java.util.Set<java.nio.file.attribute.PosixFilePermission> mode = Files.getPosixFilePermissions(socket, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        if (!PosixFilePermissions.fromString("rw-------").containsAll(mode)) {
            ch.unsafe().closeForcibly();
            throw new IOException("the socket systemd passed, " + socket + ", is " + PosixFilePermissions.toString(mode)
                    + ": others could run sandboxes. Fix: SocketMode=0600 in airlock.socket.");
        }
        return bootstrap(group, handlers, Optional.empty()).channelFactory((io.netty.channel.ChannelFactory<EpollServerDomainSocketChannel>) () -> ch)
                .register().sync().channel();
    }

    private static ServerBootstrap bootstrap(EventLoopGroup group, java.util.function.Function<Optional<String>, io.netty.channel.ChannelHandler> handlers,
            Optional<String> token) {
        return new ServerBootstrap().group(group).childHandler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new HttpServerCodec(4096, 16384, 65536), handlers.apply(token));
            }
        });
    }

    /** The TCP listener's bound address (for tests that bind port 0). */
    Optional<InetSocketAddress> tcpAddress() {
        return channels.size() > 1 ? Optional.of((InetSocketAddress) channels.get(1).localAddress()) : Optional.empty();
    }

    @Override
    public void close() {
        channels.forEach(c -> c.close().awaitUninterruptibly());
        group.shutdownGracefully().awaitUninterruptibly();
        try {
            if (ownSocket.isPresent()) {
                Files.deleteIfExists(ownSocket.get());
            }
        } catch (IOException e) {
            // the next daemon removes it
        }
    }
}
