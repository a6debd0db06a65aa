package dev.airlock.gateway.proxy;

import dev.airlock.policy.Decision;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.address.IpAddress;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Promise;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Optional;

/**
 * Dials exactly the addresses a decision vetted, in order, and nothing else: never a name.
 * Right before each attempt the address is checked again against the same engine (Smokescreen's
 * dial-time check), so a bug between decision and dial cannot reach an unvetted address, nor can
 * an address that became the host's own or a production address since. A refusal there fails the
 * promise with {@link DialRefused}; the caller records it ({@link ConnectionAuthorizer#refuseAtDial}).
 */
final class UpstreamDialer {

    /** Why dialling failed, for the 502/504 mapping. */
    public static final class DialFailure extends Exception {
        private static final long serialVersionUID = 1L;
        final Denials.UpstreamFailure kind;

        DialFailure(Denials.UpstreamFailure kind, String message, Throwable cause) {
            super(message, cause);
            this.kind = kind;
        }

        public Denials.UpstreamFailure kind() {
            return kind;
        }
    }

    /**
     * The dial-time check refused an address: a policy outcome (the address became the host's own
     * or a production address after the decision), not a connect failure. The refused address was not dialled.
     */
    public static final class DialRefused extends Exception {
        private static final long serialVersionUID = 1L;
        private final transient Decision refusal;

        DialRefused(Decision refusal) {
            super(refusal.detail(), null, false, false);
            this.refusal = refusal;
        }

        /** The denial to record and answer: reason {@code dial-refused}, the refused address. */
        public Decision refusal() {
            return refusal;
        }
    }

    /**
     * Every dial's settings, made once: {@code channel(Class)} looks the constructor up by
     * reflection, so building a Bootstrap per dial cost that on every new tunnel. Each dial
     * clones it onto the client's loop.
     */
    private final Bootstrap template;

    public UpstreamDialer(int connectTimeoutMillis) {
        this.template = new Bootstrap().channel(Transport.channel())
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                // TCP_NODELAY is Netty's default for socket channels (TransportTest); setting it again was a setsockopt per dial.
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMillis)
                .handler(NO_HANDLERS);
    }

    /** Handlers are added by the caller once it knows what the tunnel carries; one shared instance. */
    private static final ChannelInitializer<Channel> NO_HANDLERS = new ChannelInitializer<>() {
        @Override
        protected void initChannel(Channel ch) {
            // nothing: see above
        }
    };

    /** Connects on {@code loop} (the client's own loop, so relaying needs no thread hops). */
    public Promise<Channel> dial(EventLoop loop, ConnectionAuthorizer.Tunnel tunnel, PolicyEngine engine) {
        Promise<Channel> promise = loop.newPromise();
        attempt(loop, tunnel, engine, tunnel.decision().addresses(), 0, promise, null);
        return promise;
    }

    private void attempt(EventLoop loop, ConnectionAuthorizer.Tunnel tunnel, PolicyEngine engine, List<IpAddress> addresses,
            int index, Promise<Channel> promise, Throwable last) {
        if (index >= addresses.size()) {
            boolean timeout = last instanceof ConnectTimeoutException;
            promise.tryFailure(new DialFailure(timeout ? Denials.UpstreamFailure.TIMEOUT : Denials.UpstreamFailure.REFUSED,
                    "no address of " + tunnel.decision().target() + " accepted the connection", last));
            return;
        }
        IpAddress address = addresses.get(index);
        Optional<Decision> refusal = tunnel.refusal(engine, address);
        if (refusal.isPresent()) {
            // Fail closed, and never try the next address: what changed may change them all.
            promise.tryFailure(new DialRefused(refusal.get()));
            return;
        }
        InetSocketAddress remote;
        try {
            remote = new InetSocketAddress(InetAddress.getByAddress(address.toBytes()), tunnel.decision().port());
        } catch (UnknownHostException e) {
            promise.tryFailure(e);
            return;
        }
        ChannelFuture f = template.clone(loop).connect(remote);
        f.addListener(done -> {
            if (done.isSuccess()) {
                if (!promise.trySuccess(f.channel())) {
                    f.channel().close();
                }
            } else {
                attempt(loop, tunnel, engine, addresses, index + 1, promise, done.cause());
            }
        });
    }
}
