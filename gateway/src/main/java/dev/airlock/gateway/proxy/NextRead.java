package dev.airlock.gateway.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.socket.DuplexChannel;

/**
 * Asks a channel for its next bytes (AUTO_READ is off everywhere), unless its FIN was already
 * read. A read asked for after the FIN is not harmless on epoll: Netty fails it and closes the
 * channel, which cut a tunnel's other direction off mid-answer whenever a write finished after
 * the FIN had been read (a slow peer, or a FIN sent with the CONNECT head).
 */
final class NextRead {

    private NextRead() {
    }

    static void ask(ChannelHandlerContext ctx) {
        if (!inputShut(ctx.channel())) {
            ctx.read();
        }
    }

    static void ask(Channel ch) {
        if (!inputShut(ch)) {
            ch.read();
        }
    }

    /** The peer's FIN was read: nothing more will come from this channel. */
    static boolean inputShut(Channel ch) {
        return ch instanceof DuplexChannel d && d.isInputShutdown();
    }
}
