package dev.airlock.bench.proxy;

import dev.airlock.gateway.proxy.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;

/**
 * The loopback origin every proxy tunnels to, in its own process so that its sockets do not count
 * against the load generator's file descriptors (10,000 idle tunnels need 10,000 on each side).
 *
 * <p>Two ports: the <em>source</em> port writes an endless stream of bytes to whoever connects
 * (bulk download through a tunnel), the <em>echo</em> port sends back whatever it reads (new-tunnel
 * latency and idle tunnels). Netty with epoll, and the source writes one shared direct buffer
 * over and over, so the origin costs a fraction of what any proxy in front of it costs.
 */
final class Origin {

    /** One write: large enough that the origin makes few system calls per MiB. */
    private static final int CHUNK_BYTES = 256 * 1024;
    /** Bytes queued per source connection before the origin waits for the socket to drain. */
    private static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(512 * 1024, 1024 * 1024);

    private Origin() {
    }

    /** Runs until the process is killed; prints one "ready" line once both ports listen. */
    static void run(InetSocketAddress source, InetSocketAddress echo, int threads) throws InterruptedException {
        EventLoopGroup group = Transport.group(threads);
        ByteBuf chunk = Unpooled.unreleasableBuffer(Unpooled.directBuffer(CHUNK_BYTES).writeZero(CHUNK_BYTES));
        Channel s = new ServerBootstrap().group(group).channel(Transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 4096)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .childHandler(new SourceHandler(chunk))
                .bind(source).sync().channel();
        Channel e = new ServerBootstrap().group(group).channel(Transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 4096)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new EchoHandler())
                .bind(echo).sync().channel();
        System.out.println("origin ready: source " + s.localAddress() + ", echo " + e.localAddress()
                + (Transport.epoll() ? " (epoll)" : " (nio)"));
        s.closeFuture().sync();
    }

    /** Writes {@code chunk} for as long as the connection is open, as fast as the peer reads. */
    @io.netty.channel.ChannelHandler.Sharable
    private static final class SourceHandler extends ChannelInboundHandlerAdapter {
        private final ByteBuf chunk;

        SourceHandler(ByteBuf chunk) {
            this.chunk = chunk;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            pump(ctx);
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            pump(ctx);
        }

        private void pump(ChannelHandlerContext ctx) {
            Channel ch = ctx.channel();
            while (ch.isActive() && ch.isWritable()) {
                ctx.write(chunk.duplicate()).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
            }
            ctx.flush();
            // The flush may have drained everything without ever crossing the high mark, in which
            // case no writability event will come: keep going from the event loop.
            if (ch.isActive() && ch.isWritable()) {
                ctx.executor().execute(() -> pump(ctx));
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** Echoes every byte; closes when the peer closes (half-closure is not allowed here). */
    @io.netty.channel.ChannelHandler.Sharable
    private static final class EchoHandler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
