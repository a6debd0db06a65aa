package dev.airlock.server;

import io.netty.channel.ChannelHandlerContext;
import java.util.concurrent.TimeUnit;

/**
 * When a streamed command exchange (run, exec) closes its connection: once the response and the
 * request are both complete. Closing while the client still sends (the rest of its first chunk, its
 * stdin, the final chunk) made its write fail ("Broken pipe"), and a unix socket closed with unread
 * data resets the peer's read ("Connection reset"), so a run whose command had ended failed at the
 * client. A client that never ends its body is cut off {@link ApiHandler#LINGER} after the response.
 * Both marks come on the connection's event loop; whether the request ended may be read anywhere.
 */
final class ExchangeClose {

    private final ChannelHandlerContext ctx;
    private volatile boolean requestEnded;
    private boolean responded;

    ExchangeClose(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    /** The request body ended; true when the response had too, and the connection is now closed. */
    boolean requestEnded() {
        requestEnded = true;
        if (responded) {
            ctx.close();
            return true;
        }
        return false;
    }

    boolean hasRequestEnded() {
        return requestEnded;
    }

    /** The response is complete. */
    void responded() {
        responded = true;
        if (requestEnded) {
            ctx.close();
        } else {
            ctx.executor().schedule(() -> {
                ctx.close();
            }, ApiHandler.LINGER.toMillis(), TimeUnit.MILLISECONDS);
        }
    }
}
