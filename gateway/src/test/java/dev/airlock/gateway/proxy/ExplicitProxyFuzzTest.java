package dev.airlock.gateway.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.registry.Sandbox;
import dev.airlock.gateway.registry.SandboxRegistry;
import dev.airlock.gateway.resolve.Resolution;
import dev.airlock.policy.PolicyEngine;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The explicit proxy's request-head path under arbitrary bytes, in an EmbeddedChannel: it never
 * throws out of the pipeline, never resolves a name, and never allows anything, because the
 * policy allows nothing and every input is either malformed or names a host it does not allow.
 */
class ExplicitProxyFuzzTest {

    private static final String[] FRAGMENTS = {"CONNECT ", "GET ", "http://", "git.test", ":443", ":0", ":65536", " HTTP/1.1",
        "\r\n", "\n", "Host: ", "Host: a\r\nHost: b\r\n", "\u0000", "@", "#", "%2e", "[::1]", "127.1", " ", "\t",
        "Transfer-Encoding: chunked\r\n", "Content-Length: 5\r\n", "Upgrade: h2c\r\n", "\r\n\r\n", "0\r\n\r\n"};

    @Provide
    Arbitrary<byte[]> requestish() {
        Arbitrary<String> fragments = Arbitraries.of(FRAGMENTS).list().ofMaxSize(24).map(l -> String.join("", l));
        Arbitrary<byte[]> structured = fragments.map(s -> s.getBytes(StandardCharsets.ISO_8859_1));
        Arbitrary<byte[]> random = Arbitraries.bytes().array(byte[].class).ofMaxSize(600);
        return Arbitraries.oneOf(structured, random,
                Combinators.combine(fragments, random).as((f, r) -> concat(f.getBytes(StandardCharsets.ISO_8859_1), r)));
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Property(tries = 500)
    void arbitraryBytes_neverAllowAndNeverResolve(@ForAll("requestish") byte[] input) {
        RecordingAudit audit = new RecordingAudit();
        AtomicInteger resolutions = new AtomicInteger();
        ConnectionAuthorizer authorizer = new ConnectionAuthorizer(name -> {
            resolutions.incrementAndGet();
            return new Resolution.Failure(Resolution.Kind.NXDOMAIN, "fuzz");
        }, audit, GatewayMetrics.inMemory(), GatewayLimits.DEFAULT, Runnable::run, false);
        PolicyEngine nothingAllowed = PolicyEngine.of("fuzz", List.of(), List.of(), List.of(), List.of());
        Sandbox sandbox = new SandboxRegistry().register("fuzz", "fuzz", List.of(), nothingAllowed);
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.config().setAutoRead(false);
        ch.pipeline().addLast("codec", new HttpServerCodec(8192, 8192, 8192));
        ch.pipeline().addLast("proxy", new ExplicitProxyHandler(sandbox, authorizer, new UpstreamDialer(1000),
                GatewayLimits.DEFAULT, "airlock.yaml"));
        ch.pipeline().fireChannelActive();
        ch.writeInbound(Unpooled.wrappedBuffer(input));
        ch.runPendingTasks();
        ch.finishAndReleaseAll();
        assertThat(resolutions.get()).isZero();
        assertThat(audit.events).noneMatch(e -> e.decision() == AuditEvent.Decision.ALLOW);
        assertThat(audit.events).allMatch(e -> e.event() == AuditEvent.Event.DECISION);
        assertThat(authorizer.openTunnels()).isZero();
    }
}
