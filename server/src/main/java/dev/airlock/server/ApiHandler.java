package dev.airlock.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.airlock.runtime.TerminalCommand;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One API connection. Requests are small JSON documents, except the two that run a command
 * ({@code exec} and {@code run}): their body is one JSON line followed by the command's stdin, and
 * their response streams NDJSON lines ({@code {"stream":"stdout","data":BASE64}}) ending with
 * {@code {"exit":N}}. Stdin is written on its own thread, so a command that does not read it never
 * stalls the event loop. When the connection drops during {@code run}, the command is killed and its
 * sandbox released: nothing outlives a client that died.
 *
 * <p>All errors leave through {@link #error}: JSON {@code {"error": message}} with 400, 401, 404,
 * 409 or 500.
 */
final class ApiHandler extends ChannelInboundHandlerAdapter {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SANDBOX = Pattern.compile("/v1/sandboxes/(alk[0-9a-f]{8})(/exec|/export)?");
    /** A small JSON body; larger ones are refused (commands carry stdin in exec/run, not here). */
    private static final int MAX_JSON = 64 * 1024;
    /** How long a finished run's connection waits for the rest of the client's request body. */
    static final java.time.Duration LINGER = java.time.Duration.ofSeconds(10);

    private final Daemon daemon;
    private final Optional<String> token;

    private HttpRequest request;
    private ByteBuf body;
    private Exec exec;

    ApiHandler(Daemon daemon, Optional<String> token) {
        this.daemon = daemon;
        this.token = token;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (msg instanceof HttpRequest r) {
                request = r;
                body = null;
                exec = null;
                if (!authorized(r)) {
                    error(ctx, HttpResponseStatus.UNAUTHORIZED, "this listener needs `Authorization: Bearer TOKEN`"
                            + " (the daemon's tokenFile). Fix: send the token, or use the unix socket.");
                    request = null;
                    return;
                }
                String path = new QueryStringDecoder(r.uri()).path();
                if (r.method().equals(HttpMethod.POST) && (path.equals("/v1/run") || path.endsWith("/exec"))) {
                    exec = new Exec(ctx, path);
                }
            }
            if (msg instanceof HttpContent c && request != null) {
                if (exec != null) {
                    exec.content(c.content());
                } else {
                    if (body == null) {
                        body = ctx.alloc().buffer();
                    }
                    if (body.readableBytes() + c.content().readableBytes() > MAX_JSON) {
                        error(ctx, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "request body over " + MAX_JSON + " bytes");
                        request = null;
                        body.release();
                        body = null;
                        return;
                    }
                    body.writeBytes(c.content());
                }
                if (msg instanceof LastHttpContent) {
                    if (exec != null) {
                        exec.end();
                    } else {
                        String text = body == null ? "" : body.toString(StandardCharsets.UTF_8);
                        if (body != null) {
                            body.release();
                            body = null;
                        }
                        route(ctx, request, text);
                    }
                    request = null;
                }
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (body != null) {
            body.release();
            body = null;
        }
        if (exec != null) {
            exec.disconnected();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        System.err.println("airlock daemon: API connection failed: " + cause);
        ctx.close();
    }

    private boolean authorized(HttpRequest r) {
        return authorized(r, token);
    }

    /** Whether {@code r} carries {@code token} (header or query); every request when there is none (the unix socket). */
    static boolean authorized(HttpRequest r, Optional<String> token) {
        if (token.isEmpty()) {
            return true; // the unix socket: its file mode is the credential
        }
        String given = Optional.ofNullable(r.headers().get(HttpHeaderNames.AUTHORIZATION)).filter(h -> h.startsWith("Bearer "))
                .map(h -> h.substring(7)).orElseGet(() -> {
                    List<String> q = new QueryStringDecoder(r.uri()).parameters().get("token");
                    return q == null || q.isEmpty() ? "" : q.get(0);
                });
        return MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), token.get().getBytes(StandardCharsets.UTF_8));
    }

    private void route(ChannelHandlerContext ctx, HttpRequest r, String text) {
        QueryStringDecoder q = new QueryStringDecoder(r.uri());
        String path = q.path();
        HttpMethod m = r.method();
        try {
            if (m.equals(HttpMethod.GET) && (path.equals("/") || path.equals("/dashboard"))) {
                String tok = q.parameters().getOrDefault("token", List.of("")).get(0);
                send(ctx, HttpResponseStatus.OK, "text/html; charset=utf-8", Dashboard.render(daemon, tok));
            } else if (m.equals(HttpMethod.GET) && path.equals("/metrics")) {
                send(ctx, HttpResponseStatus.OK, "text/plain; version=0.0.4; charset=utf-8", daemon.meters().scrape());
            } else if (m.equals(HttpMethod.GET) && path.equals("/v1/status")) {
                json(ctx, HttpResponseStatus.OK, StatusView.status(daemon));
            } else if (m.equals(HttpMethod.GET) && path.equals("/v1/sandboxes")) {
                json(ctx, HttpResponseStatus.OK, StatusView.sandboxes(daemon));
            } else if (m.equals(HttpMethod.POST) && path.equals("/v1/claims")) {
                JsonNode req = parse(text);
                Daemon.Session s = daemon.claimSession(claimedProject(req), sessionName(req));
                json(ctx, HttpResponseStatus.CREATED, StatusView.session(StatusView.claim(s), s));
            } else if (m.equals(HttpMethod.POST) && SANDBOX.matcher(path).matches() && path.endsWith("/export")) {
                Matcher mt = SANDBOX.matcher(path);
                mt.matches();
                JsonNode req = parse(text);
                Optional<java.nio.file.Path> to = Optional.empty();
                if (req.has("to")) {
                    String t = text(req, "to");
                    if (!t.startsWith("/")) {
                        throw new BadRequest("`to` must be an absolute path to a git repository, not " + t);
                    }
                    to = Optional.of(java.nio.file.Path.of(t));
                }
                Optional<java.nio.file.Path> target = to;
                offload(ctx, () -> StatusView.work(daemon.export(mt.group(1), target)));
            } else if (m.equals(HttpMethod.DELETE) && SANDBOX.matcher(path).matches()) {
                Matcher mt = SANDBOX.matcher(path);
                mt.matches();
                if (mt.group(2) != null) {
                    error(ctx, HttpResponseStatus.NOT_FOUND, "DELETE " + path + ": no such resource. Fix: DELETE /v1/sandboxes/ID.");
                    return;
                }
                offload(ctx, () -> {
                    Daemon.Released released = daemon.releaseWork(mt.group(1));
                    ObjectNode o = JSON.createObjectNode().put("released", mt.group(1)).put("summary", released.text());
                    o.set("export", StatusView.work(released.work()));
                    return o;
                });
            } else {
                error(ctx, HttpResponseStatus.NOT_FOUND, m + " " + path + ": no such endpoint. Fix: see docs/daemon.md for the API.");
            }
        } catch (BadRequest e) {
            error(ctx, HttpResponseStatus.BAD_REQUEST, e.getMessage());
        } catch (DaemonException e) {
            HttpResponseStatus status = e.getMessage().startsWith("no ") ? HttpResponseStatus.NOT_FOUND : HttpResponseStatus.CONFLICT;
            error(ctx, status, e.getMessage());
        } catch (RuntimeException e) {
            error(ctx, HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal error: " + e);
        }
    }

    /** A claim's project: {@code "project"}, or {@code "policy"}, the project's policy file as the configuration lists it. */
    private String claimedProject(JsonNode req) throws BadRequest, DaemonException {
        if (!req.has("policy")) {
            return text(req, "project");
        }
        String policy = text(req, "policy");
        return daemon.projectOf(java.nio.file.Path.of(policy)).orElseThrow(() -> new DaemonException("no pooled project has the policy " + policy
                + ". Fix: add it to the daemon's configuration, or name the project with `project`."));
    }

    /** A session's optional {@code "name"}. */
    static Optional<String> sessionName(JsonNode req) throws BadRequest {
        if (!req.has("name")) {
            return Optional.empty();
        }
        String name = text(req, "name");
        Optional<String> problem = SessionRefs.nameProblem(name);
        if (problem.isPresent()) {
            throw new BadRequest(problem.get());
        }
        return Optional.of(name);
    }

    /** A request whose work may take seconds (a release exports the sandbox's work): never on the event loop. */
    @FunctionalInterface
    private interface SlowWork {
        Object run() throws DaemonException;
    }

    private static void offload(ChannelHandlerContext ctx, SlowWork work) {
        Thread.ofVirtual().name("airlock-api-work").start(() -> {
            try {
                json(ctx, HttpResponseStatus.OK, work.run());
            } catch (DaemonException e) {
                error(ctx, e.getMessage().startsWith("no ") ? HttpResponseStatus.NOT_FOUND : HttpResponseStatus.CONFLICT, e.getMessage());
            } catch (RuntimeException e) {
                error(ctx, HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal error: " + e);
            }
        });
    }

    static final class BadRequest extends Exception {
        BadRequest(String message) {
            super(message);
        }
    }

    static JsonNode parse(String text) throws BadRequest {
        try {
            JsonNode n = JSON.readTree(text.isEmpty() ? "{}" : text);
            if (n == null || !n.isObject()) {
                throw new BadRequest("the body must be a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw new BadRequest("the body is not JSON: " + e.getMessage());
        }
    }

    static String text(JsonNode n, String field) throws BadRequest {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual() || v.asText().isEmpty()) {
            throw new BadRequest("`" + field + "` is required and must be a string");
        }
        return v.asText();
    }

    static List<String> command(JsonNode n) throws BadRequest {
        JsonNode v = n.get("command");
        if (v == null || !v.isArray() || v.isEmpty()) {
            throw new BadRequest("`command` is required: a non-empty array of strings, e.g. [\"make\", \"test\"]");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode a : v) {
            if (!a.isTextual()) {
                throw new BadRequest("`command` must hold only strings");
            }
            out.add(a.asText());
        }
        return out;
    }

    static Map<String, String> env(JsonNode n) throws BadRequest {
        JsonNode v = n.get("env");
        Map<String, String> out = new LinkedHashMap<>();
        if (v == null) {
            return out;
        }
        if (!v.isObject()) {
            throw new BadRequest("`env` must be an object of strings");
        }
        for (Map.Entry<String, JsonNode> e : v.properties()) {
            if (!e.getValue().isTextual()) {
                throw new BadRequest("`env." + e.getKey() + "` must be a string");
            }
            out.put(e.getKey(), e.getValue().asText());
        }
        return out;
    }

    static void json(ChannelHandlerContext ctx, HttpResponseStatus status, Object value) {
        try {
            send(ctx, status, "application/json", JSON.writeValueAsString(value));
        } catch (IOException e) {
            send(ctx, HttpResponseStatus.INTERNAL_SERVER_ERROR, "application/json", "{\"error\":\"cannot render\"}");
        }
    }

    static void error(ChannelHandlerContext ctx, HttpResponseStatus status, String message) {
        json(ctx, status, JSON.createObjectNode().put("error", message));
    }

    static void send(ChannelHandlerContext ctx, HttpResponseStatus status, String type, String text) {
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.copiedBuffer(text, StandardCharsets.UTF_8));
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
        res.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        HttpUtil.setContentLength(res, res.content().readableBytes());
        ctx.writeAndFlush(res);
    }

    /**
     * A command streaming through this connection: {@code POST /v1/sandboxes/ID/exec} in a claimed
     * sandbox, or {@code POST /v1/run}, which claims, runs and releases in one request.
     */
    private final class Exec {
        private final ChannelHandlerContext ctx;
        private final String path;
        /**
         * The first body line while it arrives; null once released. Never test a released buffer's
         * {@code refCnt()}: the pooled allocator recycles the object, so after its release it may be
         * another connection's buffer, and releasing it "again" was issue 17's
         * {@code IllegalReferenceCountException: refCnt: 0, decrement: 1}.
         */
        private ByteBuf header;
        /** A platform thread: a terminal's writes are native calls, which would pin a virtual thread's carrier. */
        private final ExecutorService stdinWriter = Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon().factory());
        /** Volatile: a run of an unpooled policy starts it on the stdin thread ({@link #beginCold}). */
        private volatile Process process;
        private volatile OutputStream stdin;
        /** With {@code "tty"} in the request: the command's own terminal, and the body's frame lines. */
        private volatile TerminalCommand terminal;
        /** The first body line was read (event loop only). */
        private boolean begun;
        /** The request asked for a terminal: the body's lines are frames (event loop only). */
        private boolean terminalRequested;
        /** The client went away. */
        private volatile boolean gone;
        private final TerminalFrames.Lines frames = new TerminalFrames.Lines();
        private String releaseOnEnd;
        /** A run of a policy the daemon does not pool: its own sandbox, destroyed at the end ({@link ColdRuns}). */
        private volatile ColdRuns.Run coldRun;
        private volatile boolean finished;
        private volatile boolean failed;
        private final ExchangeClose close;

        Exec(ChannelHandlerContext ctx, String path) {
            this.ctx = ctx;
            this.path = path;
            this.header = ctx.alloc().buffer();
            this.close = new ExchangeClose(ctx);
        }

        void content(ByteBuf data) {
            if (failed) {
                return;
            }
            if (!begun) {
                int nl = data.indexOf(data.readerIndex(), data.writerIndex(), (byte) '\n');
                if (nl < 0) {
                    if (header.readableBytes() + data.readableBytes() > MAX_JSON) {
                        fail(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "the command line (first body line) is over " + MAX_JSON + " bytes");
                        return;
                    }
                    header.writeBytes(data);
                    return;
                }
                header.writeBytes(data, nl - data.readerIndex());
                data.skipBytes(1);
                if (!begin(header.toString(StandardCharsets.UTF_8))) {
                    return;
                }
            }
            if (data.isReadable() && terminalRequested) {
                for (String line : frames.feed(ByteBufUtil.getBytes(data))) {
                    TerminalFrames.Frame f = TerminalFrames.parse(line);
                    toStdin(() -> toTerminal(f));
                }
            } else if (data.isReadable()) {
                byte[] bytes = ByteBufUtil.getBytes(data);
                toStdin(() -> {
                    if (stdin == null) {
                        return; // the run did not start
                    }
                    try {
                        stdin.write(bytes);
                        stdin.flush();
                    } catch (IOException e) {
                        // the command closed its stdin: drop the rest, as a pipe would
                    }
                });
            }
        }

        void end() {
            if (close.requestEnded()) {
                return; // the command ended before the client's body did: now both are complete
            }
            if (failed) {
                return;
            }
            if (!begun && !begin(header.toString(StandardCharsets.UTF_8))) {
                return;
            }
            toStdin(this::closeStdin);
        }

        /** One upstream frame to the command's terminal: keys as typed, or the client's new window size. */
        private void toTerminal(TerminalFrames.Frame f) {
            if (terminal == null) {
                return; // the run did not start
            }
            try {
                switch (f) {
                    case TerminalFrames.Stdin in -> terminal.terminal().write(in.data(), 0, in.data().length);
                    case TerminalFrames.Resize r -> terminal.terminal().resize(r.size());
                    case TerminalFrames.Unknown u -> {
                        // a later addition to the protocol, or garbage: the stream goes on
                    }
                }
            } catch (IOException | dev.airlock.sandbox.SandboxException e) {
                // the command ended and its terminal is closed: drop the rest, as a pipe would
            }
        }

        /** Stdin work, in order, off the event loop; once the command has ended there is nothing to write to. */
        private void toStdin(Runnable r) {
            try {
                stdinWriter.execute(r);
            } catch (java.util.concurrent.RejectedExecutionException ended) {
                // the command exited and its stdin is gone
            }
        }

        private void closeStdin() {
            if (stdin == null) {
                return; // a terminal has no end of input but ^D, which the client sends as a key
            }
            try {
                stdin.close();
            } catch (IOException e) {
                // already closed
            }
        }

        /** Releases the header buffer, once. */
        private void releaseHeader() {
            if (header != null) {
                ByteBuf h = header;
                header = null;
                h.release();
            }
        }

        private boolean begin(String line) {
            begun = true;
            releaseHeader();
            Daemon.Session claimed = null;
            try {
                JsonNode req = parse(line);
                List<String> command = command(req);
                Map<String, String> env = env(req);
                Optional<dev.airlock.sandbox.WindowSize> tty = TerminalFrames.requested(req);
                terminalRequested = tty.isPresent();
                String id;
                if (path.equals("/v1/run")) {
                    String project = null;
                    if (req.has("policy")) {
                        java.nio.file.Path policy = java.nio.file.Path.of(text(req, "policy"));
                        // "cold": the caller named its workspace (--workspace): never the pool's, whose workspace is the project's
                        boolean coldOnly = req.path("cold").asBoolean(false);
                        Optional<String> byPolicy = coldOnly ? Optional.empty() : daemon.projectOf(policy);
                        if (byPolicy.isEmpty() && !req.has("workspace")) {
                            // a client that cannot have the daemon run it cold (no "workspace"): it runs the policy itself
                            failed = true;
                            json(ctx, HttpResponseStatus.NOT_FOUND, JSON.createObjectNode().put("error", "no pooled project has the policy "
                                    + text(req, "policy") + ". Fix: add it to the daemon's configuration, or run without the daemon.")
                                    .put("notPooled", true));
                            stdinWriter.shutdown();
                            return false;
                        }
                        if (byPolicy.isEmpty()) {
                            Optional<String> refused = CallerCheck.refusal(ctx.channel());
                            if (refused.isPresent()) {
                                fail(HttpResponseStatus.FORBIDDEN, refused.get());
                                return false;
                            }
                            java.nio.file.Path ws = java.nio.file.Path.of(text(req, "workspace"));
                            dev.airlock.runtime.RunAs as = SudoCallerField.parse(req);
                            // A sandbox's preparation (about ten processes) never runs on the event loop: the stdin
                            // thread runs it, before any stdin it is handed after.
                            toStdin(() -> beginCold(policy, ws, as, command, env, tty));
                            return true;
                        } else {
                            project = byPolicy.get();
                        }
                    } else {
                        project = text(req, "project");
                    }
                    claimed = daemon.claim(project);
                    id = claimed.id();
                    releaseOnEnd = id;
                } else {
                    Matcher mt = SANDBOX.matcher(path);
                    if (!mt.matches()) {
                        throw new BadRequest("POST " + path + ": no such endpoint. Fix: POST /v1/sandboxes/ID/exec.");
                    }
                    id = mt.group(1);
                }
                if (tty.isPresent()) {
                    terminal = daemon.execWithTerminal(id, command, env, tty.get());
                    process = terminal.process();
                } else {
                    process = daemon.exec(id, command, env);
                    stdin = process.getOutputStream();
                }
                ObjectNode start = JSON.createObjectNode().put("sandbox", id);
                if (claimed != null) {
                    start.put("warm", claimed.warm).put("claimMs", claimed.took.toNanos() / 1e6);
                }
                Daemon.Session session = daemon.session(id);
                int[] behind = session.behind();
                if (behind[0] >= 0) {
                    start.put("behind", behind[0]).put("behindAtStart", behind[1]);
                }
                // Where the command works, for the caller to say: the template's commit, or (no workspace: in the
                // policy) the member's own empty directory, never the caller's.
                session.member.template().ifPresentOrElse(t -> start.put("template", t.id().commit()).put("ref", t.ref()),
                        () -> start.put("workspace", "empty"));
                return started(start, List.of(), false);
            } catch (BadRequest e) {
                fail(HttpResponseStatus.BAD_REQUEST, e.getMessage());
            } catch (DaemonException e) {
                fail(e.getMessage().startsWith("no ") ? HttpResponseStatus.NOT_FOUND : HttpResponseStatus.CONFLICT, e.getMessage());
            }
            if (releaseOnEnd != null) {
                release();
            }
            return false;
        }

        /**
         * A run of a policy the daemon does not pool, on the stdin thread: its sandbox prepared, its
         * command started, the answer begun; on failure the error answer, and nothing left.
         */
        private void beginCold(java.nio.file.Path policy, java.nio.file.Path ws, dev.airlock.runtime.RunAs as, List<String> command,
                Map<String, String> env,
                Optional<dev.airlock.sandbox.WindowSize> tty) {
            try {
                coldRun = daemon.cold().prepare(policy, ws, as);
                if (gone) {
                    finishCold(); // the client left while it was prepared
                    return;
                }
                if (tty.isPresent()) {
                    terminal = daemon.cold().startWithTerminal(coldRun, command, env, tty.get());
                    process = terminal.process();
                } else {
                    Process p = daemon.cold().start(coldRun, command, env);
                    stdin = p.getOutputStream();
                    process = p;
                }
                started(coldStart(), coldRun.notes(), tty.isPresent());
                if (gone) {
                    process.destroyForcibly(); // left as it started: the end of pump() destroys the sandbox
                }
            } catch (DaemonException | RuntimeException e) {
                if (process != null) {
                    process.destroyForcibly();
                }
                finishCold();
                fail(e instanceof DaemonException && e.getMessage().startsWith("no ") ? HttpResponseStatus.NOT_FOUND
                        : e instanceof DaemonException ? HttpResponseStatus.CONFLICT : HttpResponseStatus.INTERNAL_SERVER_ERROR,
                        e instanceof DaemonException ? e.getMessage() : "internal error: " + e);
            }
        }

        /**
         * The answer's head and its first line ({@code start}), Airlock's {@code notes} on the command's
         * stderr, then the command's output as it comes. On a terminal the client has put its own in
         * raw mode by the time they arrive, so a note ends in CR LF there, as the terminal's own lines do.
         */
        private boolean started(ObjectNode start, List<String> notes, boolean terminal) {
            HttpResponse res = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/x-ndjson");
            res.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
            ctx.write(res);
            line(start);
            for (String note : notes) {
                line(JSON.createObjectNode().put("stream", "stderr").put("data", Base64.getEncoder().encodeToString(
                        (note + (terminal ? "\r\n" : "\n")).getBytes(StandardCharsets.UTF_8))));
            }
            pump();
            return true;
        }

        /**
         * The first line of a run of a policy the daemon does not pool: its sandbox, {@code "cold"},
         * how long the sandbox took to prepare, and the caller's directory it works in.
         */
        private ObjectNode coldStart() {
            return JSON.createObjectNode().put("sandbox", coldRun.id()).put("cold", true)
                    .put("prepareMs", coldRun.took().toNanos() / 1e6).put("workspace", coldRun.member().workspace().toString());
        }

        private void fail(HttpResponseStatus status, String message) {
            failed = true;
            error(ctx, status, message);
            stdinWriter.shutdown();
        }

        private void pump() {
            Thread out = terminal != null ? Thread.ofPlatform().daemon().start(this::copyTerminal)
                    : Thread.ofVirtual().start(() -> copy(process.getInputStream(), "stdout"));
            Thread err = Thread.ofVirtual().start(() -> copy(process.getErrorStream(), "stderr"));
            Thread.ofVirtual().start(() -> {
                try {
                    int code = process.waitFor();
                    if (terminal != null) {
                        terminal.terminal().commandEnded(); // its output ends once what is buffered is read
                    }
                    out.join();
                    err.join();
                    if (terminal != null) {
                        terminal.terminal().close();
                    }
                    daemon.awaitRecordsWritten(); // the client learns of the end once the run's records can be read
                    ObjectNode last = JSON.createObjectNode().put("exit", code);
                    if (releaseOnEnd != null) {
                        last.put("summary", release());
                    } else if (coldRun != null) {
                        last.put("summary", finishCold());
                    }
                    finished = true;
                    // the exit line and the body's end in one flush: the client is done at its first read
                    write(last, false);
                    ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
                    ctx.executor().execute(close::responded);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    stdinWriter.shutdown();
                }
            });
        }

        /** The command's terminal output, as the stream's {@code stdout} (a terminal has one output). */
        private void copyTerminal() {
            byte[] buf = new byte[16384];
            try {
                for (int n; (n = terminal.terminal().read(buf)) > 0; ) {
                    line(JSON.createObjectNode().put("stream", "stdout").put("data", Base64.getEncoder().encodeToString(
                            java.util.Arrays.copyOf(buf, n))));
                }
            } catch (IOException e) {
                // the terminal is closed
            }
        }

        private void copy(InputStream in, String stream) {
            byte[] buf = new byte[16384];
            try (in) {
                for (int n; (n = in.read(buf)) > 0; ) {
                    line(JSON.createObjectNode().put("stream", stream).put("data", Base64.getEncoder().encodeToString(
                            java.util.Arrays.copyOf(buf, n))));
                }
            } catch (IOException e) {
                // the process ended
            }
        }

        private void line(ObjectNode n) {
            write(n, true);
        }

        /** One NDJSON line of the response, sent now ({@code flush}) or with the next flush. */
        private void write(ObjectNode n, boolean flush) {
            try {
                DefaultHttpContent c = new DefaultHttpContent(Unpooled.wrappedBuffer((JSON.writeValueAsString(n) + "\n").getBytes(StandardCharsets.UTF_8)));
                if (flush) {
                    ctx.writeAndFlush(c);
                } else {
                    ctx.write(c);
                }
            } catch (IOException e) {
                ctx.close();
            }
        }

        private synchronized String release() {
            String id = releaseOnEnd;
            releaseOnEnd = null;
            if (id == null) {
                return "";
            }
            try {
                return daemon.release(id);
            } catch (DaemonException e) {
                return "";
            }
        }

        /** Destroys the sandbox of a run of an unpooled policy, once; its summary. */
        private String finishCold() {
            ColdRuns.Run run = coldRun;
            return run == null ? "" : daemon.cold().finish(run);
        }

        /** The client went away: a run's command dies with it and its sandbox is released (or, run cold, destroyed). */
        void disconnected() {
            gone = true;
            releaseHeader();
            if (!finished && process != null) {
                process.destroyForcibly();
                // the release exports the sandbox's work: seconds, never on the event loop
                Thread.ofVirtual().name("airlock-release").start(() -> {
                    release();
                    finishCold();
                });
            }
            stdinWriter.shutdown();
        }
    }
}
