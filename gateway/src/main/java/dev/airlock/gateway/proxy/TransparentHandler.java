package dev.airlock.gateway.proxy;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.peek.ClientHelloPeek;
import dev.airlock.gateway.peek.HttpHeadPeek;
import dev.airlock.gateway.registry.Sandbox;
import dev.airlock.policy.Decision;
import dev.airlock.policy.Reason;
import dev.airlock.policy.address.IpAddress;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One connection the kernel redirected to the gateway (TPROXY): its local address is where the
 * sandbox tried to go. The name is the one this sandbox resolved to that (synthetic) address
 * through Airlock's DNS; an address it never resolved is an IP-literal request. On the ports that
 * {@link Ports} says require TLS, the ClientHello is read before anything is dialled and its SNI
 * must name exactly that name; on the ports that require HTTP, the first request's Host must. On
 * every port, and for every later request, the {@link ProtocolGate} then reads the client's bytes
 * as they flow: a ClientHello or HTTP request on any port must name the authorised host too. Any
 * other TCP protocol works to an allowed name:port, and the origin may speak first. Denials reset
 * the connection: raw TCP has no error page.
 */
final class TransparentHandler extends ChannelInboundHandlerAdapter {

    /**
     * Which ports must carry TLS and which plain HTTP: there the first bytes are read before
     * anything is dialled, and other bytes are refused. Every port, these included, then has the
     * protocol gate, which recognises TLS and HTTP from the bytes themselves.
     */
    record Ports(Set<Integer> tls, Set<Integer> http) {
        static final Ports DEFAULT = new Ports(Set.of(443, 8443), Set.of(80, 8080));
    }

    private final Sandbox sandbox;
    private final InetSocketAddress destination;
    private final ConnectionAuthorizer authorizer;
    private final UpstreamDialer dialer;
    private final GatewayLimits limits;
    private final Ports ports;

    private ByteBuf peeked;
    private ScheduledFuture<?> peekTimer;
    private String name;
    private boolean decided;

    TransparentHandler(Sandbox sandbox, InetSocketAddress destination, ConnectionAuthorizer authorizer, UpstreamDialer dialer,
            GatewayLimits limits, Ports ports) {
        this.sandbox = sandbox;
        this.destination = destination;
        this.authorizer = authorizer;
        this.dialer = dialer;
        this.limits = limits;
        this.ports = ports;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        IpAddress dst = IpAddress.fromBytes(destination.getAddress().getAddress());
        Optional<String> resolved = sandbox.names().nameFor(dst);
        name = resolved.orElse(dst.toString());
        int port = destination.getPort();
        boolean peek = resolved.isPresent() && (ports.tls().contains(port) || ports.http().contains(port));
        if (!peek) {
            decide(ctx);
            return;
        }
        peeked = ctx.alloc().buffer(1024);
        long ms = limits.headerReadTimeout().toMillis();
        peekTimer = ctx.executor().schedule(() -> {
            if (!decided) {
                deny(ctx, Reason.LIMIT, "no complete " + (ports.tls().contains(port) ? "ClientHello" : "request head")
                        + " within " + ms + " ms");
            }
        }, ms, TimeUnit.MILLISECONDS);
        ctx.read();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf in = (ByteBuf) msg;
        if (decided || peeked == null) {
            // Bytes before the tunnel exists are kept by the kernel: we only read while peeking.
            in.release();
            return;
        }
        peeked.writeBytes(in);
        in.release();
        int port = destination.getPort();
        if (ports.tls().contains(port)) {
            onTls(ctx, ClientHelloPeek.parse(peeked.nioBuffer()));
        } else {
            onHttp(ctx, HttpHeadPeek.parse(peeked.nioBuffer()));
        }
    }

    private void onTls(ChannelHandlerContext ctx, ClientHelloPeek.Result r) {
        switch (r) {
            case ClientHelloPeek.NeedMore more -> ctx.read();
            case ClientHelloPeek.NotTls n -> deny(ctx, Reason.NOT_TLS, "port " + destination.getPort() + " requires TLS: " + n.why());
            case ClientHelloPeek.Malformed m -> deny(ctx, Reason.BAD_REQUEST, "ClientHello: " + m.why());
            case ClientHelloPeek.NoSni n -> decideOrDeny(ctx, authorised().checkNoSni());
            case ClientHelloPeek.Hello h -> decideOrDeny(ctx, authorised().check(h));
        }
    }

    private void onHttp(ChannelHandlerContext ctx, HttpHeadPeek.Result r) {
        switch (r) {
            case HttpHeadPeek.NeedMore more -> ctx.read();
            case HttpHeadPeek.Malformed m -> deny(ctx, Reason.BAD_REQUEST, "request head: " + m.why());
            case HttpHeadPeek.Request req -> decideOrDeny(ctx, authorised().check(req, 1));
        }
    }

    /** The same check as the protocol gate's, made before anything is dialled. */
    private Authorised authorised() {
        return Authorised.of(name, destination.getPort());
    }

    private void decideOrDeny(ChannelHandlerContext ctx, Optional<Authorised.Mismatch> mismatch) {
        if (mismatch.isPresent()) {
            deny(ctx, mismatch.get().reason(), mismatch.get().detail());
        } else {
            decide(ctx);
        }
    }

    private void decide(ChannelHandlerContext ctx) {
        decided = true;
        cancelTimer();
        String client = ConnectionAuthorizer.client(ctx.channel().remoteAddress());
        authorizer.authorize(sandbox, AuditEvent.Via.TRANSPARENT, client, name, destination.getPort())
                .whenComplete((auth, error) -> ctx.executor().execute(() -> {
                    if (error != null || auth == null || !auth.allowed()) {
                        reset(ctx);
                        return;
                    }
                    ConnectionAuthorizer.Tunnel tunnel = auth.tunnel();
                    if (!ctx.channel().isActive()) {
                        tunnel.close(0, 0);
                        release();
                        return;
                    }
                    dialer.dial(ctx.channel().eventLoop(), tunnel, auth.engine()).addListener(f -> {
                        if (!f.isSuccess()) {
                            if (f.cause() instanceof UpstreamDialer.DialRefused refused) {
                                authorizer.refuseAtDial(tunnel, refused.refusal());
                            }
                            tunnel.close(0, 0);
                            reset(ctx);
                            return;
                        }
                        Channel upstream = (Channel) f.getNow();
                        AtomicLong up = new AtomicLong();
                        AtomicLong down = new AtomicLong();
                        Channel clientChannel = ctx.channel();
                        boolean helloChecked = ports.tls().contains(destination.getPort()) && peeked != null;
                        ByteBuf first = peeked;
                        peeked = null;
                        if (helloChecked && first.isReadable()) {
                            // The ClientHello was checked before dialling: TLS is relayed untouched from here.
                            up.addAndGet(first.readableBytes());
                            upstream.writeAndFlush(first);
                            first = null;
                        } else if (helloChecked) {
                            first.release();
                            first = null;
                        }
                        ctx.pipeline().remove(this);
                        ProtocolGate gate = null;
                        if (!helloChecked) {
                            int port = destination.getPort();
                            gate = new ProtocolGate(Authorised.of(name, port), upstream, limits, first, (reason, detail) -> {
                                authorizer.deny(sandbox, AuditEvent.Via.TRANSPARENT, client,
                                        Decision.denied(reason, name, port, detail));
                                Relay.reset(clientChannel);
                                upstream.close();
                            });
                        }
                        Relay.pair(clientChannel, upstream, up, down, () -> tunnel.close(up.get(), down.get()), gate);
                    });
                }));
    }

    private void deny(ChannelHandlerContext ctx, Reason reason, String detail) {
        decided = true;
        cancelTimer();
        authorizer.deny(sandbox, AuditEvent.Via.TRANSPARENT, ConnectionAuthorizer.client(ctx.channel().remoteAddress()),
                Decision.denied(reason, name, destination.getPort(), detail));
        reset(ctx);
    }

    /** A TCP reset: the client fails at once instead of waiting for a timeout. */
    private void reset(ChannelHandlerContext ctx) {
        release();
        Relay.reset(ctx.channel());
    }

    private void cancelTimer() {
        if (peekTimer != null) {
            peekTimer.cancel(false);
        }
    }

    private void release() {
        if (peeked != null) {
            peeked.release();
            peeked = null;
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelTimer();
        release();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ConnectionErrors.caught(ctx.channel(), "transparent listener", cause);
        reset(ctx);
    }

}
