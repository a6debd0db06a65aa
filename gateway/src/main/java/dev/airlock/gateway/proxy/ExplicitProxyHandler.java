package dev.airlock.gateway.proxy;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.registry.Sandbox;
import dev.airlock.policy.Authority;
import dev.airlock.policy.Decision;
import dev.airlock.policy.Printable;
import dev.airlock.policy.Reason;
import dev.airlock.policy.name.HostNames;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The explicit HTTP/1.1 forward proxy for one client connection: CONNECT tunnels and absolute-form
 * plain HTTP. Every request is authorised on its own, keep-alive or not; the URI and {@code Host}
 * must agree; a CONNECT tunnel's bytes pass the {@link ProtocolGate}, so a ClientHello or HTTP
 * request inside it must name the CONNECT host; hop-by-hop and {@code Proxy-*} headers are stripped; an upstream connection serves
 * one request and is never reused, so never across hosts. Reads happen one at a time (AUTO_READ
 * is off): the next request is read only after the previous response was written.
 */
final class ExplicitProxyHandler extends ChannelInboundHandlerAdapter {

    private enum State { WAITING_HEAD, DECIDING, FORWARDING_BODY, AWAITING_RESPONSE, CLOSING }

    /** The CONNECT answer, the same bytes for every tunnel: one buffer, written as duplicates, never freed. */
    private static final ByteBuf ESTABLISHED = Unpooled.unreleasableBuffer(Unpooled.directBuffer(39)
            .writeBytes("HTTP/1.1 200 Connection established\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));

    private final Sandbox sandbox;
    private final ConnectionAuthorizer authorizer;
    private final UpstreamDialer dialer;
    private final GatewayLimits limits;
    private final String policyFile;

    private State state = State.WAITING_HEAD;
    private ScheduledFuture<?> headTimer;
    private final ArrayDeque<HttpContent> pending = new ArrayDeque<>();
    private Channel upstream;
    private ConnectionAuthorizer.Tunnel tunnel;
    private boolean clientKeepAlive;
    private final AtomicLong up = new AtomicLong();
    private final AtomicLong down = new AtomicLong();

    ExplicitProxyHandler(Sandbox sandbox, ConnectionAuthorizer authorizer, UpstreamDialer dialer, GatewayLimits limits,
            String policyFile) {
        this.sandbox = sandbox;
        this.authorizer = authorizer;
        this.dialer = dialer;
        this.limits = limits;
        this.policyFile = policyFile;
    }

    /*
     * A connection with nothing sent is idle, not slow: clients (npm, pip, git) keep finished
     * keep-alive connections open for reuse, and open spare ones, and let the server close them.
     * Only a head that has started and not finished (slowloris) is the limit at work. The codec
     * keeps partial heads to itself, so a pass-through handler ahead of it counts the bytes that
     * arrived since the connection opened or its last exchange ended.
     */
    private long bytesSinceExchange;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (ctx.pipeline().get("codec") != null) {
            ctx.pipeline().addBefore("codec", "arrived", new io.netty.channel.ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext c, Object msg) {
                    if (msg instanceof ByteBuf b) {
                        bytesSinceExchange += b.readableBytes();
                    }
                    c.fireChannelRead(msg);
                }
            });
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        armHeadTimer(ctx);
        ctx.read();
    }

    private void armHeadTimer(ChannelHandlerContext ctx) {
        long ms = limits.headerReadTimeout().toMillis();
        headTimer = ctx.executor().schedule(() -> {
            if (state != State.WAITING_HEAD || !ctx.channel().isActive()) {
                return;
            }
            if (bytesSinceExchange == 0) {
                // Idle: closed quietly, as any server closes an idle connection; nothing was asked for, nothing denied.
                state = State.CLOSING;
                ctx.close();
                return;
            }
            deny(ctx, "?", Decision.denied(Reason.LIMIT, "-", 0, "no complete request head within " + ms
                    + " ms (headerReadTimeout)"), HttpResponseStatus.REQUEST_TIMEOUT);
        }, ms, TimeUnit.MILLISECONDS);
    }

    private void disarmHeadTimer() {
        if (headTimer != null) {
            headTimer.cancel(false);
            headTimer = null;
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest req) {
            onRequest(ctx, req);
            if (msg instanceof HttpContent c) {
                onContent(ctx, c);
            }
        } else if (msg instanceof HttpContent c) {
            onContent(ctx, c);
        } else {
            // Raw bytes after a CONNECT head arrive here once the codec is removed.
            if (state == State.DECIDING && msg instanceof ByteBuf b) {
                pending.add(new io.netty.handler.codec.http.DefaultHttpContent(b));
            } else {
                ReferenceCountUtil.release(msg);
            }
        }
    }

    private void onRequest(ChannelHandlerContext ctx, HttpRequest req) {
        disarmHeadTimer();
        if (state != State.WAITING_HEAD) {
            // Pipelining: a request before the previous response finished. Refuse, close.
            state = State.CLOSING;
            ctx.close();
            return;
        }
        if (req.decoderResult().isFailure()) {
            Throwable cause = req.decoderResult().cause();
            boolean tooLong = cause instanceof TooLongFrameException;
            deny(ctx, "?", Decision.denied(tooLong ? Reason.LIMIT : Reason.BAD_REQUEST, Printable.escape(req.uri()), 0,
                    tooLong ? "request head larger than " + limits.maxHeaderBytes() + " bytes" : "malformed request: " + cause.getMessage()),
                    tooLong ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE : HttpResponseStatus.BAD_REQUEST);
            return;
        }
        clientKeepAlive = HttpUtil.isKeepAlive(req);
        state = State.DECIDING;
        if (req.method().equals(HttpMethod.CONNECT)) {
            stopDecoding(ctx);
            connect(ctx, req);
        } else {
            plainHttp(ctx, req);
        }
    }

    /**
     * Whatever follows a CONNECT head belongs to the tunnel, never to another request. The decoder
     * goes at once, so bytes a client sends with the head or before the 200 come back raw and wait
     * for the decision ({@link #pendingBytes}); left in place, it parsed them as a pipelined request
     * and the connection was refused, or kept a partial line to itself and lost it. The encoder
     * stays for a denial's answer.
     */
    private static void stopDecoding(ChannelHandlerContext ctx) {
        if (ctx.pipeline().get("codec") instanceof HttpServerCodec codec) {
            codec.removeInboundHandler();
        }
    }

    private void onContent(ChannelHandlerContext ctx, HttpContent c) {
        switch (state) {
            case DECIDING -> pending.add(c);
            case FORWARDING_BODY -> forwardBody(ctx, c);
            // No request body is expected in these states: drop the chunk.
            case WAITING_HEAD, AWAITING_RESPONSE, CLOSING -> ReferenceCountUtil.release(c);
        }
    }

    // ---- CONNECT ------------------------------------------------------------------------------

    private void connect(ChannelHandlerContext ctx, HttpRequest req) {
        Authority authority;
        switch (Authority.parse(req.uri(), -1)) {
            case Authority.Bad bad -> {
                deny(ctx, "CONNECT", Decision.denied(Reason.BAD_REQUEST, Printable.escape(req.uri()), 0,
                        "CONNECT target \"" + Printable.escape(req.uri()) + "\": " + bad.why()), null);
                return;
            }
            case Authority.Ok ok -> authority = ok.authority();
        }
        Optional<String> hostProblem = hostAgreement(req, authority, true);
        if (hostProblem.isPresent()) {
            deny(ctx, "CONNECT", Decision.denied(Reason.BAD_REQUEST, Printable.escape(authority.host()), authority.port(),
                    hostProblem.get()), null);
            return;
        }
        authorize(ctx, "CONNECT", authority, () -> {
            // The codec goes first; anything it buffered past the head comes back as raw bytes.
            ctx.pipeline().remove("codec");
            ctx.writeAndFlush(ESTABLISHED.duplicate()).addListener((ChannelFutureListener) f -> {
                if (!f.isSuccess()) {
                    closeBoth(ctx);
                    return;
                }
                // Bytes sent right after the CONNECT head go through the protocol gate like the rest.
                ByteBuf first = pendingBytes(ctx);
                Channel client = ctx.channel();
                Channel server = upstream;
                String who = client(ctx);
                ctx.pipeline().remove(this);
                ConnectionAuthorizer.Tunnel t = tunnel;
                ProtocolGate gate = new ProtocolGate(Authorised.of(authority.host(), authority.port()), server, limits,
                        first, (reason, detail) -> {
                            authorizer.deny(sandbox, AuditEvent.Via.EXPLICIT, who, Decision.denied(reason,
                                    Printable.escape(authority.host()), authority.port(), detail));
                            Relay.reset(client);
                            server.close();
                        });
                Relay.pair(client, server, up, down, () -> t.close(up.get(), down.get()), gate);
            });
        });
    }

    /**
     * Runs {@code task} on the connection's loop: at once when already there (a cached name decides
     * inline), else as a task. The hop cost every new tunnel a task queue round trip for nothing.
     */
    private static void onLoop(ChannelHandlerContext ctx, Runnable task) {
        if (ctx.executor().inEventLoop()) {
            task.run();
        } else {
            ctx.executor().execute(task);
        }
    }

    /** The bytes that arrived after the CONNECT head, or null when none did (the common case: no buffer). */
    private ByteBuf pendingBytes(ChannelHandlerContext ctx) {
        ByteBuf first = null;
        for (HttpContent c : pending) {
            if (c.content().isReadable()) {
                if (first == null) {
                    first = ctx.alloc().buffer();
                }
                first.writeBytes(c.content());
            }
            c.release();
        }
        pending.clear();
        return first;
    }

    // ---- plain HTTP ---------------------------------------------------------------------------

    private void plainHttp(ChannelHandlerContext ctx, HttpRequest req) {
        String uri = req.uri();
        int scheme = uri.indexOf("://");
        if (scheme < 0 || !uri.substring(0, scheme).equalsIgnoreCase("http")) {
            deny(ctx, req.method().name(), Decision.denied(Reason.BAD_REQUEST, Printable.escape(uri), 0,
                    "a proxy request needs an absolute http:// URI (use CONNECT for https)"), null);
            return;
        }
        Authority authority;
        switch (Authority.parseTarget(uri)) {
            case Authority.Bad bad -> {
                deny(ctx, req.method().name(), Decision.denied(Reason.BAD_REQUEST, Printable.escape(uri), 0,
                        "request URI: " + bad.why()), null);
                return;
            }
            case Authority.Ok ok -> authority = ok.authority();
        }
        Optional<String> hostProblem = hostAgreement(req, authority, false);
        if (hostProblem.isPresent()) {
            deny(ctx, req.method().name(), Decision.denied(Reason.BAD_REQUEST, Printable.escape(authority.host()),
                    authority.port(), hostProblem.get()), null);
            return;
        }
        if (ProtocolGate.BODILESS.contains(req.method().name())
                && (HttpUtil.getContentLength(req, 0L) > 0 || HttpUtil.isTransferEncodingChunked(req))) {
            // As in the protocol gate: an origin that ignores such a body would read it as a request.
            deny(ctx, req.method().name(), Decision.denied(Reason.BAD_REQUEST, Printable.escape(authority.host()),
                    authority.port(), "a " + req.method().name() + " with a body; Airlock refuses a body on GET, HEAD,"
                    + " OPTIONS, TRACE and DELETE, because an origin that ignores it would read it as the next request"), null);
            return;
        }
        int pathStart = uri.indexOf('/', scheme + 3);
        int queryStart = uri.indexOf('?', scheme + 3);
        int start = pathStart < 0 ? queryStart : queryStart < 0 ? pathStart : Math.min(pathStart, queryStart);
        String originForm = start < 0 ? "/" : uri.charAt(start) == '?' ? "/" + uri.substring(start) : uri.substring(start);
        boolean upgrade = req.headers().contains(HttpHeaderNames.UPGRADE);
        HttpRequest outbound = new DefaultHttpRequest(req.protocolVersion(), req.method(), originForm);
        outbound.headers().set(req.headers());
        HopByHop.strip(outbound.headers(), upgrade);
        if (HttpUtil.isTransferEncodingChunked(req)) {
            HttpUtil.setTransferEncodingChunked(outbound, true);
        }
        if (!upgrade) {
            // One request per upstream connection: it is never reused, so never across hosts.
            outbound.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        authorize(ctx, req.method().name(), authority, () -> {
            // the origin closes after its answer, often while a slow client holds reading back
            EpollRegistration.keepInEpollSet(upstream);
            upstream.pipeline().addLast("codec", new HttpClientCodec(8192, limits.maxHeaderBytes(), 8192));
            upstream.pipeline().addLast("response", new UpstreamResponse(ctx, upgrade));
            upstream.writeAndFlush(outbound);
            state = State.FORWARDING_BODY;
            boolean last = false;
            while (!pending.isEmpty()) {
                HttpContent c = pending.poll();
                last |= c instanceof LastHttpContent;
                up.addAndGet(c.content().readableBytes());
                upstream.write(c);
            }
            upstream.flush();
            if (last) {
                state = State.AWAITING_RESPONSE;
            } else {
                ctx.read();
            }
            upstream.read();
        });
    }

    private void forwardBody(ChannelHandlerContext ctx, HttpContent c) {
        up.addAndGet(c.content().readableBytes());
        boolean last = c instanceof LastHttpContent;
        if (last) {
            state = State.AWAITING_RESPONSE;
        }
        upstream.writeAndFlush(c).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                closeBoth(ctx);
            } else if (!last) {
                ctx.read();
            }
        });
    }

    /** Relays one response (and, after a 101, the upgraded stream) from upstream to the client. */
    private final class UpstreamResponse extends ChannelInboundHandlerAdapter {
        private final ChannelHandlerContext client;
        private final boolean upgradeRequested;

        UpstreamResponse(ChannelHandlerContext client, boolean upgradeRequested) {
            this.client = client;
            this.upgradeRequested = upgradeRequested;
        }

        private boolean switched;

        @Override
        public void channelRead(ChannelHandlerContext uctx, Object msg) {
            if (switched) {
                // After a 101 the decoder ends the HTTP exchange with an empty last content and then
                // passes raw bytes; the former is dropped, the latter go to the client as they are.
                if (msg instanceof HttpContent c) {
                    if (c.content().isReadable()) {
                        down.addAndGet(c.content().readableBytes());
                        client.writeAndFlush(c.content().retain());
                    }
                    c.release();
                } else {
                    if (msg instanceof ByteBuf b) {
                        down.addAndGet(b.readableBytes());
                    }
                    client.writeAndFlush(msg);
                }
                return;
            }
            if (msg instanceof HttpResponse resp) {
                if (upgradeRequested && resp.status().equals(HttpResponseStatus.SWITCHING_PROTOCOLS)) {
                    switched = true;
                    switchProtocols(uctx, resp, msg);
                    return;
                }
                HopByHop.strip(resp.headers(), false);
                if (!HttpUtil.isContentLengthSet(resp) && !HttpUtil.isTransferEncodingChunked(resp)
                        && !(msg instanceof LastHttpContent)) {
                    HttpUtil.setTransferEncodingChunked(resp, true);
                }
                HttpUtil.setKeepAlive(resp, clientKeepAlive);
            }
            if (msg instanceof HttpContent c) {
                down.addAndGet(c.content().readableBytes());
            }
            boolean last = msg instanceof LastHttpContent;
            client.writeAndFlush(msg).addListener((ChannelFutureListener) f -> {
                if (!f.isSuccess()) {
                    closeBoth(client);
                } else if (last) {
                    finishExchange(client, uctx.channel());
                } else {
                    uctx.read();
                }
            });
        }

        private void switchProtocols(ChannelHandlerContext uctx, HttpResponse resp, Object msg) {
            client.writeAndFlush(msg).addListener((ChannelFutureListener) f -> {
                if (!f.isSuccess()) {
                    closeBoth(client);
                    return;
                }
                // Same host, now raw: the upgraded stream goes to the host that was authorised.
                uctx.pipeline().remove("codec");
                uctx.pipeline().remove(this);
                client.pipeline().remove("codec");
                client.pipeline().remove(ExplicitProxyHandler.this);
                ConnectionAuthorizer.Tunnel t = tunnel;
                Relay.pair(client.channel(), uctx.channel(), up, down, () -> t.close(up.get(), down.get()));
            });
        }

        @Override
        public void channelInactive(ChannelHandlerContext uctx) {
            if (switched || state == State.AWAITING_RESPONSE || state == State.FORWARDING_BODY) {
                // The upstream went away mid-exchange: the client cannot get a complete response.
                closeBoth(client);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext uctx, Throwable cause) {
            ConnectionErrors.caught(client.channel(), "explicit proxy (upstream side)", cause);
            closeBoth(client);
        }
    }

    private void finishExchange(ChannelHandlerContext ctx, Channel exchanged) {
        exchanged.close();
        closeTunnel();
        upstream = null;
        if (clientKeepAlive && ctx.channel().isActive() && !NextRead.inputShut(ctx.channel())) {
            state = State.WAITING_HEAD;
            bytesSinceExchange = 0;
            armHeadTimer(ctx);
            ctx.read();
        } else {
            state = State.CLOSING;
            ctx.close();
        }
    }

    // ---- shared -------------------------------------------------------------------------------

    /** Authorises, dials the vetted addresses, then runs {@code onConnected} on the event loop. */
    private void authorize(ChannelHandlerContext ctx, String method, Authority authority, Runnable onConnected) {
        authorizer.authorize(sandbox, AuditEvent.Via.EXPLICIT, client(ctx), authority.host(), authority.port())
                .whenComplete((auth, error) -> onLoop(ctx, () -> {
                    if (error != null || auth == null) {
                        deny(ctx, method, Decision.denied(Reason.FAIL_CLOSED, Printable.escape(authority.host()), authority.port(),
                                "the gateway could not decide: " + error), null);
                        return;
                    }
                    if (!auth.allowed()) {
                        respondDenied(ctx, method, auth.decision(), null);
                        return;
                    }
                    tunnel = auth.tunnel();
                    up.set(0);
                    down.set(0);
                    if (!ctx.channel().isActive()) {
                        closeTunnel();
                        return;
                    }
                    dialer.dial(ctx.channel().eventLoop(), tunnel, auth.engine()).addListener(f -> {
                        if (f.isSuccess()) {
                            upstream = (Channel) f.getNow();
                            if (!ctx.channel().isActive()) {
                                closeBoth(ctx);
                                return;
                            }
                            upstream.closeFuture().addListener(x -> {
                                if (state == State.CLOSING) {
                                    closeTunnel();
                                }
                            });
                            onConnected.run();
                        } else if (f.cause() instanceof UpstreamDialer.DialRefused refused) {
                            // A policy outcome, not an upstream failure: recorded as a deny and answered as one (403).
                            ConnectionAuthorizer.Tunnel refusedTunnel = tunnel;
                            tunnel = null;
                            respondDenied(ctx, method, authorizer.refuseAtDial(refusedTunnel, refused.refusal()).decision(), null);
                        } else {
                            Denials.UpstreamFailure kind = f.cause() instanceof UpstreamDialer.DialFailure df ? df.kind()
                                    : Denials.UpstreamFailure.REFUSED;
                            closeTunnel();
                            releasePending();
                            state = State.CLOSING;
                            FullHttpResponse r = Denials.upstreamFailure(kind, authority.toString());
                            ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
                        }
                    });
                }));
    }

    /** Records a denial the handler decided itself (malformed input, limits), then answers. */
    private void deny(ChannelHandlerContext ctx, String method, Decision d, HttpResponseStatus status) {
        ConnectionAuthorizer.Authorization a = authorizer.deny(sandbox, AuditEvent.Via.EXPLICIT, client(ctx), d);
        respondDenied(ctx, method, a.decision(), status);
    }

    private void respondDenied(ChannelHandlerContext ctx, String method, Decision d, HttpResponseStatus status) {
        releasePending();
        state = State.CLOSING;
        disarmHeadTimer();
        if (!ctx.channel().isActive()) {
            return;
        }
        // The policy file the sandbox's engine was compiled from (the daemon's loaded file in pooled runs).
        FullHttpResponse r = Denials.response(d, method, sandbox.engine().policyFile(), sandbox.engine().classifier());
        if (status != null) {
            r.setStatus(status);
        }
        if (ctx.pipeline().get("codec") == null) {
            ctx.close();
            return;
        }
        ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
    }

    /** Host must be single and agree with the request target (egress-cases B). */
    private static Optional<String> hostAgreement(HttpRequest req, Authority target, boolean optional) {
        List<String> hosts = req.headers().getAll(HttpHeaderNames.HOST);
        if (hosts.isEmpty()) {
            return optional ? Optional.empty() : Optional.of("the request has no Host header");
        }
        if (hosts.size() > 1) {
            return Optional.of("the request has " + hosts.size() + " Host headers");
        }
        int defaultPort = target.port();
        return switch (Authority.parse(hosts.get(0), optional ? defaultPort : 80)) {
            case Authority.Bad bad -> Optional.of("Host header: " + bad.why());
            case Authority.Ok ok -> sameHost(ok.authority().host(), target.host()) && ok.authority().port() == target.port()
                    ? Optional.empty()
                    : Optional.of("the Host header names " + Printable.escape(ok.authority().toString())
                            + " but the request targets " + Printable.escape(target.toString()));
        };
    }

    private static boolean sameHost(String a, String b) {
        Optional<String> ca = HostNames.canonicalOrEmpty(a);
        Optional<String> cb = HostNames.canonicalOrEmpty(b);
        if (ca.isPresent() && cb.isPresent()) {
            return ca.get().equals(cb.get());
        }
        return a.toLowerCase(Locale.ROOT).equals(b.toLowerCase(Locale.ROOT));
    }

    private void releasePending() {
        pending.forEach(ReferenceCountUtil::release);
        pending.clear();
    }

    private void closeTunnel() {
        if (tunnel != null) {
            tunnel.close(up.get(), down.get());
            tunnel = null;
        }
    }

    private void closeBoth(ChannelHandlerContext ctx) {
        state = State.CLOSING;
        if (upstream != null) {
            upstream.close();
        }
        closeTunnel();
        ctx.close();
    }

    private static String client(ChannelHandlerContext ctx) {
        return ConnectionAuthorizer.client(ctx.channel().remoteAddress());
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        disarmHeadTimer();
        releasePending();
        if (upstream != null) {
            upstream.close();
        }
        closeTunnel();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof io.netty.handler.timeout.IdleStateEvent) {
            closeBoth(ctx);
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ConnectionErrors.caught(ctx.channel(), "explicit proxy", cause);
        closeBoth(ctx);
    }
}
