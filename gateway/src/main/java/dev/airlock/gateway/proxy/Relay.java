package dev.airlock.gateway.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.unix.Socket;
import io.netty.handler.timeout.IdleStateEvent;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Copies bytes from one channel to its peer, one read at a time: the next read happens only after
 * the previous write was flushed, so a slow reader slows the writer instead of filling memory
 * (AUTO_READ is off). Half-closes propagate: when one side stops sending, the peer's output is
 * shut down, and the pair is closed once both directions are done. Idle tunnels are closed.
 *
 * <p>On epoll, once nothing needs to look at the bytes any more, the pair is handed to the
 * {@link SpliceRelay} ({@link SpliceHandover}), which moves them in the kernel; the copy relay
 * stays for NIO, for pairs on two event loops, while a gate inspects, and when splice is off.
 */
final class Relay extends ChannelInboundHandlerAdapter {

    private final Channel peer;
    private final AtomicLong bytes;
    private final Runnable onClose;
    private final SpliceHandover handover;
    private ChannelHandlerContext ctx;
    private boolean inputDone;

    /**
     * @param bytes   counter of bytes moved from this channel to the peer
     * @param onClose run once, when both channels are closed (from either side)
     */
    Relay(Channel peer, AtomicLong bytes, Runnable onClose, SpliceHandover handover) {
        this.peer = peer;
        this.bytes = bytes;
        this.onClose = onClose;
        this.handover = handover;
    }

    /** Wires two channels into a relay pair and starts reading both. */
    static void pair(Channel a, Channel b, AtomicLong aToB, AtomicLong bToA, Runnable onClose) {
        pair(a, b, aToB, bToA, onClose, null);
    }

    /** As below, splicing as {@code -Dairlock.relay.splice} says ({@link SpliceHandover#threshold()}). */
    static void pair(Channel a, Channel b, AtomicLong aToB, AtomicLong bToA, Runnable onClose, ChannelHandler gateOnA) {
        pair(a, b, aToB, bToA, onClose, gateOnA, SpliceHandover.settings());
    }

    /**
     * Wires two channels into a relay pair, puts {@code gateOnA} (may be null) just before
     * {@code a}'s relay, and only then starts reading: no byte of {@code a} can reach its relay
     * before the gate is in place, whichever event loops the channels run on. Both relays exist
     * before the gate is added, because the gate may pass on bytes it holds (and watch {@code b})
     * as soon as it is added. The pair moves to the {@link SpliceRelay} at the first quiet point
     * after the gate left and {@code splice.afterBytes()} were moved (at once when that is 0 and
     * there is no gate), where epoll allows; never when splicing is off.
     */
    static void pair(Channel a, Channel b, AtomicLong aToB, AtomicLong bToA, Runnable onClose, ChannelHandler gateOnA,
            SpliceSettings splice) {
        Runnable once = new Runnable() {
            private boolean ran;

            @Override
            public synchronized void run() {
                if (!ran) {
                    ran = true;
                    onClose.run();
                }
            }
        };
        SpliceHandover handover = SpliceHandover.forPair(a, b, aToB, bToA, splice);
        Relay onA = new Relay(b, aToB, once, handover);
        Relay onB = new Relay(a, bToA, once, handover);
        if (handover != null) {
            handover.relays(onA, onB);
        }
        a.pipeline().addLast("relay", onA);
        b.pipeline().addLast("relay", onB);
        if (gateOnA != null) {
            a.pipeline().addBefore("relay", "gate", gateOnA);
        }
        a.closeFuture().addListener(f -> closeWhenFlushed(b));
        b.closeFuture().addListener(f -> closeWhenFlushed(a));
        a.closeFuture().addListener(f -> {
            if (!b.isOpen()) {
                once.run();
            }
        });
        b.closeFuture().addListener(f -> {
            if (!a.isOpen()) {
                once.run();
            }
        });
        if (handover == null || !handover.tryStart()) {
            start(a);
            start(b);
        }
    }

    /**
     * Starts reading {@code ch} for its relay, or, when its FIN came before the pair existed (a
     * client that sends its last bytes and FIN with the CONNECT head, while the tunnel is being
     * decided), tells the pipeline so, behind the bytes it was given: the gate passes them on and
     * the relay forwards the FIN. Netty has nothing more to read there; asking it to read such a
     * channel failed and closed the tunnel with its bytes unsent.
     */
    private static void start(Channel ch) {
        if (NextRead.inputShut(ch)) {
            ch.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        } else {
            ch.read();
        }
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    boolean inputDone() {
        return inputDone;
    }

    /** An event Netty delivered while the pair was being handed to the splice relay, which was called off. */
    void replay(Object event) {
        switch (event) {
            case Inactive i -> channelInactive(ctx);
            case Caught c -> exceptionCaught(ctx, c.cause());
            case ChannelInputShutdownEvent e -> userEventTriggered(ctx, e);
            case IdleStateEvent e -> userEventTriggered(ctx, e);
            default -> channelRead(ctx, event);
        }
    }

    private enum Inactive { INSTANCE }

    private record Caught(Throwable cause) {
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (handover != null && handover.hold(this, msg)) {
            return;
        }
        if (msg instanceof ByteBuf buf) {
            bytes.addAndGet(buf.readableBytes());
        }
        if (!peer.isActive()) {
            io.netty.util.ReferenceCountUtil.release(msg);
            ctx.close();
            return;
        }
        if (handover != null) {
            handover.copyStarted();
        }
        peer.writeAndFlush(msg).addListener((ChannelFutureListener) f -> {
            if (handover != null) {
                handover.copyDone();
            }
            if (f.isSuccess()) {
                if (handover == null || !handover.tryStart()) {
                    NextRead.ask(ctx.channel());
                }
            } else {
                f.channel().close();
                ctx.close();
            }
        });
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if ((evt instanceof ChannelInputShutdownEvent || evt instanceof IdleStateEvent)
                && handover != null && handover.hold(this, evt)) {
            return;
        }
        if (evt instanceof ChannelInputShutdownEvent) {
            inputDone = true;
            if (peer instanceof DuplexChannel && peer.isActive()) {
                // Half-close: the peer gets our FIN after everything already written.
                peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> sendFin(peer));
            }
            closeIfBothDone(ctx);
        } else if (evt instanceof IdleStateEvent) {
            ctx.close();
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    /**
     * Shuts {@code ch}'s output down: its peer gets a FIN. Called once everything written to it
     * was flushed, so no write can be pending. On epoll this goes to the socket itself: Netty's
     * {@code shutdownOutput} builds a {@code ChannelOutputShutdownException}, stack trace and all,
     * to fail pending writes there are none of, twice per tunnel. After our FIN, {@code ch}'s own
     * FIN ends its last direction, so Netty closes it there instead of shutting its input down,
     * which fails (ENOTCONN, another exception) once both FINs have crossed.
     */
    static void sendFin(Channel ch) {
        if (ch instanceof EpollSocketChannel epoll) {
            try {
                ((Socket) epoll.fd()).shutdown(false, true);
            } catch (IOException e) {
                ConnectionErrors.caught(ch, "relay", e);
                closeIfOpen(ch);
                return;
            }
            ch.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, false);
        } else if (ch instanceof DuplexChannel d) {
            d.shutdownOutput();
        }
    }

    private void closeIfBothDone(ChannelHandlerContext ctx) {
        if (ctx.channel() instanceof DuplexChannel d && d.isInputShutdown() && d.isOutputShutdown()) {
            closeIfOpen(ctx.channel());
        }
        if (peer instanceof DuplexChannel p && p.isInputShutdown() && p.isOutputShutdown()) {
            closeIfOpen(peer);
        }
        if (inputDone && peer instanceof DuplexChannel p && p.isInputShutdown()) {
            closeIfOpen(ctx.channel());
        }
    }

    /**
     * Closes a channel not closed yet. Netty builds a new ClosedChannelException (with a stack
     * trace array) on every close() call, even on a closed channel, and each tunnel end is asked
     * to close from several places (both relays, both close futures): that was per-tunnel garbage.
     */
    private static void closeIfOpen(Channel ch) {
        if (ch.isOpen()) {
            ch.close();
        }
    }

    /** Closes the channel once the write it listens to is done, unless something closed it meanwhile. */
    private static final ChannelFutureListener CLOSE_IF_OPEN = f -> closeIfOpen(f.channel());

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (handover != null && handover.hold(this, Inactive.INSTANCE)) {
            return;
        }
        closeWhenFlushed(peer);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (handover != null && handover.hold(this, new Caught(cause))) {
            return;
        }
        ConnectionErrors.caught(ctx.channel(), "relay", cause);
        ctx.close();
    }

    /** A TCP reset: the client fails at once instead of waiting for a timeout. */
    static void reset(Channel ch) {
        if (ch.isOpen()) {
            ch.config().setOption(ChannelOption.SO_LINGER, 0);
            ch.close();
        }
    }

    static void closeWhenFlushed(Channel ch) {
        if (ch.isActive()) {
            ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(CLOSE_IF_OPEN);
        } else if (ch.isOpen()) {
            ch.close();
        }
    }
}
