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
    private final Path socket;

    private ApiServer(EventLoopGroup group, List<Channel> channels, Path socket) {
        this.group = group;
        this.channels = channels;
        this.socket = socket;
    }

    static ApiServer start(Daemon daemon, Path socket, Optional<InetSocketAddress> tcp, Optional<String> token) throws IOException {
        return startWith(t -> new ApiHandler(daemon, t), socket, tcp, token);
    }

    /** The API with its handlers from {@code handlers} (given the listener's token: none on the unix socket). */
    static ApiServer startWith(java.util.function.Function<Optional<String>, io.netty.channel.ChannelHandler> handlers, Path socket,
            Optional<InetSocketAddress> tcp, Optional<String> token) throws IOException {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
        List<Channel> channels = new ArrayList<>();
        try {
            Files.createDirectories(socket.getParent());
            if (Files.exists(socket)) {
                // a socket file left by a killed daemon; start() refuses to run two daemons (see Daemons.lock)
                Files.delete(socket);
            }
            channels.add(bootstrap(group, handlers, Optional.empty()).channel(EpollServerDomainSocketChannel.class)
                    .bind(new DomainSocketAddress(socket.toFile())).sync().channel());
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
            if (tcp.isPresent()) {
                channels.add(bootstrap(group, handlers, token).channel(EpollServerSocketChannel.class).bind(tcp.get()).sync().channel());
            }
            return new ApiServer(group, channels, socket);
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
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            // the next daemon removes it
        }
    }
}
