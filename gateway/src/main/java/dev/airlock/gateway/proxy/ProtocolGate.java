package dev.airlock.gateway.proxy;

import dev.airlock.gateway.peek.ClientHelloPeek;
import dev.airlock.gateway.peek.FirstBytes;
import dev.airlock.gateway.peek.HttpHeadPeek;
import dev.airlock.gateway.peek.HttpRequestStream;
import dev.airlock.policy.Printable;
import dev.airlock.policy.Reason;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
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
 *       is refused like the HTTP/2 preface. A body on {@code GET}, {@code HEAD}, {@code OPTIONS},
 *       {@code TRACE} or {@code DELETE} is {@code bad-request} (an origin that ignores it would read
 *       it as a request); an {@code Expect: 100-continue} body is held until the origin answers
 *       {@code 100}, and dropped with everything after it if the origin answers with a final
 *       status. While the gate waits for the origin (a switch, a continue), interim {@code 1xx}
 *       answers are skipped and the header timeout applies: silence is refused.</li>
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

    /** Told once, on the event loop, when the gate refuses: record the denial and reset both sides. */
    interface Refusal {
        void refuse(Reason reason, String detail);
    }

    private enum Mode { SNIFF, TLS, HTTP, AWAIT_SWITCH, AWAIT_CONTINUE, SHUT }

    /** Methods whose requests carry no body in practice; a body on them is refused (see {@link #head}). */
    static final Set<String> BODILESS = Set.of("GET", "HEAD", "OPTIONS", "TRACE", "DELETE");

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
        if (mode == Mode.SHUT) {
            // The origin gave its final answer before taking the body: nothing more goes to it.
            in.release();
            NextRead.ask(ctx);
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
        if (!awaitingOrigin()) {
            process(ctx);
        }
    }

    private boolean awaitingOrigin() {
        return mode == Mode.AWAIT_SWITCH || mode == Mode.AWAIT_CONTINUE;
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
                case AWAIT_SWITCH, AWAIT_CONTINUE, SHUT -> {
                    return;
                }
            }
        }
        if (!done && !passed && !awaitingOrigin()) {
            NextRead.ask(ctx);
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
            case ClientHelloPeek.NoSni n -> openOrRefuse(ctx, authorised.checkNoSni());
            case ClientHelloPeek.Hello h -> openOrRefuse(ctx, authorised.check(h));
        }
        return true;
    }

    private void openOrRefuse(ChannelHandlerContext ctx, Optional<Authorised.Mismatch> mismatch) {
        if (mismatch.isPresent()) {
            refuse(ctx, mismatch.get().reason(), mismatch.get().detail());
        } else {
            open(ctx);
        }
    }

    /** Checks one head; passes it on, or refuses. False when the gate stopped (refused or waiting). */
    private boolean head(ChannelHandlerContext ctx, HttpHeadPeek.Request req) {
        int n = stream.heads();
        Optional<Authorised.Mismatch> mismatch = authorised.check(req, n);
        if (mismatch.isPresent()) {
            refuse(ctx, mismatch.get().reason(), mismatch.get().detail());
            return false;
        }
        boolean body = req.contentLength() > 0 || req.chunked();
        if (body && BODILESS.contains(req.method())) {
            // An origin that ignores such a body (CL.0) reads it as the next request, unchecked.
            refuse(ctx, Reason.BAD_REQUEST, "request " + n + " is a " + Printable.escape(req.method()) + " with a body;"
                    + " Airlock refuses a body on GET, HEAD, OPTIONS, TRACE and DELETE, because an origin that ignores it"
                    + " would read it as the next request");
            return false;
        }
        // An empty Expect asks for nothing (clients send it to turn 100-continue off).
        Optional<String> expect = req.expect().filter(e -> !e.isEmpty());
        if (expect.isPresent() && !expect.get().equalsIgnoreCase("100-continue")) {
            refuse(ctx, Reason.BAD_REQUEST, "request " + n + " has Expect: " + Printable.escape(expect.get())
                    + "; only 100-continue is known");
            return false;
        }
        if (req.upgrade().isEmpty()) {
            if (body && expect.isPresent()) {
                // Hold the body until the origin says 100 Continue: an origin that answers with a final
                // status and stays open could read the body as the next request, unchecked.
                awaitOrigin(ctx, Mode.AWAIT_CONTINUE, 100, "answer to Expect: 100-continue");
            }
            pass(ctx, req.headLength());
            return !awaitingOrigin();
        }
        String upgrade = req.upgrade().get();
        if (upgrade.toLowerCase(Locale.ROOT).contains("h2c")) {
            refuse(ctx, Reason.HTTP2_CLEARTEXT, "request " + n + " asks to upgrade to h2c (HTTP/2 without TLS);"
                    + " the authority of its streams is not checked, so it is refused");
            return false;
        }
        if (n != 1 || body) {
            refuse(ctx, Reason.BAD_REQUEST, "request " + n + " asks to switch protocols (Upgrade: " + Printable.escape(upgrade)
                    + "); Airlock honours an upgrade only on a connection's first request, without a body");
            return false;
        }
        // The watch goes in before the head goes out, so the origin's answer cannot pass unseen.
        awaitOrigin(ctx, Mode.AWAIT_SWITCH, 101, "answer to the upgrade request");
        pass(ctx, req.headLength());
        return false;
    }

    /**
     * Holds the client's later bytes until the origin's first non-informational answer, or
     * {@link GatewayLimits#headerReadTimeout()}, after which the gate refuses (fails closed).
     */
    private void awaitOrigin(ChannelHandlerContext ctx, Mode waiting, int wanted, String what) {
        mode = waiting;
        upstream.pipeline().addBefore("relay", "answer-watch", new AnswerWatch(ctx, wanted));
        cancelTimer();
        timer = ctx.executor().schedule(() -> {
            timer = null;
            if (!done && mode == waiting) {
                refuse(ctx, Reason.LIMIT, "the origin sent no " + what + " within " + timeoutMillis + " ms");
            }
        }, timeoutMillis, TimeUnit.MILLISECONDS);
    }

    /** The origin's first answer that is not an interim {@code 1xx}; -1 when it is not a status line. */
    private void answered(ChannelHandlerContext ctx, int status) {
        if (done || !awaitingOrigin()) {
            return;
        }
        cancelTimer();
        if (mode == Mode.AWAIT_SWITCH && status == 101) {
            open(ctx);
            return;
        }
        if (mode == Mode.AWAIT_CONTINUE && status != 100) {
            // A final answer: the body (and anything after it) never reaches the origin.
            mode = Mode.SHUT;
            release();
            NextRead.ask(ctx);
            return;
        }
        mode = Mode.HTTP;
        if (held != null && held.isReadable()) {
            process(ctx);
        } else {
            NextRead.ask(ctx);
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
            NextRead.ask(ctx);
        } else {
            NextRead.ask(ctx);
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
            NextRead.ask(ctx);
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
     * Watches what the origin sends after a request whose answer decides how the client's later
     * bytes are read (an upgrade, an {@code Expect: 100-continue}), passing every byte on unchanged.
     * Interim {@code 1xx} heads (102, 103, and 100 when it is not the awaited answer) are skipped;
     * the first other status line is reported to the gate on the client's event loop. A head over
     * {@link HttpHeadPeek#MAX_HEAD_BYTES} or a line that is not {@code HTTP/1.x NNN} is reported as
     * -1, which the gate treats as "not the awaited answer".
     */
    private final class AnswerWatch extends ChannelInboundHandlerAdapter {
        private final ChannelHandlerContext client;
        private final int wanted;
        private final StringBuilder head = new StringBuilder();
        private boolean reported;

        AnswerWatch(ChannelHandlerContext client, int wanted) {
            this.client = client;
            this.wanted = wanted;
        }

        @Override
        public void channelRead(ChannelHandlerContext uctx, Object msg) {
            if (msg instanceof ByteBuf b) {
                for (int i = b.readerIndex(); i < b.writerIndex() && !reported; i++) {
                    head.append((char) (b.getByte(i) & 0xFF));
                    if (endsHead()) {
                        int status = status(head);
                        head.setLength(0);
                        if (status / 100 != 1 || status == wanted || status == 101) {
                            report(uctx, status);
                        }
                    } else if (head.length() > HttpHeadPeek.MAX_HEAD_BYTES) {
                        report(uctx, -1);
                    }
                }
            }
            uctx.fireChannelRead(msg);
        }

        private boolean endsHead() {
            int n = head.length();
            return n >= 2 && head.charAt(n - 1) == '\n' && (head.charAt(n - 2) == '\n'
                    || n >= 3 && head.charAt(n - 2) == '\r' && head.charAt(n - 3) == '\n');
        }

        private void report(ChannelHandlerContext uctx, int status) {
            reported = true;
            uctx.pipeline().remove(this);
            client.executor().execute(() -> answered(client, status));
        }
    }

    /** {@code HTTP/1.x NNN}: the status code, or -1. */
    static int status(CharSequence head) {
        if (head.length() < 12 || !head.subSequence(0, 7).toString().equals("HTTP/1.")
                || head.charAt(8) != ' ' || (head.length() > 12 && head.charAt(12) != ' ' && head.charAt(12) != '\r')) {
            return -1;
        }
        int code = 0;
        for (int i = 9; i < 12; i++) {
            char c = head.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            code = code * 10 + c - '0';
        }
        return code;
    }
}
