package dev.airlock.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.airlock.k8s.PodPool;
import dev.airlock.pool.warm.WarmPool;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The daemon's API on {@code backend: kubernetes}: {@code /metrics}, {@code GET /v1/status} (the
 * local daemon's fields and names, so {@code airlock pool status} prints it unchanged), the
 * dashboard's pool table, and claims ({@code POST /v1/claims}: a Ready pod, else one started for the claim; {@code DELETE
 * /v1/sandboxes/ID}), and commands in claimed pods ({@code POST /v1/run}, {@code …/exec}: {@link
 * PodCommandStream}, the local daemon's wire protocol over the API server's {@code pods/exec}).
 */
final class ClusterApiHandler extends ChannelInboundHandlerAdapter {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SANDBOX = Pattern.compile("/v1/sandboxes/(alk[0-9a-f]{8})(/exec|/export)?");
    private static final int MAX_JSON = 64 * 1024;

    /** Claims held through this daemon, by the id the API gave out (shared by every connection). */
    private final Map<String, Held> claims;
    private final ClusterDaemon daemon;
    private final Optional<String> token;
    private HttpRequest request;
    private ByteBuf body;
    /** The command of a {@code run} or {@code exec} request on this connection. */
    private PodCommandStream command;

    /** A claim this daemon gave out; {@code oneShot}: an {@code airlock run}'s, deleted when its command ends (as on one host). */
    record Held(String project, PodPool.Claim claim, java.time.Instant claimedAt, boolean oneShot) {
    }

    ClusterApiHandler(ClusterDaemon daemon, Map<String, Held> claims, Optional<String> token) {
        this.daemon = daemon;
        this.claims = claims;
        this.token = token;
    }

    static Map<String, Held> newClaims() {
        return new ConcurrentHashMap<>();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (msg instanceof HttpRequest r) {
                request = r;
                releaseBody();
                if (!ApiHandler.authorized(r, token)) {
                    ApiHandler.error(ctx, HttpResponseStatus.UNAUTHORIZED, "this listener needs `Authorization: Bearer TOKEN`"
                            + " (the daemon's tokenFile). Fix: send the token, or use the unix socket.");
                    request = null;
                    return;
                }
                String path = new QueryStringDecoder(r.uri()).path();
                command = null;
                if (r.method().equals(HttpMethod.POST) && (path.equals("/v1/run") || path.endsWith("/exec"))) {
                    command = new PodCommandStream(ctx, path, daemon, claims);
                }
            }
            if (msg instanceof HttpContent c && command != null) {
                command.content(c.content());
                if (msg instanceof LastHttpContent) {
                    command.end();
                    request = null;
                }
                return;
            }
            if (msg instanceof HttpContent c && request != null) {
                if (body == null) {
                    body = ctx.alloc().buffer();
                }
                if (body.readableBytes() + c.content().readableBytes() > MAX_JSON) {
                    ApiHandler.error(ctx, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "request body over " + MAX_JSON + " bytes");
                    request = null;
                    releaseBody();
                    return;
                }
                body.writeBytes(c.content());
                if (msg instanceof LastHttpContent) {
                    String text = body.toString(StandardCharsets.UTF_8);
                    releaseBody();
                    route(ctx, request, text);
                    request = null;
                }
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void releaseBody() {
        if (body != null) {
            body.release();
            body = null;
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        releaseBody();
        if (command != null) {
            command.disconnected();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        System.err.println("airlock daemon: API connection failed: " + cause);
        ctx.close();
    }

    private void route(ChannelHandlerContext ctx, HttpRequest r, String text) {
        String path = new QueryStringDecoder(r.uri()).path();
        HttpMethod m = r.method();
        if (m.equals(HttpMethod.GET) && path.equals("/metrics")) {
            ApiHandler.send(ctx, HttpResponseStatus.OK, "text/plain; version=0.0.4; charset=utf-8", daemon.meters().scrape());
        } else if (m.equals(HttpMethod.GET) && path.equals("/v1/status")) {
            ApiHandler.json(ctx, HttpResponseStatus.OK, status(daemon, claims));
        } else if (m.equals(HttpMethod.GET) && path.equals("/v1/sandboxes")) {
            ApiHandler.json(ctx, HttpResponseStatus.OK, sandboxes());
        } else if (m.equals(HttpMethod.GET) && (path.equals("/") || path.equals("/dashboard"))) {
            ApiHandler.send(ctx, HttpResponseStatus.OK, "text/html; charset=utf-8", Dashboard.render(new ClusterDashboard(daemon, claims), java.time.Instant.now()));
        } else if (m.equals(HttpMethod.POST) && path.equals("/v1/claims")) {
            offload(ctx, () -> claim(ctx, text));
        } else if (m.equals(HttpMethod.DELETE) && SANDBOX.matcher(path).matches()) {
            Matcher mt = SANDBOX.matcher(path);
            mt.matches();
            offload(ctx, () -> release(mt.group(1)));
        } else {
            ApiHandler.error(ctx, HttpResponseStatus.NOT_IMPLEMENTED, r.method() + " " + path + " is not served on backend: kubernetes"
                    + " (served: GET /v1/status, /v1/sandboxes, /metrics, /; POST /v1/claims, /v1/run, /v1/sandboxes/ID/exec;"
                    + " DELETE /v1/sandboxes/ID).");
        }
    }

    /** An answer that calls the API server: off the event loop. */
    private static void offload(ChannelHandlerContext ctx, Answer answer) {
        Thread.ofVirtual().name("airlock-cluster-api").start(() -> {
            try {
                Reply reply = answer.reply();
                ApiHandler.json(ctx, reply.status(), reply.body());
            } catch (BadRequest e) {
                ApiHandler.error(ctx, HttpResponseStatus.BAD_REQUEST, e.getMessage());
            } catch (Exception e) {
                ApiHandler.error(ctx, HttpResponseStatus.SERVICE_UNAVAILABLE, String.valueOf(e.getMessage()));
            }
        });
    }

    @FunctionalInterface
    private interface Answer {
        Reply reply() throws Exception;
    }

    private record Reply(HttpResponseStatus status, Object body) {
    }

    private static final class BadRequest extends Exception {
        BadRequest(String message) {
            super(message);
        }
    }

    /**
     * {@code POST /v1/claims}: a Ready pod, else one started for this claim and waited for (a cold
     * start, as on one host). A client that goes away during the wait stops it (the pod is deleted);
     * one that went away just as the claim was won gets its pod deleted too, since nobody holds its id.
     */
    private Reply claim(ChannelHandlerContext ctx, String text) throws Exception {
        JsonNode req;
        try {
            req = JSON.readTree(text.isEmpty() ? "{}" : text);
        } catch (java.io.IOException e) {
            throw new BadRequest("the body is not JSON: " + e.getMessage().lines().findFirst().orElse("invalid"));
        }
        String project = req.path("project").asText("");
        if (!daemon.projects().contains(project)) {
            throw new BadRequest("no project '" + project + "' in this daemon: configured are " + daemon.projects()
                    + ". Fix: send {\"project\": NAME}.");
        }
        String id = "alk" + UUID.randomUUID().toString().replace("-", "").substring(0, 8);
        PodPool.Claim c = daemon.claim(project, id, whenClosed(ctx));
        if (!ctx.channel().isActive()) {
            daemon.release(project, c);
            return new Reply(HttpResponseStatus.GONE, JSON.createObjectNode().put("error", "the client went away; the pod was deleted"));
        }
        claims.put(id, new Held(project, c, java.time.Instant.now(), false));
        return new Reply(HttpResponseStatus.CREATED, JSON.createObjectNode().put("sandbox", id).put("project", project).put("warm", c.warm())
                .put("claimMs", c.took().toNanos() / 1e6).put("pod", c.pod().getMetadata().getName())
                .put("namespace", c.pod().getMetadata().getNamespace()).put("kind", "session"));
    }

    /** Completes when the client's connection closes: a claim still waiting for a cold pod gives it up. */
    static java.util.concurrent.CompletionStage<Void> whenClosed(ChannelHandlerContext ctx) {
        java.util.concurrent.CompletableFuture<Void> gone = new java.util.concurrent.CompletableFuture<>();
        ctx.channel().closeFuture().addListener(f -> gone.complete(null));
        return gone;
    }

    private Reply release(String id) throws Exception {
        Held h = claims.remove(id);
        if (h == null) {
            throw new BadRequest("no claimed sandbox " + id + " in this daemon. Fix: `airlock sandbox list` shows the ids.");
        }
        daemon.release(h.project(), h.claim());
        return new Reply(HttpResponseStatus.OK, JSON.createObjectNode().put("sandbox", id).put("result", "released")
                .put("summary", "the pod " + h.claim().pod().getMetadata().getName() + " was deleted; the pool refills"));
    }

    private ArrayNode sandboxes() {
        ArrayNode out = JSON.createArrayNode();
        claims.forEach((id, h) -> out.addObject().put("sandbox", id).put("project", h.project()).put("state", "claimed")
                .put("pod", h.claim().pod().getMetadata().getName()).put("kind", h.oneShot() ? "run" : "session").put("warm", h.claim().warm())
                .put("createdAt", h.claimedAt().toString()).put("claimedAt", h.claimedAt().toString()));
        return out;
    }

    /** The local daemon's status fields ({@link StatusView#status}), from the pods and the same metrics. */
    static ObjectNode status(ClusterDaemon d, Map<String, Held> claims) {
        ObjectNode root = JSON.createObjectNode();
        root.put("backend", "kubernetes");
        root.put("namespace", d.cluster().namespace());
        ArrayNode projects = root.putArray("projects");
        for (String project : d.projects()) {
            WarmPool.Status s = d.status(project);
            ObjectNode o = projects.addObject();
            o.put("project", project);
            o.put("desired", s.desired());
            o.put("ready", s.ready());
            o.put("warming", s.warming());
            o.put("inUse", s.inUse());
            o.put("sessions", claims.values().stream().filter(h -> !h.oneShot() && h.project().equals(project)).count());
            o.put("warmClaims", s.warmClaims());
            o.put("coldClaims", s.coldClaims());
            o.put("failedClaims", s.failedClaims());
            o.put("memberDeaths", s.memberDeaths());
            StatusView.number(o, "warmHitRate", s.warmHitRate());
            StatusView.number(o, "coldStartRate", s.coldStartRate());
            StatusView.millis(o, "claimP50Ms", d.poolMetrics().claimQuantile(project, 0.5));
            StatusView.millis(o, "claimP99Ms", d.poolMetrics().claimQuantile(project, 0.99));
            StatusView.millis(o, "ageAtClaimP50Ms", d.poolMetrics().ageQuantile(project, 0.5));
            o.put("sizing", d.autoSized(project) ? "auto" : "fixed");
            o.put("policyError", d.policies().problem(project).orElse(null));
            o.put("policyReloads", d.policies().applied(project));
            Optional<String> failure = d.poolMetrics().lastRefillFailure(project);
            if (failure.isPresent()) {
                o.put("lastFailure", failure.get());
            } else {
                o.putNull("lastFailure");
            }
        }
        root.put("recoveredFromUncleanStop", 0);
        return root;
    }
}
