package dev.airlock.gateway.proxy;

import dev.airlock.gateway.peek.ClientHelloPeek;
import dev.airlock.gateway.peek.FirstBytes;
import dev.airlock.gateway.peek.HttpHeadPeek;
import dev.airlock.gateway.peek.HttpRequestStream;
import dev.airlock.policy.Printable;
import dev.airlock.policy.Reason;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.address.IpLiterals;
import dev.airlock.policy.name.HostNames;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The protocol gate (DESIGN.md §1, gate 3) on the client side of an allowed tunnel: the bytes a
 * sandbox sends must not name another server than the one the tunnel was authorised for. It sits
 * in the client's pipeline just before the {@link Relay}, which relays only what the gate passes on.
 *
 * <p>Design. The protocol is told from the first bytes ({@link FirstBytes}), on any port:
 * <ul>
 *   <li>TLS: the ClientHello's SNI must name the authorised host ({@code sni-mismatch}), and a
 *       hello without SNI is {@code no-sni} when a name was authorised (an address-authorised
 *       tunnel may omit it). Once the hello passed, the gate removes itself: the rest of the TLS
 *       stream is relayed untouched, so TLS pays nothing after its first record.</li>
 *   <li>HTTP/1: every request head on the connection ({@link HttpRequestStream}: keep-alive and
 *       pipelined alike) must carry a {@code Host} (and any absolute-form target) naming the
 *       authorised host and port ({@code host-mismatch}); bytes that cannot be framed safely are
 *       {@code bad-request}. Body bytes pass without copying. A protocol switch
 *       ({@code Upgrade}) is honoured only on a connection's first request and only when the
 *       origin answers {@code 101}: until its status line arrives, the client's later bytes are
 *       held, and if it is not {@code 101} they are read as HTTP again. An {@code h2c} upgrade
 *       is refused like the HTTP/2 preface.</li>
 *   <li>HTTP/2 with prior knowledge (its preface): refused as {@code http2-cleartext}, because its
 *       streams' {@code :authority} values are not read here (fail closed).</li>
 *   <li>Anything else names no server: relayed as it is (raw TCP to an allowed name:port).</li>
 * </ul>
 * The origin may speak first (SSH, SMTP): the gate only holds the client's bytes, never the
 * origin's. Bounds: a head, hello or first line is held until it is complete, at most
 * {@link ClientHelloPeek#MAX_PEEK_BYTES} bytes and {@link GatewayLimits#headerReadTimeout()} from
 * its first byte; a refusal is reported once to {@link Refusal}, which records and resets.
 */
final class ProtocolGate extends ChannelInboundHandlerAdapter {

    /** What the tunnel was authorised for: a canonical name, or an address when a CIDR rule allowed it. */
    record Authorised(Optional<String> name, Optional<IpAddress> address, int port) {

        /** {@code host} as the decision saw it: a canonical IP literal is an address, anything else a name. */
        static Authorised of(String host, int port) {
            String bare = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
            if (IpLiterals.shape(bare) instanceof IpLiterals.Canonical c) {
                return new Authorised(Optional.empty(), Optional.of(c.address()), port);
            }
            return new Authorised(Optional.of(HostNames.canonicalOrEmpty(host).orElse(host.toLowerCase(Locale.ROOT))),
                    Optional.empty(), port);
        }

        /** Whether a host as announced (SNI, {@code Host}) names exactly this target. */
        boolean named(String announced) {
            if (address.isPresent()) {
                String bare = announced.startsWith("[") && announced.endsWith("]")
                        ? announced.substring(1, announced.length() - 1) : announced;
                return IpLiterals.shape(bare) instanceof IpLiterals.Canonical c && c.address().equals(address.get());
            }
            return HostNames.canonicalOrEmpty(announced).equals(name);
        }

        @Override
        public String toString() {
            return name.orElseGet(() -> address.orElseThrow().toString()) + ":" + port;
        }
    }

    /** Told once, on the event loop, when the gate refuses: record the denial and reset both sides. */
    interface Refusal {
        void refuse(Reason reason, String detail);
    }

    private enum Mode { SNIFF, TLS, HTTP, AWAIT_SWITCH }

    private final Authorised authorised;
    private final Channel upstream;
    private final long timeoutMillis;
    private final Refusal refusal;

    private Mode mode = Mode.SNIFF;
    private ByteBuf held;
    private HttpRequestStream stream;
    private ScheduledFuture<?> timer;
    private boolean done;

    /**
     * @param initial bytes the client sent before the tunnel existed (a peeked head, bytes after a
     *                CONNECT head), owned by the gate from now on; may be null
     */
    ProtocolGate(Authorised authorised, Channel upstream, GatewayLimits limits, ByteBuf initial, Refusal refusal) {
        this.authorised = authorised;
        this.upstream = upstream;
        this.timeoutMillis = limits.headerReadTimeout().toMillis();
        this.refusal = refusal;
        this.held = initial;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (held != null && held.isReadable()) {
            process(ctx);
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (done || !(msg instanceof ByteBuf in)) {
            io.netty.util.ReferenceCountUtil.release(msg);
            return;
        }
        if (held == null || !held.isReadable()) {
            if (held != null) {
                held.release();
            }
            held = in;
        } else {
            held = cumulate(ctx, held, in);
        }
        if (mode != Mode.AWAIT_SWITCH) {
            process(ctx);
        }
    }

    private static ByteBuf cumulate(ChannelHandlerContext ctx, ByteBuf held, ByteBuf in) {
        try {
            if (held.refCnt() == 1 && !held.isReadOnly() && held.maxWritableBytes() >= in.readableBytes()) {
                held.discardSomeReadBytes();
                held.writeBytes(in);
                return held;
            }
            ByteBuf both = ctx.alloc().buffer(held.readableBytes() + in.readableBytes());
            both.writeBytes(held).writeBytes(in);
            held.release();
            return both;
        } finally {
            in.release();
        }
    }

    /** Decides as far as the held bytes allow; passes on what was checked; asks for more if needed. */
    private void process(ChannelHandlerContext ctx) {
        boolean passed = false;
        while (!done && held != null && held.isReadable()) {
            switch (mode) {
                case SNIFF -> {
                    switch (FirstBytes.classify(held.nioBuffer())) {
                        case FirstBytes.NeedMore m -> {
                            waitForMore(ctx, passed, "first line");
                            return;
                        }
                        case FirstBytes.Tls t -> mode = Mode.TLS;
                        case FirstBytes.Http h -> {
                            mode = Mode.HTTP;
                            stream = new HttpRequestStream();
                        }
                        case FirstBytes.Http2 h -> {
                            refuse(ctx, Reason.HTTP2_CLEARTEXT, "the client sent the HTTP/2 connection preface without TLS;"
                                    + " the authority of its streams is not checked, so it is refused");
                            return;
                        }
                        case FirstBytes.TooLong t -> {
                            refuse(ctx, Reason.LIMIT, "a first line longer than " + HttpHeadPeek.MAX_HEAD_BYTES + " bytes");
                            return;
                        }
                        case FirstBytes.Opaque o -> {
                            open(ctx);
                            return;
                        }
                    }
                }
                case TLS -> {
                    if (!tls(ctx, ClientHelloPeek.parse(held.nioBuffer()))) {
                        waitForMore(ctx, passed, "ClientHello");
                    }
                    return;
                }
                case HTTP -> {
                    switch (stream.next(held.nioBuffer())) {
                        case HttpRequestStream.NeedMore m -> {
                            waitForMore(ctx, passed, "request head");
                            return;
                        }
                        case HttpRequestStream.Pass p -> {
                            cancelTimer();
                            pass(ctx, p.bytes());
                            passed = true;
                        }
                        case HttpRequestStream.Refused r -> {
                            refuse(ctx, Reason.BAD_REQUEST, r.why());
                            return;
                        }
                        case HttpRequestStream.Head h -> {
                            cancelTimer();
                            if (!head(ctx, h.request())) {
                                return;
                            }
                            passed = true;
                        }
                    }
                }
                case AWAIT_SWITCH -> {
                    return;
                }
            }
        }
        if (!done && !passed && mode != Mode.AWAIT_SWITCH) {
            ctx.read();
        }
    }

    /** True when the hello decided (passed or refused), false when more bytes are needed. */
    private boolean tls(ChannelHandlerContext ctx, ClientHelloPeek.Result r) {
        switch (r) {
            case ClientHelloPeek.NeedMore more -> {
                return false;
            }
            case ClientHelloPeek.NotTls n -> refuse(ctx, Reason.BAD_REQUEST, "ClientHello: " + n.why());
            case ClientHelloPeek.Malformed m -> refuse(ctx, Reason.BAD_REQUEST, "ClientHello: " + m.why());
            case ClientHelloPeek.NoSni n -> {
                if (authorised.address().isPresent()) {
                    open(ctx);
                } else {
                    refuse(ctx, Reason.NO_SNI, "the ClientHello names no server; the tunnel is to " + authorised);
                }
            }
            case ClientHelloPeek.Hello h -> {
                Optional<String> sni = h.soleName();
                if (sni.isEmpty() && h.rejectedNames().stream().anyMatch(x -> x.problem() == ClientHelloPeek.Problem.IP_LITERAL)) {
                    refuse(ctx, Reason.IP_LITERAL, "the ClientHello names an IP address as its server; the tunnel is to " + authorised);
                } else if (sni.isEmpty()) {
                    refuse(ctx, Reason.SNI_MISMATCH, "the ClientHello names " + h.serverNames().size() + " acceptable and "
                            + h.rejectedNames().size() + " unacceptable servers; exactly the tunnel's host was expected: " + authorised);
                } else if (!authorised.named(sni.get())) {
                    refuse(ctx, Reason.SNI_MISMATCH, "the ClientHello names " + sni.get() + " but the tunnel is to " + authorised);
                } else {
                    open(ctx);
                }
            }
        }
        return true;
    }

    /** Checks one head; passes it on, or refuses. False when the gate stopped (refused or waiting). */
    private boolean head(ChannelHandlerContext ctx, HttpHeadPeek.Request req) {
        int n = stream.heads();
        if (!authorised.named(req.authority().host()) || req.authority().port() != authorised.port()) {
            refuse(ctx, Reason.HOST_MISMATCH, "request " + n + " on the connection names Host "
                    + Printable.escape(req.authority().toString()) + " but the tunnel is to " + authorised);
            return false;
        }
        if (req.upgrade().isEmpty()) {
            pass(ctx, req.headLength());
            return true;
        }
        String upgrade = req.upgrade().get();
        if (upgrade.toLowerCase(Locale.ROOT).contains("h2c")) {
            refuse(ctx, Reason.HTTP2_CLEARTEXT, "request " + n + " asks to upgrade to h2c (HTTP/2 without TLS);"
                    + " the authority of its streams is not checked, so it is refused");
            return false;
        }
        if (n != 1 || req.contentLength() > 0 || req.chunked()) {
            refuse(ctx, Reason.BAD_REQUEST, "request " + n + " asks to switch protocols (Upgrade: " + Printable.escape(upgrade)
                    + "); Airlock honours an upgrade only on a connection's first request, without a body");
            return false;
        }
        pass(ctx, req.headLength());
        mode = Mode.AWAIT_SWITCH;
        upstream.pipeline().addBefore("relay", "switch-watch", new SwitchWatch(ctx));
        return false;
    }

    /** The origin's answer to an upgrade request: {@code 101} switches to opaque relaying. */
    private void switched(ChannelHandlerContext ctx, boolean yes) {
        if (done) {
            return;
        }
        if (yes) {
            open(ctx);
            return;
        }
        mode = Mode.HTTP;
        if (held != null && held.isReadable()) {
            process(ctx);
        } else {
            ctx.read();
        }
    }

    private void pass(ChannelHandlerContext ctx, int bytes) {
        ctx.fireChannelRead(held.readRetainedSlice(bytes));
    }

    /** Nothing more to check on this connection: pass what is held and leave the pipeline. */
    private void open(ChannelHandlerContext ctx) {
        done = true;
        cancelTimer();
        ByteBuf rest = held;
        held = null;
        ctx.pipeline().remove(this);
        if (rest != null && rest.isReadable()) {
            ctx.fireChannelRead(rest);
        } else if (rest != null) {
            rest.release();
            ctx.read();
        } else {
            ctx.read();
        }
    }

    private void waitForMore(ChannelHandlerContext ctx, boolean passed, String what) {
        if (timer == null) {
            timer = ctx.executor().schedule(() -> {
                timer = null;
                if (!done) {
                    refuse(ctx, Reason.LIMIT, "no complete " + what + " within " + timeoutMillis + " ms");
                }
            }, timeoutMillis, TimeUnit.MILLISECONDS);
        }
        if (!passed) {
            ctx.read();
        }
    }

    private void refuse(ChannelHandlerContext ctx, Reason reason, String detail) {
        if (done) {
            return;
        }
        done = true;
        cancelTimer();
        release();
        refusal.refuse(reason, detail);
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private void release() {
        if (held != null) {
            held.release();
            held = null;
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        cancelTimer();
        if (!done) {
            release();
        }
    }

    /**
     * The client stopped sending (half-close). Bytes still held can no longer become a request or
     * a hello: an undecided first line goes on as opaque bytes (no server takes an unterminated
     * line as a request); a partial head, hello or chunk line is dropped. Then the relay is told.
     */
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof io.netty.channel.socket.ChannelInputShutdownEvent && !done) {
            if (mode == Mode.SNIFF && held != null && held.isReadable()) {
                open(ctx);
            } else {
                done = true;
                cancelTimer();
                release();
            }
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelTimer();
        release();
        ctx.fireChannelInactive();
    }

    /**
     * Watches the first bytes the origin sends after an upgrade request, passing every byte on
     * unchanged: {@code HTTP/1.x 101} means the protocol switched.
     */
    private final class SwitchWatch extends ChannelInboundHandlerAdapter {
        private static final int STATUS_LINE_PREFIX = "HTTP/1.1 101".length();
        private final ChannelHandlerContext client;
        private final StringBuilder seen = new StringBuilder(STATUS_LINE_PREFIX);

        SwitchWatch(ChannelHandlerContext client) {
            this.client = client;
        }

        @Override
        public void channelRead(ChannelHandlerContext uctx, Object msg) {
            if (msg instanceof ByteBuf b) {
                for (int i = b.readerIndex(); i < b.writerIndex() && seen.length() < STATUS_LINE_PREFIX; i++) {
                    seen.append((char) (b.getByte(i) & 0xFF));
                }
                if (seen.length() == STATUS_LINE_PREFIX) {
                    String s = seen.toString();
                    boolean yes = (s.startsWith("HTTP/1.1 ") || s.startsWith("HTTP/1.0 ")) && s.endsWith(" 101");
                    uctx.pipeline().remove(this);
                    client.executor().execute(() -> switched(client, yes));
                }
            }
            uctx.fireChannelRead(msg);
        }
    }
}
