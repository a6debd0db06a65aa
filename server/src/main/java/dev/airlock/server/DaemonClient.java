package dev.airlock.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.airlock.runtime.RunAs;
import dev.airlock.sandbox.WindowSize;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The command line's side of the daemon API, over its unix socket: one request per connection,
 * HTTP/1.1 written by hand (the JDK's HTTP client does not speak unix sockets). {@link #run} streams
 * stdin up and stdout, stderr and the exit code down.
 */
public final class DaemonClient {

    /** Nodes only; reading and writing go through {@link FlatJson} (no ObjectMapper on a run's path). */
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** A response: its status and its JSON body. */
    public record Response(int status, JsonNode body) {
        public boolean ok() {
            return status / 100 == 2;
        }

        public String error() {
            return body.path("error").asText("HTTP " + status);
        }
    }

    /**
     * The caller's terminal, for a command that is to run on one ({@code "tty"} in the request): its
     * size now, and where to register for its later sizes (each is sent as a resize frame). With a
     * terminal, stdin is sent as {@code {"stdin": BASE64}} frames (see {@link TerminalFrames}).
     */
    public record Tty(WindowSize size, Consumer<Consumer<WindowSize>> onResize) {
    }

    private final Path socket;

    private DaemonClient(Path socket) {
        this.socket = socket;
    }

    /** A client when a daemon answers on {@code socket}, else empty (no socket, or nobody listening). */
    public static Optional<DaemonClient> ifRunning(Path socket) {
        if (!Files.exists(socket)) {
            return Optional.empty();
        }
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            return Optional.of(new DaemonClient(socket));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    public Response get(String path) throws IOException {
        return request("GET", path, null);
    }

    public Response post(String path, JsonNode body) throws IOException {
        return request("POST", path, body);
    }

    public Response delete(String path) throws IOException {
        return request("DELETE", path, null);
    }

    private Response request(String method, String path, JsonNode body) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            byte[] b = body == null ? new byte[0] : FlatJson.write(body).getBytes(StandardCharsets.UTF_8);
            OutputStream out = Channels.newOutputStream(ch);
            out.write((method + " " + path + " HTTP/1.1\r\nHost: airlock\r\nConnection: close\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + b.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(b);
            out.flush();
            InputStream in = new BufferedInputStream(Channels.newInputStream(ch));
            Head head = head(in);
            byte[] content = head.chunked ? readChunked(in) : in.readNBytes(head.length);
            String text = content.length == 0 ? "{}" : new String(content, StandardCharsets.UTF_8);
            // a list or a nested document: the full parser (status, sandboxes); flat run lines: FlatJson
            return new Response(head.status, new ObjectMapper().readTree(text));
        }
    }

    /**
     * Runs {@code command} in a sandbox of {@code project} from the daemon's pool: claims, runs,
     * releases. {@code started} gets the first line (sandbox id, warm, claim time); the returned
     * node is the last ({@code exit} and {@code summary}).
     */
    public JsonNode run(String project, List<String> command, Map<String, String> env, InputStream stdin, OutputStream stdout,
            OutputStream stderr, Consumer<JsonNode> started) throws IOException, DaemonException {
        return run(project, command, env, Optional.empty(), stdin, stdout, stderr, started);
    }

    /** As {@link #run}, on a terminal in the sandbox when {@code tty} is given (the caller's stdin is a terminal). */
    public JsonNode run(String project, List<String> command, Map<String, String> env, Optional<Tty> tty, InputStream stdin,
            OutputStream stdout, OutputStream stderr, Consumer<JsonNode> started) throws IOException, DaemonException {
        ObjectNode req = NODES.objectNode().put("project", project);
        withCommand(req, command, env);
        return stream("/v1/run", req, tty, stdin, stdout, stderr, started);
    }

    /**
     * As {@link #run}, naming the project by its policy file as the daemon's configuration lists it;
     * empty when the daemon pools no project with that policy (nothing ran).
     */
    public Optional<JsonNode> runPolicy(Path policy, List<String> command, Map<String, String> env, InputStream stdin, OutputStream stdout,
            OutputStream stderr, Consumer<JsonNode> started) throws IOException, DaemonException {
        return runPolicy(policy, command, env, Optional.empty(), stdin, stdout, stderr, started);
    }

    /** As {@link #runPolicy}, on a terminal in the sandbox when {@code tty} is given. */
    public Optional<JsonNode> runPolicy(Path policy, List<String> command, Map<String, String> env, Optional<Tty> tty, InputStream stdin,
            OutputStream stdout, OutputStream stderr, Consumer<JsonNode> started) throws IOException, DaemonException {
        return runPolicy(policy, Optional.empty(), command, env, tty, stdin, stdout, stderr, started);
    }

    /**
     * Where the daemon runs a policy it does not pool, as a cold run would: in {@code dir} (the
     * caller's directory, absolute), in a sandbox of its own for this run. {@code only}: even when
     * it pools the policy ({@code --workspace}: the caller named the directory to work in).
     * {@code caller}: who the run runs as (the caller's SUDO_UID/SUDO_GID, {@link RunAs#sudoCaller});
     * empty, nobody.
     */
    public record ColdWorkspace(Path dir, boolean only, Optional<RunAs> caller) {

        /** Run as nobody. */
        public ColdWorkspace(Path dir, boolean only) {
            this(dir, only, Optional.empty());
        }
    }

    /**
     * As {@link #runPolicy}; with {@code cold}, a policy the daemon does not pool runs in the daemon
     * too (docs/daemon.md, "Policies the daemon does not pool"), and the result is empty only from a
     * daemon too old to do so.
     */
    public Optional<JsonNode> runPolicy(Path policy, Optional<ColdWorkspace> cold, List<String> command, Map<String, String> env,
            Optional<Tty> tty, InputStream stdin, OutputStream stdout, OutputStream stderr, Consumer<JsonNode> started)
            throws IOException, DaemonException {
        ObjectNode req = NODES.objectNode().put("policy", policy.toString());
        cold.ifPresent(c -> {
            req.put("workspace", c.dir().toString());
            if (c.only()) {
                req.put("cold", true);
            }
            SudoCallerField.put(req, c.caller());
        });
        withCommand(req, command, env);
        try {
            return Optional.of(stream("/v1/run", req, tty, stdin, stdout, stderr, started));
        } catch (NotPooled e) {
            return Optional.empty();
        }
    }

    /** The daemon pools no project with the policy a run named. */
    private static final class NotPooled extends DaemonException {
        NotPooled(String message) {
            super(message);
        }
    }

    /**
     * The id of the claimed sandbox {@code ref} names: its id, its session name, or a unique prefix
     * of its id ({@link SessionRefs}); an unknown or ambiguous one is an error saying what to do.
     */
    public String resolveSession(String ref) throws IOException, DaemonException {
        Response r = get("/v1/sandboxes");
        if (!r.ok()) {
            throw new DaemonException(r.error());
        }
        List<SessionRefs.Session> claimed = new java.util.ArrayList<>();
        for (JsonNode n : r.body()) {
            if ("claimed".equals(n.path("state").asText())) {
                JsonNode name = n.path("name");
                claimed.add(new SessionRefs.Session(n.path("sandbox").asText(), name.isTextual() ? Optional.of(name.asText()) : Optional.empty()));
            }
        }
        return SessionRefs.resolve(ref, claimed);
    }

    /** Runs {@code command} in a sandbox claimed earlier ({@code POST /v1/claims}); the sandbox stays claimed. */
    public JsonNode exec(String sandbox, List<String> command, Map<String, String> env, InputStream stdin, OutputStream stdout,
            OutputStream stderr) throws IOException, DaemonException {
        return exec(sandbox, command, env, Optional.empty(), stdin, stdout, stderr);
    }

    /** As {@link #exec}, on a terminal in the sandbox when {@code tty} is given. */
    public JsonNode exec(String sandbox, List<String> command, Map<String, String> env, Optional<Tty> tty, InputStream stdin,
            OutputStream stdout, OutputStream stderr) throws IOException, DaemonException {
        ObjectNode req = NODES.objectNode();
        withCommand(req, command, env);
        return stream("/v1/sandboxes/" + sandbox + "/exec", req, tty, stdin, stdout, stderr, n -> { });
    }

    private JsonNode stream(String path, ObjectNode req, Optional<Tty> tty, InputStream stdin, OutputStream stdout, OutputStream stderr,
            Consumer<JsonNode> started) throws IOException, DaemonException {
        tty.ifPresent(t -> req.putObject("tty").put("rows", t.size().rows()).put("cols", t.size().cols()));
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try (ch) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            OutputStream out = Channels.newOutputStream(ch);
            IOException sendFailed = null;
            synchronized (out) {
                // the head and the command line in one write: the daemon may run a short command
                // and answer before a second write would have been sent
                java.io.ByteArrayOutputStream first = new java.io.ByteArrayOutputStream();
                first.write(("POST " + path + " HTTP/1.1\r\nHost: airlock\r\nTransfer-Encoding: chunked\r\nContent-Type: application/x-ndjson\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                chunk(first, (FlatJson.write(req) + "\n").getBytes(StandardCharsets.UTF_8), 0, -1);
                try {
                    out.write(first.toByteArray());
                } catch (IOException e) {
                    sendFailed = e; // it may still have answered: read first, report this only without an answer
                }
            }
            tty.ifPresent(t -> t.onResize().accept(size -> {
                synchronized (out) {
                    try {
                        chunk(out, TerminalFrames.resize(size).getBytes(StandardCharsets.US_ASCII), 0, -1);
                    } catch (IOException e) {
                        // the run ended
                    }
                }
            }));
            Thread up = Thread.ofPlatform().daemon().name("airlock-stdin").start(() -> {
                byte[] buf = new byte[16384];
                try {
                    for (int n; (n = stdin.read(buf)) > 0; ) {
                        synchronized (out) {
                            if (tty.isPresent()) {
                                chunk(out, TerminalFrames.stdin(buf, 0, n).getBytes(StandardCharsets.US_ASCII), 0, -1);
                            } else {
                                chunk(out, buf, 0, n);
                            }
                        }
                    }
                    synchronized (out) {
                        out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                    }
                } catch (IOException e) {
                    // the run ended, or the daemon went away: the reader reports which
                }
            });
            InputStream in = new BufferedInputStream(Channels.newInputStream(ch));
            Head head;
            try {
                head = head(in);
            } catch (IOException e) {
                if (sendFailed != null) {
                    e.addSuppressed(sendFailed);
                }
                throw e;
            }
            if (!head.chunked) {
                byte[] content = in.readNBytes(head.length);
                JsonNode n = FlatJson.read(content.length == 0 ? "{}" : new String(content, StandardCharsets.UTF_8));
                String message = n.path("error").asText("the daemon answered HTTP " + head.status);
                if (n.path("notPooled").asBoolean()) {
                    throw new NotPooled(message);
                }
                throw new DaemonException(message);
            }
            ChunkedLines lines = new ChunkedLines(in);
            JsonNode last = null;
            for (String line; (line = lines.next()) != null; ) {
                JsonNode n = FlatJson.read(line);
                if (n.has("stream")) {
                    byte[] data = Base64.getDecoder().decode(n.get("data").asText());
                    OutputStream target = n.get("stream").asText().equals("stderr") ? stderr : stdout;
                    target.write(data);
                    target.flush();
                } else if (n.has("exit")) {
                    last = n;
                } else if (n.has("sandbox")) {
                    started.accept(n);
                }
            }
            up.interrupt();
            if (last == null) {
                throw new DaemonException("the daemon ended the run without an exit code (did it stop?). Fix: see its log.");
            }
            return last;
        }
    }

    private static void withCommand(ObjectNode req, List<String> command, Map<String, String> env) {
        var argv = req.putArray("command");
        command.forEach(argv::add);
        ObjectNode vars = req.putObject("env");
        env.forEach(vars::put);
    }

    private static void chunk(OutputStream out, byte[] b, int off, int len) throws IOException {
        int n = len < 0 ? b.length : len;
        out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(b, off, n);
        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    private record Head(int status, boolean chunked, int length) {
    }

    private static Head head(InputStream in) throws IOException {
        String status = line(in);
        if (status == null || !status.startsWith("HTTP/1.1 ")) {
            throw new IOException("not an HTTP response from the daemon: " + status);
        }
        int code = Integer.parseInt(status.substring(9, 12));
        boolean chunked = false;
        int length = 0;
        for (String h; (h = line(in)) != null && !h.isEmpty(); ) {
            String lower = h.toLowerCase(Locale.ROOT);
            if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                chunked = true;
            } else if (lower.startsWith("content-length:")) {
                length = Integer.parseInt(h.substring(15).trim());
            }
        }
        return new Head(code, chunked, length);
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int c; (c = in.read()) != -1; ) {
            if (c == '\n') {
                String s = b.toString(StandardCharsets.US_ASCII);
                return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
            }
            b.write(c);
        }
        return b.size() == 0 ? null : b.toString(StandardCharsets.US_ASCII);
    }

    private static byte[] readChunked(InputStream in) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        while (true) {
            String size = line(in);
            if (size == null) {
                return all.toByteArray();
            }
            int n = Integer.parseInt(size.trim(), 16);
            if (n == 0) {
                line(in);
                return all.toByteArray();
            }
            all.write(in.readNBytes(n));
            line(in);
        }
    }

    /** NDJSON lines across HTTP chunks (a line may span chunks, a chunk may hold several lines). */
    private static final class ChunkedLines {
        private final InputStream in;
        private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
        private int left;
        private boolean done;

        ChunkedLines(InputStream in) {
            this.in = in;
        }

        String next() throws IOException {
            while (true) {
                if (left == 0) {
                    if (done) {
                        return null;
                    }
                    String size = line(in);
                    if (size == null) {
                        done = true;
                        return null;
                    }
                    if (size.isEmpty()) {
                        continue;
                    }
                    left = Integer.parseInt(size.trim(), 16);
                    if (left == 0) {
                        done = true;
                        return null;
                    }
                }
                int c = in.read();
                if (c == -1) {
                    done = true;
                    return null;
                }
                left--;
                if (c == '\n') {
                    String s = pending.toString(StandardCharsets.UTF_8);
                    pending.reset();
                    return s;
                }
                pending.write(c);
            }
        }
    }
}
