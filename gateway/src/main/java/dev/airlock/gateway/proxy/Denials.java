package dev.airlock.gateway.proxy;

import dev.airlock.policy.Decision;
import dev.airlock.policy.Printable;
import dev.airlock.policy.Reason;
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
 * {@code X-Airlock-Reason} header and a plain-text body naming the target, the reason and the YAML
 * that would allow it. Production denials never suggest allowing.
 */
public final class Denials {

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
            default -> HttpResponseStatus.FORBIDDEN;
        };
    }

    /** The header value: {@code reason; target=host:port; allow="- host:port"}. Single line, escaped. */
    public static String headerValue(Decision d) {
        String target = target(d);
        String s = d.suggestion();
        String tail;
        if (d.reason() == Reason.PRODUCTION) {
            tail = "; production: cannot be allowed";
        } else if (s.startsWith("- ")) {
            tail = "; allow=\"" + s.replace("\n", " ").replace("\"", "'") + "\"";
        } else {
            tail = "";
        }
        return Printable.escape(d.reason().code + "; target=" + target + tail);
    }

    public static FullHttpResponse response(Decision d, String method, String policyFile) {
        StringBuilder body = new StringBuilder();
        body.append("Airlock denied ").append(method).append(' ').append(target(d)).append('\n');
        body.append("reason: ").append(d.reason().code).append(" (").append(d.reason().meaning).append(")\n");
        body.append("why: ").append(Printable.escape(d.detail())).append('\n');
        if (d.rule().isPresent()) {
            body.append("rule: ").append(Printable.escape(d.ruleText())).append('\n');
        }
        String s = d.suggestion();
        if (d.reason() == Reason.PRODUCTION) {
            body.append("production: cannot be allowed\n");
        } else if (s.startsWith("- ")) {
            body.append("to allow it, add under network.allow in ").append(policyFile).append(":\n");
            for (String line : s.split("\n")) {
                body.append("  ").append(Printable.escape(line)).append('\n');
            }
        } else if (!s.isEmpty()) {
            body.append(Printable.escape(s)).append('\n');
        }
        FullHttpResponse r = text(status(d.reason()), body.toString());
        r.headers().set(REASON_HEADER, headerValue(d));
        return r;
    }

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
