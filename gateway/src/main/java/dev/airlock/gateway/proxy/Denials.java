package dev.airlock.gateway.proxy;

import dev.airlock.policy.Advice;
import dev.airlock.policy.Decision;
import dev.airlock.policy.Printable;
import dev.airlock.policy.Reason;
import dev.airlock.policy.address.AddressClassifier;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;

/**
 * The one place that maps a denial to what an HTTP client sees: a status, an
 * {@code X-Airlock-Reason} header and a plain-text body naming the target, the reason and the
 * advice {@link Advice} composes: never a rule the gates would refuse.
 */
final class Denials {

    public static final String REASON_HEADER = "X-Airlock-Reason";

    private Denials() {
    }

    /** Upstream failures after an allow are not policy decisions, but clients see them here too. */
    public enum UpstreamFailure {
        REFUSED(HttpResponseStatus.BAD_GATEWAY, "the upstream refused or reset the connection"),
        TIMEOUT(HttpResponseStatus.GATEWAY_TIMEOUT, "the upstream did not accept the connection in time");

        final HttpResponseStatus status;
        final String text;

        UpstreamFailure(HttpResponseStatus status, String text) {
            this.status = status;
            this.text = text;
        }
    }

    static HttpResponseStatus status(Reason reason) {
        return switch (reason) {
            case LIMIT -> HttpResponseStatus.TOO_MANY_REQUESTS;
            case DNS_FAILURE -> HttpResponseStatus.BAD_GATEWAY;
            case BAD_REQUEST -> HttpResponseStatus.BAD_REQUEST;
            case FAIL_CLOSED -> HttpResponseStatus.SERVICE_UNAVAILABLE;
            // Every other refusal is the policy's: 403. Listed so that a new reason must choose its status.
            case ALLOWED, NO_RULE, PORT_NOT_ALLOWED, DENY_RULE, PRODUCTION, PROTECTED_ADDRESS, HOST_ADDRESS, IP_LITERAL,
                 SNI_MISMATCH, NO_SNI, NOT_TLS, HOST_MISMATCH, HTTP2_CLEARTEXT, DIAL_REFUSED -> HttpResponseStatus.FORBIDDEN;
        };
    }

    /**
     * The header value: {@code reason; target=host:port; allow="- host:port"}, or
     * {@code ; cannot be allowed} when no project rule can open it. Single line, escaped.
     */
    public static String headerValue(Decision d, AddressClassifier classifier) {
        String tail = switch (d.advice(classifier)) {
            case Advice.AddRule r -> "; allow=\"" + String.join(" ", r.yaml()).replace("\"", "'") + "\"";
            case Advice.CannotAllow c -> "; cannot be allowed";
            case Advice.Note n -> "";
            case Advice.Nothing n -> "";
        };
        return Printable.escape(d.reason().code + "; target=" + target(d) + tail);
    }

    public static String headerValue(Decision d) {
        return headerValue(d, BUILT_IN);
    }

    /**
     * The body: what was denied, why, by which rule, then the advice ({@link Advice}): the YAML to
     * add under {@code network.allow} in {@code policyFile}, or why no project rule can and what to
     * do instead.
     */
    public static FullHttpResponse response(Decision d, String method, String policyFile, AddressClassifier classifier) {
        StringBuilder body = new StringBuilder();
        body.append("Airlock denied ").append(method).append(' ').append(target(d)).append('\n');
        body.append("reason: ").append(d.reason().code).append(" (").append(d.reason().meaning).append(")\n");
        body.append("why: ").append(Printable.escape(d.detail())).append('\n');
        if (d.rule().isPresent()) {
            body.append("rule: ").append(Printable.escape(d.ruleText())).append('\n');
        }
        for (String line : d.advice(classifier).lines(policyFile)) {
            body.append(Printable.escape(line)).append('\n');
        }
        FullHttpResponse r = text(status(d.reason()), body.toString());
        r.headers().set(REASON_HEADER, headerValue(d, classifier));
        return r;
    }

    public static FullHttpResponse response(Decision d, String method, String policyFile) {
        return response(d, method, policyFile, BUILT_IN);
    }

    private static final AddressClassifier BUILT_IN = new AddressClassifier();

    public static FullHttpResponse upstreamFailure(UpstreamFailure f, String target) {
        FullHttpResponse r = text(f.status, "Airlock could not reach " + Printable.escape(target) + ": " + f.text + "\n");
        r.headers().set(REASON_HEADER, "upstream; target=" + Printable.escape(target));
        return r;
    }

    static FullHttpResponse text(HttpResponseStatus status, String body) {
        ByteBuf content = Unpooled.copiedBuffer(body, StandardCharsets.UTF_8);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        return r;
    }

    private static String target(Decision d) {
        String t = d.target().indexOf(':') >= 0 ? "[" + d.target() + "]" : d.target();
        return t + ":" + d.port();
    }
}
