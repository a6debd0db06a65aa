package dev.airlock.gateway.proxy;

import dev.airlock.policy.Printable;
import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one log line for an exception a gateway handler caught: once per connection (every handler
 * on the channel shares the mark), one line without a stack trace, so a flood of broken
 * connections cannot flood the log. A peer's I/O error (a reset, a broken pipe) is routine and
 * logged at INFO; anything else is a fault of Airlock's own and logged at WARN. The stack trace is
 * logged at DEBUG.
 */
final class ConnectionErrors {

    private static final Logger LOG = LoggerFactory.getLogger(ConnectionErrors.class);
    private static final AttributeKey<Boolean> LOGGED = AttributeKey.valueOf(ConnectionErrors.class, "logged");

    private ConnectionErrors() {
    }

    /**
     * Logs {@code cause}, caught by {@code handler} on {@code connection}, unless this connection
     * already logged one; says whether it logged.
     */
    static boolean caught(Channel connection, String handler, Throwable cause) {
        if (connection.attr(LOGGED).setIfAbsent(Boolean.TRUE) != null) {
            return false;
        }
        String what = cause.getClass().getSimpleName() + ": " + Printable.escape(String.valueOf(cause.getMessage()));
        String who = ConnectionAuthorizer.client(connection.remoteAddress());
        if (cause instanceof IOException) {
            LOG.info("{}: connection {} failed, closing it: {}", handler, who, what);
        } else {
            LOG.warn("{}: connection {} failed unexpectedly, closing it: {}", handler, who, what);
        }
        LOG.debug("{}: connection {} stack trace", handler, who, cause);
        return true;
    }
}
