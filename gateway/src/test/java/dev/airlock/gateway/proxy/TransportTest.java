package dev.airlock.gateway.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The gateway's listeners and dialer no longer ask for TCP_NODELAY (a setsockopt per connection):
 * they rely on Netty's socket channels turning Nagle off when they are made. This pins that default,
 * on whichever transport this machine uses, for both an accepted and a dialled connection.
 */
class TransportTest {

    @Test
    void acceptedAndDialledChannels_haveNoDelayWithoutAskingForIt() throws Exception {
        EventLoopGroup group = Transport.group(1);
        try {
            CompletableFuture<Boolean> acceptedNoDelay = new CompletableFuture<>();
            Channel server = new ServerBootstrap().group(group).channel(Transport.serverChannel())
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            acceptedNoDelay.complete(ch.config().getOption(ChannelOption.TCP_NODELAY));
                        }
                    })
                    .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
            Channel client = new Bootstrap().group(group).channel(Transport.channel()).handler(new ChannelInboundHandlerAdapter())
                    .connect(server.localAddress()).sync().channel();
            assertThat(client.config().getOption(ChannelOption.TCP_NODELAY)).as("dialled").isTrue();
            // Control: the option is read from the socket, so a channel that asks for Nagle reports it.
            Channel nagle = new Bootstrap().group(group).channel(Transport.channel()).handler(new ChannelInboundHandlerAdapter())
                    .option(ChannelOption.TCP_NODELAY, false).connect(server.localAddress()).sync().channel();
            assertThat(nagle.config().getOption(ChannelOption.TCP_NODELAY)).as("control: Nagle asked for").isFalse();
            nagle.close().sync();
            assertThat(acceptedNoDelay.get(10, TimeUnit.SECONDS)).as("accepted").isTrue();
            client.close().sync();
            server.close().sync();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }
}
