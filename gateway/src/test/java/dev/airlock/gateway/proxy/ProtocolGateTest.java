package dev.airlock.gateway.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The protocol gate in an EmbeddedChannel: what it passes on to the relay, and what it refuses.
 * "cdn.test" is the host the tunnel was authorised for; "prod.test" is what a fronting client
 * names instead. The loopback tests (FrontingLoopbackTest) show the same against a real front.
 */
class ProtocolGateTest {

    /** Stands in for the Relay: collects what the gate passed on. */
    static final class Sink extends ChannelInboundHandlerAdapter {
        final StringBuilder passed = new StringBuilder();
        final List<Object> events = new ArrayList<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            passed.append(b.toString(StandardCharsets.ISO_8859_1));
            b.release();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            events.add(evt);
        }
    }

    private final Sink sink = new Sink();
    private final Sink upstreamSink = new Sink();
    private final List<String> refusals = new ArrayList<>();
    private final EmbeddedChannel upstream = new EmbeddedChannel();
    private EmbeddedChannel client;
    private ProtocolGate gate;

    private EmbeddedChannel gated(String host, int port) {
        return gated(host, port, null);
    }

    private EmbeddedChannel gated(String host, int port, String initial) {
        upstream.pipeline().addLast("relay", upstreamSink);
        client = new EmbeddedChannel();
        client.pipeline().addLast("relay", sink);
        gate = new ProtocolGate(Authorised.of(host, port), upstream, limits(),
                initial == null ? null : Unpooled.copiedBuffer(initial, StandardCharsets.ISO_8859_1),
                (reason, detail) -> refusals.add(reason.code + ": " + detail));
        client.pipeline().addBefore("relay", "gate", gate);
        return client;
    }

    private static GatewayLimits limits() {
        return new GatewayLimits(8, 8, Duration.ofSeconds(10), Duration.ofMinutes(1), Duration.ofSeconds(1), 8192, 4);
    }

    private static ByteBuf ascii(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1);
    }

    @AfterEach
    void finish() {
        if (client != null) {
            client.finishAndReleaseAll();
        }
        upstream.finishAndReleaseAll();
    }

    private void send(String text) {
        client.writeInbound(Unpooled.copiedBuffer(text, StandardCharsets.ISO_8859_1));
    }

    private void send(byte[] bytes) {
        client.writeInbound(Unpooled.wrappedBuffer(bytes));
    }

    private boolean gateInPipeline() {
        return client.pipeline().get("gate") != null;
    }

    /** A real ClientHello from the JDK's TLS client, naming {@code sni} (none when null). */
    static byte[] clientHello(String sni) throws Exception {
        SSLEngine engine = SSLContext.getDefault().createSSLEngine("ignored.invalid", 443);
        engine.setUseClientMode(true);
        SSLParameters p = engine.getSSLParameters();
        p.setServerNames(sni == null ? List.of() : List.of(new SNIHostName(sni)));
        engine.setSSLParameters(p);
        ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.wrap(ByteBuffer.allocate(0), out);
        out.flip();
        byte[] b = new byte[out.remaining()];
        out.get(b);
        return b;
    }

    // ---- TLS ----------------------------------------------------------------------------------

    @Test
    void tls_sniNamingTheTunnelsHost_isPassedAndTheGateLeaves() throws Exception {
        byte[] hello = clientHello("cdn.test");
        gated("cdn.test", 443);
        send(hello);
        assertThat(refusals).isEmpty();
        assertThat(sink.passed.toString().getBytes(StandardCharsets.ISO_8859_1)).isEqualTo(hello);
        assertThat(gateInPipeline()).as("TLS after the hello is relayed untouched").isFalse();
    }

    @Test
    void tls_sniNamingAnotherHost_isRefusedAsSniMismatchAndNothingPasses() throws Exception {
        gated("cdn.test", 443);
        send(clientHello("prod.test"));
        assertThat(refusals).containsExactly("sni-mismatch: the ClientHello names prod.test but the tunnel is to cdn.test:443");
        assertThat(sink.passed).isEmpty();
    }

    @Test
    void tls_onAnyPort_isRecognisedByItsBytes() throws Exception {
        gated("cdn.test", 9443);
        send(clientHello("prod.test"));
        assertThat(refusals).singleElement().asString().startsWith("sni-mismatch");
    }

    @Test
    void tls_helloSplitAcrossReads_isHeldUntilCompleteThenJudged() throws Exception {
        byte[] hello = clientHello("prod.test");
        gated("cdn.test", 443);
        for (int i = 0; i < hello.length; i += 7) {
            assertThat(refusals).isEmpty();
            send(java.util.Arrays.copyOfRange(hello, i, Math.min(hello.length, i + 7)));
        }
        assertThat(refusals).singleElement().asString().startsWith("sni-mismatch");
        assertThat(sink.passed).isEmpty();
    }

    @Test
    void tls_withoutSni_isNoSniWhenANameWasAuthorised() throws Exception {
        gated("cdn.test", 443);
        send(clientHello(null));
        assertThat(refusals).singleElement().asString().startsWith("no-sni");
    }

    @Test
    void tls_withoutSni_passesWhenAnAddressWasAuthorised() throws Exception {
        byte[] hello = clientHello(null);
        gated("198.18.7.5", 443);
        send(hello);
        assertThat(refusals).isEmpty();
        assertThat(sink.passed.length()).isEqualTo(hello.length);
    }

    @Test
    void tls_anySniOnAnAddressAuthorisedTunnel_isSniMismatch() throws Exception {
        gated("198.18.7.5", 443);
        send(clientHello("prod.test"));
        assertThat(refusals).singleElement().asString().startsWith("sni-mismatch");
    }

    // ---- HTTP/1 -------------------------------------------------------------------------------

    @Test
    void http_hostNamingAnotherHost_isRefusedAsHostMismatch() {
        gated("cdn.test", 80);
        send("GET / HTTP/1.1\r\nHost: prod.test\r\n\r\n");
        assertThat(refusals).containsExactly(
                "host-mismatch: request 1 on the connection names Host prod.test:80 but the tunnel is to cdn.test:80");
        assertThat(sink.passed).isEmpty();
    }

    @Test
    void http_keepAliveSecondRequestNamingAnotherHost_firstPassesSecondIsRefused() {
        gated("cdn.test", 80);
        String first = "GET /a HTTP/1.1\r\nHost: cdn.test\r\n\r\n";
        send(first);
        assertThat(sink.passed.toString()).isEqualTo(first);
        assertThat(gateInPipeline()).as("plain HTTP stays checked").isTrue();
        send("GET /b HTTP/1.1\r\nHost: prod.test\r\n\r\n");
        assertThat(refusals).singleElement().asString().startsWith("host-mismatch: request 2");
        assertThat(sink.passed.toString()).isEqualTo(first);
    }

    @Test
    void http_pipelinedInOneRead_passesExactlyTheRequestsBeforeTheMismatch() {
        gated("cdn.test", 80);
        String ok = "GET /a HTTP/1.1\r\nHost: cdn.test\r\n\r\nPOST /b HTTP/1.1\r\nHost: CDN.test.\r\nContent-Length: 2\r\n\r\nhi";
        send(ok + "GET /c HTTP/1.1\r\nHost: prod.test\r\n\r\nGET /d HTTP/1.1\r\nHost: cdn.test\r\n\r\n");
        assertThat(sink.passed.toString()).isEqualTo(ok);
        assertThat(refusals).singleElement().asString().startsWith("host-mismatch: request 3");
    }

    @Test
    void http_chunkedBodyCarryingAFakeHead_isBodyAndTheRealNextHeadIsChecked() {
        gated("cdn.test", 80);
        String fake = "GET / HTTP/1.1\r\nHost: prod.test\r\n\r\n";
        String first = "POST / HTTP/1.1\r\nHost: cdn.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                + Integer.toHexString(fake.length()) + "\r\n" + fake + "\r\n0\r\n\r\n";
        send(first);
        send("GET / HTTP/1.1\r\nHost: cdn.test\r\n\r\n");
        assertThat(refusals).isEmpty();
        send("GET / HTTP/1.1\r\nHost: prod.test\r\n\r\n");
        assertThat(refusals).singleElement().asString().startsWith("host-mismatch: request 3");
        assertThat(sink.passed.toString()).isEqualTo(first + "GET / HTTP/1.1\r\nHost: cdn.test\r\n\r\n");
    }

    @Test
    void http_contentLengthAndChunkedTogether_isRefusedAsBadRequest() {
        gated("cdn.test", 80);
        send("GET / HTTP/1.1\r\nHost: cdn.test\r\n\r\n");
        send("POST / HTTP/1.1\r\nHost: cdn.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
        assertThat(refusals).singleElement().asString().startsWith("bad-request: request 2");
    }

    @Test
    void http_onANonStandardPort_needsThatPortInTheHost() {
        gated("cdn.test", 8000);
        send("GET / HTTP/1.1\r\nHost: cdn.test:8000\r\n\r\n");
        assertThat(refusals).isEmpty();
        send("GET / HTTP/1.1\r\nHost: prod.test:8000\r\n\r\n");
        assertThat(refusals).singleElement().asString().startsWith("host-mismatch");
    }

    @Test
    void http_absoluteFormTargetNamingAnotherHost_isRefused() {
        gated("cdn.test", 80);
        send("GET http://prod.test/ HTTP/1.1\r\nHost: prod.test\r\n\r\n");
        assertThat(refusals).singleElement().asString().startsWith("host-mismatch");
    }

    @Test
    void http_initialBytesPeekedBeforeTheTunnel_areCheckedToo() {
        gated("cdn.test", 80, "GET / HTTP/1.1\r\nHost: cdn.test\r\n\r\nGET / HTTP/1.1\r\nHost: prod.test\r\n\r\n");
        assertThat(refusals).singleElement().asString().startsWith("host-mismatch: request 2");
        assertThat(sink.passed.toString()).isEqualTo("GET / HTTP/1.1\r\nHost: cdn.test\r\n\r\n");
    }

    @Test
    void http_headThatNeverCompletes_isRefusedAfterTheHeaderTimeout() {
        gated("cdn.test", 80);
        send("GET / HTTP/1.1\r\nHost: cdn.test\r\n");
        client.advanceTimeBy(11, TimeUnit.SECONDS);
        client.runScheduledPendingTasks();
        assertThat(refusals).singleElement().asString().startsWith("limit: no complete request head");
    }

    @Test
    void http_idleBetweenKeptAliveRequests_isNotTimedByTheGate() {
        gated("cdn.test", 80);
        send("GET / HTTP/1.1\r\nHost: cdn.test\r\n\r\n");
        client.advanceTimeBy(60, TimeUnit.SECONDS);
        client.runScheduledPendingTasks();
        assertThat(refusals).isEmpty();
    }

    // ---- protocol switches and HTTP/2 ---------------------------------------------------------

    @Test
    void upgrade_answeredWith101_switchesToOpaqueRelaying() {
        gated("cdn.test", 80);
        String upgrade = "GET /chat HTTP/1.1\r\nHost: cdn.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
        send(upgrade + "frames naming Host: prod.test");
        assertThat(sink.passed.toString()).as("later bytes wait for the origin's answer").isEqualTo(upgrade);
        upstream.writeInbound(Unpooled.copiedBuffer("HTTP/1.1 101 Switching Protocols\r\n\r\n", StandardCharsets.US_ASCII));
        client.runPendingTasks();
        assertThat(sink.passed.toString()).isEqualTo(upgrade + "frames naming Host: prod.test");
        assertThat(upstreamSink.passed.toString()).as("the origin's bytes pass unchanged").startsWith("HTTP/1.1 101");
        assertThat(gateInPipeline()).isFalse();
        assertThat(refusals).isEmpty();
    }

    @Test
    void upgrade_ignoredByTheOrigin_keepsCheckingTheRequestsThatFollow() {
        gated("cdn.test", 80);
        String upgrade = "GET / HTTP/1.1\r\nHost: cdn.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
        send(upgrade + "GET / HTTP/1.1\r\nHost: prod.test\r\n\r\n");
        assertThat(refusals).isEmpty();
        upstream.writeInbound(Unpooled.copiedBuffer("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", StandardCharsets.US_ASCII));
        client.runPendingTasks();
        assertThat(refusals).singleElement().asString().startsWith("host-mismatch: request 2");
        assertThat(sink.passed.toString()).isEqualTo(upgrade);
    }

    @Test
    void upgrade_interimResponsesBefore101_areSkippedAndTheSwitchHappens() {
        gated("cdn.test", 80);
        String upgrade = "GET /chat HTTP/1.1\r\nHost: cdn.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
        send(upgrade + "frames");
        upstream.writeInbound(ascii("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"));
        client.runPendingTasks();
        assertThat(sink.passed.toString()).as("still waiting after the interim answers").isEqualTo(upgrade);
        upstream.writeInbound(ascii("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"));
        client.runPendingTasks();
        assertThat(sink.passed.toString()).isEqualTo(upgrade + "frames");
        assertThat(gateInPipeline()).isFalse();
        assertThat(refusals).isEmpty();
    }

    @Test
    void upgrade_originThatNeverAnswers_isRefusedAfterTheHeaderTimeout() {
        gated("cdn.test", 80);
        send("GET /chat HTTP/1.1\r\nHost: cdn.test\r\nUpgrade: websocket\r\n\r\nframes");
        client.advanceTimeBy(9, TimeUnit.SECONDS);
        client.runScheduledPendingTasks();
        assertThat(refusals).isEmpty();
        client.advanceTimeBy(2, TimeUnit.SECONDS);
        client.runScheduledPendingTasks();
        assertThat(refusals).singleElement().asString().startsWith("limit: the origin sent no answer to the upgrade request");
    }

    @Test
    void upgrade_watchIsOnTheOriginBeforeTheHeadGoesOut() {
        upstream.pipeline().addLast("relay", upstreamSink);
        client = new EmbeddedChannel();
        List<Boolean> watchedWhenPassed = new ArrayList<>();
        client.pipeline().addLast("relay", new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                watchedWhenPassed.add(upstream.pipeline().get("answer-watch") != null);
                ((ByteBuf) msg).release();
            }
        });
        client.pipeline().addBefore("relay", "gate", new ProtocolGate(Authorised.of("cdn.test", 80), upstream, limits(), null,
                (reason, detail) -> refusals.add(reason.code + ": " + detail)));
        send("GET /chat HTTP/1.1\r\nHost: cdn.test\r\nUpgrade: websocket\r\n\r\n");
        assertThat(watchedWhenPassed).containsExactly(true);
    }

    @Test
    void relayPair_putsTheGateInPlaceBeforeAnyByteIsRead() {
        EmbeddedChannel a = new EmbeddedChannel();
        EmbeddedChannel b = new EmbeddedChannel();
        ProtocolGate g = new ProtocolGate(Authorised.of("cdn.test", 80), b, limits(),
                ascii("GET / HTTP/1.1\r\nHost: cdn.test\r\n\r\n"), (reason, detail) -> refusals.add(reason.code));
        Relay.pair(a, b, new java.util.concurrent.atomic.AtomicLong(), new java.util.concurrent.atomic.AtomicLong(), () -> { }, g);
        assertThat(a.pipeline().names()).containsSubsequence("gate", "relay");
        ByteBuf out = b.readOutbound();
        assertThat(out.toString(StandardCharsets.ISO_8859_1)).isEqualTo("GET / HTTP/1.1\r\nHost: cdn.test\r\n\r\n");
        out.release();
        a.writeInbound(ascii("GET / HTTP/1.1\r\nHost: prod.test\r\n\r\n"));
        assertThat(refusals).containsExactly("host-mismatch");
        assertThat(b.<Object>readOutbound()).as("the mismatching request never reached the origin").isNull();
        a.finishAndReleaseAll();
        b.finishAndReleaseAll();
    }

    // ---- bodies and Expect (review finding 3) ---------------------------------------------------

    private static final String SMUGGLED = "GET / HTTP/1.1\r\nHost: prod.test\r\n\r\n";

    @Test
    void postWithARequestAsItsBody_isBodyAndPasses() {
        // The positive control for the refusals below: the same bytes as a POST body are a body.
        gated("cdn.test", 80);
        String post = "POST / HTTP/1.1\r\nHost: cdn.test\r\nContent-Length: " + SMUGGLED.length() + "\r\n\r\n" + SMUGGLED;
        send(post);
        assertThat(refusals).isEmpty();
        assertThat(sink.passed.toString()).isEqualTo(post);
    }

    @ParameterizedTest
    @ValueSource(strings = {"GET", "HEAD", "OPTIONS", "TRACE", "DELETE"})
    void bodilessMethodWithABody_isRefusedSoACl0OriginCannotReadItAsARequest(String method) {
        gated("cdn.test", 80);
        send(method + " / HTTP/1.1\r\nHost: cdn.test\r\nContent-Length: " + SMUGGLED.length() + "\r\n\r\n" + SMUGGLED);
        assertThat(refusals).singleElement().asString().startsWith("bad-request: request 1 is a " + method + " with a body");
        assertThat(sink.passed.toString()).isEmpty();
    }

    @Test
    void getWithAChunkedBody_isRefused() {
        gated("cdn.test", 80);
        send("GET / HTTP/1.1\r\nHost: cdn.test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
        assertThat(refusals).singleElement().asString().startsWith("bad-request: request 1 is a GET with a body");
    }

    @Test
    void getWithContentLengthZero_isNoBodyAndPasses() {
        gated("cdn.test", 80);
        send("GET / HTTP/1.1\r\nHost: cdn.test\r\nContent-Length: 0\r\n\r\n");
        assertThat(refusals).isEmpty();
    }

    @Test
    void expect100Continue_bodyIsHeldUntilTheOriginSays100() {
        gated("cdn.test", 80);
        String head = "POST /upload HTTP/1.1\r\nHost: cdn.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
        send(head + "hello");
        assertThat(sink.passed.toString()).as("the body waits for the origin's answer").isEqualTo(head);
        upstream.writeInbound(ascii("HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"));
        client.runPendingTasks();
        assertThat(sink.passed.toString()).isEqualTo(head + "hello");
        send(SMUGGLED);
        assertThat(refusals).as("later requests are still checked").singleElement().asString().startsWith("host-mismatch: request 2");
    }

    @Test
    void expect100Continue_originAnswersFinal_bodyAndEverythingAfterNeverReachTheOrigin() {
        gated("cdn.test", 80);
        String head = "POST / HTTP/1.1\r\nHost: cdn.test\r\nContent-Length: " + SMUGGLED.length() + "\r\nExpect: 100-continue\r\n\r\n";
        send(head + SMUGGLED);
        upstream.writeInbound(ascii("HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n"));
        client.runPendingTasks();
        send(SMUGGLED);
        assertThat(sink.passed.toString()).isEqualTo(head);
        assertThat(upstreamSink.passed.toString()).as("the client still gets the origin's answer").startsWith("HTTP/1.1 417");
        assertThat(refusals).isEmpty();
    }

    @Test
    void expect100Continue_originThatNeverAnswers_isRefusedAfterTheHeaderTimeout() {
        gated("cdn.test", 80);
        send("POST / HTTP/1.1\r\nHost: cdn.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello");
        client.advanceTimeBy(11, TimeUnit.SECONDS);
        client.runScheduledPendingTasks();
        assertThat(refusals).singleElement().asString().startsWith("limit: the origin sent no answer to Expect: 100-continue");
        assertThat(sink.passed.toString()).doesNotContain("hello");
    }

    @Test
    void expect_empty_asksForNothingAndTheBodyPasses() {
        gated("cdn.test", 80);
        String post = "POST / HTTP/1.1\r\nHost: cdn.test\r\nContent-Length: 5\r\nExpect:\r\n\r\nhello";
        send(post);
        assertThat(refusals).isEmpty();
        assertThat(sink.passed.toString()).isEqualTo(post);
    }

    @Test
    void expect_otherThan100Continue_isRefused() {
        gated("cdn.test", 80);
        send("POST / HTTP/1.1\r\nHost: cdn.test\r\nContent-Length: 5\r\nExpect: 200-ok\r\n\r\nhello");
        assertThat(refusals).singleElement().asString().startsWith("bad-request: request 1 has Expect: 200-ok");
    }

    @Test
    void status_readsOnlyAnHttp1StatusLine() {
        assertThat(ProtocolGate.status("HTTP/1.1 101 Switching Protocols\r\n\r\n")).isEqualTo(101);
        assertThat(ProtocolGate.status("HTTP/1.0 100\r\n\r\n")).isEqualTo(100);
        assertThat(ProtocolGate.status("HTTP/1.1 1010 x\r\n\r\n")).isEqualTo(-1);
        assertThat(ProtocolGate.status("HTTP/2 101 x\r\n\r\n")).isEqualTo(-1);
        assertThat(ProtocolGate.status("SSH-2.0-x\r\n\r\n")).isEqualTo(-1);
    }

    @Test
    void upgrade_onALaterRequest_isRefused() {
        gated("cdn.test", 80);
        send("GET / HTTP/1.1\r\nHost: cdn.test\r\n\r\nGET / HTTP/1.1\r\nHost: cdn.test\r\nUpgrade: websocket\r\n\r\n");
        assertThat(refusals).singleElement().asString().startsWith("bad-request: request 2 asks to switch protocols");
    }

    @Test
    void upgrade_toH2c_isRefusedAsHttp2Cleartext() {
        gated("cdn.test", 80);
        send("GET / HTTP/1.1\r\nHost: cdn.test\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n");
        assertThat(refusals).singleElement().asString().startsWith("http2-cleartext");
    }

    @Test
    void http2Preface_isRefusedAsHttp2Cleartext() {
        gated("cdn.test", 80);
        send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        assertThat(refusals).singleElement().asString().startsWith("http2-cleartext");
        assertThat(sink.passed).isEmpty();
    }

    // ---- protocols that name no server --------------------------------------------------------

    @Test
    void rawTcp_firstLineWithoutAnHttpVersion_isPassedAndTheGateLeaves() {
        gated("cdn.test", 22);
        send("SSH-2.0-OpenSSH_9.6p1 Ubuntu-3\r\n");
        assertThat(sink.passed.toString()).isEqualTo("SSH-2.0-OpenSSH_9.6p1 Ubuntu-3\r\n");
        assertThat(gateInPipeline()).isFalse();
        assertThat(refusals).isEmpty();
    }

    @Test
    void rawTcp_binaryFirstByte_isPassedAtOnce() {
        gated("cdn.test", 5432);
        send(new byte[] {0, 0, 0, 8, 4, (byte) 0xd2, 0x16, 0x2f});
        assertThat(sink.passed.length()).isEqualTo(8);
        assertThat(gateInPipeline()).isFalse();
    }

    @Test
    void rawTcp_gitPktLine_isPassedAtOnceThoughItStartsLikeARequestLine() {
        gated("git.test", 9418);
        send("0032git-upload-pack /x.git\0host=git.test\0");
        assertThat(sink.passed.toString()).isEqualTo("0032git-upload-pack /x.git\0host=git.test\0");
        assertThat(gateInPipeline()).isFalse();
    }

    @Test
    void undecidedFirstLine_atHalfClose_goesOnAsOpaqueBytes() {
        gated("cdn.test", 7);
        send("last words");
        assertThat(sink.passed).isEmpty();
        client.pipeline().fireUserEventTriggered(io.netty.channel.socket.ChannelInputShutdownEvent.INSTANCE);
        assertThat(sink.passed.toString()).isEqualTo("last words");
        assertThat(sink.events).hasSize(1);
    }

    @Test
    void undecidedFirstLine_thatNeverEnds_isRefusedAfterTheHeaderTimeout() {
        gated("cdn.test", 7);
        send("*");
        client.advanceTimeBy(11, TimeUnit.SECONDS);
        client.runScheduledPendingTasks();
        assertThat(refusals).singleElement().asString().startsWith("limit: no complete first line");
    }

    @Test
    void authorised_namesCompareCanonicallyAndAddressesByValue() {
        assertThat(Authorised.of("CDN.Test.", 80).named("cdn.test")).isTrue();
        assertThat(Authorised.of("cdn.test", 80).named("prod.test")).isFalse();
        assertThat(Authorised.of("[2001:db8::1]", 80).named("[2001:db8:0::1]")).isFalse();
        assertThat(Authorised.of("[2001:db8::1]", 80).named("[2001:db8::1]")).isTrue();
        assertThat(Authorised.of("198.18.7.5", 80).named("198.18.7.5")).isTrue();
        assertThat(Authorised.of("198.18.7.5", 80).named("cdn.test")).isFalse();
    }
}
