package dev.airlock.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.airlock.k8s.KubeBackendException;
import dev.airlock.k8s.PodCommand;
import dev.airlock.k8s.PodExec;
import dev.airlock.k8s.PodPool;
import dev.airlock.sandbox.WindowSize;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A command streaming through one API connection on {@code backend: kubernetes}: {@code POST
 * /v1/run} (claim a Ready pod, else start one for the run, run, delete the pod) or {@code POST /v1/sandboxes/ID/exec} (in a pod
 * claimed earlier). The wire protocol is the local daemon's (docs/daemon.md), so the CLI and the C
 * client work unchanged: the request body is one JSON line, then stdin as raw bytes or, with
 * {@code "tty"}, as {@link TerminalFrames}; the answer is NDJSON: the start line, the output as
 * {@code {"stream","data"}} lines, and the last line {@code {"exit": CODE}}. The command runs in the
 * pod's agent container through the API server's {@code pods/exec} ({@link PodExec}).
 *
 * <p>Design: everything that calls the API server (the claim, the exec's upgrade) and every write
 * to the command's input runs in order on one platform thread of this stream, never on the event
 * loop. The end of the request body is the end of the command's input: the exec protocol has no
 * half-close, so a piped command runs under the pod's stdin relay and the body's end becomes its
 * end frame ({@link PodCommand#endInput()}), queued after every input chunk, so nothing races and
 * nothing is lost. A body with no input at all (as from {@code sandbox exec} without {@code -i})
 * is the same: the command reads end-of-file at once. On a terminal the end of input is a key (^D).
 */
final class PodCommandStream {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SANDBOX = Pattern.compile("/v1/sandboxes/(alk[0-9a-f]{8})/exec");

    private final ChannelHandlerContext ctx;
    private final String path;
    private final ClusterDaemon daemon;
    private final Map<String, ClusterApiHandler.Held> claims;
    private final ExecutorService work = Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon().name("airlock-pod-exec").factory());
    /** The first body line while it arrives (event loop only). */
    private final ByteArrayOutputStream header = new ByteArrayOutputStream();
    private final TerminalFrames.Lines frames = new TerminalFrames.Lines();
    private boolean headerDone;
    /** Whether the body ended (read by the work thread too), and when the connection closes. */
    private final ExchangeClose close;
    private volatile boolean finished;
    private volatile PodCommand command;
    private volatile boolean terminal;
    /** A run's own claim, deleted when the command ends or the client goes away; null once released. */
    private String releaseOnEnd;

    PodCommandStream(ChannelHandlerContext ctx, String path, ClusterDaemon daemon, Map<String, ClusterApiHandler.Held> claims) {
        this.ctx = ctx;
        this.close = new ExchangeClose(ctx);
        this.path = path;
        this.daemon = daemon;
        this.claims = claims;
    }

    /** A chunk of the request body (event loop). */
    void content(ByteBuf data) {
        if (!headerDone) {
            int nl = data.indexOf(data.readerIndex(), data.writerIndex(), (byte) '\n');
            int upTo = nl < 0 ? data.writerIndex() : nl;
            if (header.size() + (upTo - data.readerIndex()) > 64 * 1024) {
                headerDone = true;
                submit(() -> fail(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "the command line (first body line) is over 65536 bytes"));
                return;
            }
            byte[] head = new byte[upTo - data.readerIndex()];
            data.readBytes(head);
            header.writeBytes(head);
            if (nl < 0) {
                return;
            }
            data.skipBytes(1);
            headerDone = true;
            String line = header.toString(StandardCharsets.UTF_8);
            submit(() -> begin(line));
        }
        if (data.isReadable()) {
            byte[] bytes = ByteBufUtil.getBytes(data);
            submit(() -> input(bytes));
        }
    }

    /** The request body ended (event loop). */
    void end() {
        // closes at once only when the response ended already, which needs the header and the command done
        close.requestEnded();
        if (!headerDone) {
            headerDone = true;
            String line = header.toString(StandardCharsets.UTF_8);
            submit(() -> begin(line));
        }
        // after every input chunk (the work runs in order): the command reads end-of-file after the last byte
        submit(this::endInput);
    }

    /** The client went away: the exec ends, and a run's pod is deleted (which ends the command for certain). */
    void disconnected() {
        PodCommand c = command;
        if (!finished && c != null) {
            c.close();
        }
        if (!finished) {
            // after a begin that may still be claiming or starting (the work runs in order)
            submit(() -> {
                PodCommand started = command;
                if (started != null) {
                    started.close();
                }
                release();
            });
        }
        work.shutdown();
    }

    private void submit(Runnable r) {
        try {
            work.execute(r);
        } catch (RejectedExecutionException e) {
            // the command ended or the client went away: nothing to do any more
        }
    }

    private void input(byte[] bytes) {
        PodCommand c = command;
        if (c == null) {
            return; // the command did not start
        }
        try {
            if (terminal) {
                for (String line : frames.feed(bytes)) {
                    switch (TerminalFrames.parse(line)) {
                        case TerminalFrames.Stdin in -> {
                            c.stdin().write(in.data());
                            c.stdin().flush();
                        }
                        case TerminalFrames.Resize r -> c.resize(new PodExec.Window(r.size().rows(), r.size().cols()));
                        case TerminalFrames.Unknown u -> {
                            // a later addition to the protocol, or garbage: the stream goes on
                        }
                    }
                }
            } else {
                c.stdin().write(bytes);
                c.stdin().flush();
            }
        } catch (IOException e) {
            // the command ended: drop the rest, as a pipe would
        }
    }

    private void endInput() {
        PodCommand c = command;
        if (c == null) {
            return; // the command did not start
        }
        try {
            c.endInput();
        } catch (IOException e) {
            // the command ended already
        }
    }

    private void begin(String line) {
        try {
            JsonNode req = ApiHandler.parse(line);
            List<String> argv = ApiHandler.command(req);
            Map<String, String> env = ApiHandler.env(req);
            Optional<WindowSize> tty = TerminalFrames.requested(req);
            String id;
            ClusterApiHandler.Held held;
            boolean run = path.equals("/v1/run");
            if (run) {
                Optional<String> project = project(req);
                if (project.isEmpty()) {
                    return;
                }
                id = "alk" + UUID.randomUUID().toString().replace("-", "").substring(0, 8);
                // a Ready pod, else one started for this run (cold); a client that goes away stops the wait and deletes it
                PodPool.Claim claim = daemon.claim(project.get(), id, ClusterApiHandler.whenClosed(ctx));
                held = new ClusterApiHandler.Held(project.get(), claim, java.time.Instant.now(), true);
                claims.put(id, held);
                releaseOnEnd = id;
            } else {
                Matcher m = SANDBOX.matcher(path);
                if (!m.matches()) {
                    fail(HttpResponseStatus.NOT_FOUND, "POST " + path + ": no such endpoint. Fix: POST /v1/sandboxes/ID/exec.");
                    return;
                }
                id = m.group(1);
                held = claims.get(id);
                if (held == null) {
                    fail(HttpResponseStatus.NOT_FOUND, "no claimed sandbox " + id + " in this daemon. Fix: `airlock sandbox list` shows the ids.");
                    return;
                }
            }
            terminal = tty.isPresent();
            // always with input: a piped command's ends with the body (endInput), even when there was none
            command = daemon.exec(held.claim(), argv, env, true, tty.map(w -> new PodExec.Window(w.rows(), w.cols())));
            HttpResponse res = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/x-ndjson");
            res.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
            ctx.write(res);
            ObjectNode start = JSON.createObjectNode().put("sandbox", id);
            if (run) {
                start.put("warm", held.claim().warm()).put("claimMs", held.claim().took().toNanos() / 1e6);
            }
            // the pod's /workspace is an emptyDir of its own, never the caller's directory
            start.put("workspace", "empty").put("pod", held.claim().pod().getMetadata().getName())
                    .put("namespace", held.claim().pod().getMetadata().getNamespace());
            line(start);
            pump(command);
        } catch (ApiHandler.BadRequest e) {
            fail(HttpResponseStatus.BAD_REQUEST, e.getMessage());
        } catch (KubeBackendException | RuntimeException e) {
            fail(HttpResponseStatus.SERVICE_UNAVAILABLE, String.valueOf(e.getMessage()));
        }
    }

    /** The run's project: by its policy file, as the CLI names it, or by name; empty with the answer sent. */
    private Optional<String> project(JsonNode req) throws ApiHandler.BadRequest {
        if (req.has("policy")) {
            String policy = ApiHandler.text(req, "policy");
            Optional<String> p = daemon.projectOf(Path.of(policy));
            if (p.isEmpty()) {
                // notPooled: the CLI runs the command on this host instead, as with a local daemon
                ApiHandler.json(ctx, HttpResponseStatus.NOT_FOUND, JSON.createObjectNode().put("error", "no pooled project has the policy "
                        + policy + ". Fix: add it to the daemon's configuration, or run without the daemon.").put("notPooled", true));
                work.shutdown();
            }
            return p;
        }
        String project = ApiHandler.text(req, "project");
        if (!daemon.projects().contains(project)) {
            throw new ApiHandler.BadRequest("no project '" + project + "' in this daemon: configured are " + daemon.projects()
                    + ". Fix: send {\"project\": NAME}.");
        }
        return Optional.of(project);
    }

    private void fail(HttpResponseStatus status, String message) {
        release();
        ApiHandler.error(ctx, status, message);
        work.shutdown();
    }

    private void pump(PodCommand c) {
        Thread out = Thread.ofVirtual().start(() -> copy(c.stdout(), "stdout"));
        Thread err = c.stderr().map(e -> Thread.ofVirtual().start(() -> copy(e, "stderr"))).orElse(null);
        Thread.ofVirtual().name("airlock-pod-exec-wait").start(() -> {
            try {
                PodCommand.Exit exit = c.waitFor();
                out.join();
                if (err != null) {
                    err.join();
                }
                exit.problem().ifPresent(p -> line(JSON.createObjectNode().put("stream", "stderr").put("data",
                        Base64.getEncoder().encodeToString(("airlock: " + p + "\n").getBytes(StandardCharsets.UTF_8)))));
                ObjectNode last = JSON.createObjectNode().put("exit", exit.code());
                String summary = release();
                if (!summary.isEmpty()) {
                    last.put("summary", summary);
                }
                finished = true;
                line(last);
                ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
                ctx.executor().execute(close::responded);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                c.close();
                work.shutdown();
            }
        });
    }

    private void copy(InputStream in, String stream) {
        byte[] buf = new byte[16384];
        try (in) {
            for (int n; (n = in.read(buf)) > 0; ) {
                line(JSON.createObjectNode().put("stream", stream).put("data", Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(buf, n))));
            }
        } catch (IOException e) {
            // the exec ended
        }
    }

    private void line(ObjectNode n) {
        try {
            byte[] b = (JSON.writeValueAsString(n) + "\n").getBytes(StandardCharsets.UTF_8);
            ctx.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(b)));
        } catch (IOException e) {
            ctx.close();
        }
    }

    /** Deletes a run's pod, once (the pool refills); a session's pod stays claimed. The summary line for the client. */
    private synchronized String release() {
        String id = releaseOnEnd;
        releaseOnEnd = null;
        if (id == null) {
            return "";
        }
        ClusterApiHandler.Held h = claims.remove(id);
        if (h == null) {
            return "";
        }
        try {
            daemon.release(h.project(), h.claim());
            return "";
        } catch (KubeBackendException | RuntimeException e) {
            return "airlock: the pod " + h.claim().pod().getMetadata().getName() + " of this run was not deleted: " + e.getMessage() + "\n";
        }
    }
}
