package dev.airlock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The C client of the Debian package (packaging/client/airlock-client.c) against a stand-in
 * daemon on a unix socket that answers as server/ApiHandler does: the request it sends is the
 * Java client's, the answer's output, start line, summary and exit code come out as
 * cli/PooledRun prints them, and everything it does not do goes to the JVM launcher untouched.
 * Built with gcc; without gcc the tests skip, and fail with CI=true.
 */
class NativeClientTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path SOURCE = Path.of("..", "packaging", "client", "airlock-client.c");
    /** Stand-ins and stream readers get threads of their own: the common pool may have one thread, and a stand-in blocks. */
    private static final java.util.concurrent.ExecutorService THREADS = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();

    @TempDir
    static Path build;

    static Path client;

    @TempDir
    Path dir;

    @BeforeAll
    static void compile() throws Exception {
        client = compile(build);
    }

    /** The C client built into {@code dir}; without gcc the caller is skipped, and fails with CI=true. */
    static Path compile(Path dir) throws Exception {
        Path gcc = Path.of("/usr/bin/gcc");
        if (!Files.isExecutable(gcc)) {
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                Assertions.fail("the native client's tests need /usr/bin/gcc, and CI=true requires it (.ci/run installs it)");
            }
            Assumptions.abort("no /usr/bin/gcc: the native client is not built (with CI=true this fails instead)");
        }
        Path built = dir.resolve("airlock-client");
        Process p = new ProcessBuilder(gcc.toString(), "-O2", "-Wall", "-Wextra", "-Werror", "-o", built.toString(), SOURCE.toString())
                .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as("gcc: %s", log).isZero();
        return built;
    }

    /** What the client printed and returned. */
    record Result(int code, String out, String err) {
    }

    /** One request as the stand-in daemon read it: its head, its first body line (parsed), the rest of its body (stdin). */
    record Request(String head, JsonNode line, byte[] stdin) {
    }

    /** A launcher that says how it was called, then copies its stdin: the JVM's stand-in. */
    private Path launcher() throws IOException {
        Path l = dir.resolve("launcher");
        Files.writeString(l, "#!/bin/sh\necho \"launcher AIRLOCK_NO_CLIENT=$AIRLOCK_NO_CLIENT args: $*\"\ncat\n");
        Files.setPosixFilePermissions(l, PosixFilePermissions.fromString("rwx------"));
        return l;
    }

    private Result run(Path socket, String stdin, Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(client.toString(), launcher().toString()));
        cmd.addAll(List.of(args));
        return exec(cmd, socket, stdin, env);
    }

    private Result exec(List<String> cmd, Path socket, String stdin, Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
        pb.environment().clear();
        pb.environment().put("PATH", "/usr/bin:/bin");
        pb.environment().put("AIRLOCK_DAEMON_SOCKET", socket.toString());
        pb.environment().putAll(env);
        Process p = pb.start();
        CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()), THREADS);
        try (OutputStream in = p.getOutputStream()) {
            in.write(stdin.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            // the client need not read all of it
        }
        CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> readAll(p.getInputStream()), THREADS);
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            Assertions.fail("the client did not end within 30 s (a hang, not a timing claim)");
        }
        return new Result(p.exitValue(), new String(out.get(30, TimeUnit.SECONDS), StandardCharsets.UTF_8),
                new String(err.get(30, TimeUnit.SECONDS), StandardCharsets.UTF_8));
    }

    private static byte[] readAll(InputStream in) {
        try {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** A stand-in daemon for one connection: reads the head and first line, answers {@code head}, reads stdin to its end, then sends {@code rest}. */
    private CompletableFuture<Request> daemon(Path socket, String head, String rest) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        return CompletableFuture.supplyAsync(() -> {
            try (server; SocketChannel c = server.accept()) {
                InputStream in = Channels.newInputStream(c);
                OutputStream out = Channels.newOutputStream(c);
                StringBuilder h = new StringBuilder();
                for (String l; !(l = line(in)).isEmpty(); ) {
                    h.append(l).append('\n');
                }
                byte[] first = chunk(in);
                out.write(head.getBytes(StandardCharsets.UTF_8));
                out.flush();
                ByteArrayOutputStream stdin = new ByteArrayOutputStream();
                if (!rest.isEmpty()) {
                    for (byte[] b; (b = chunk(in)).length > 0; ) {
                        stdin.write(b);
                    }
                    out.write(rest.getBytes(StandardCharsets.UTF_8));
                }
                return new Request(h.toString(), JSON.readTree(first), stdin.toByteArray());
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, THREADS);
    }

    /**
     * A stand-in daemon for the session commands: answers {@code GET /v1/sandboxes} with {@code sandboxes}
     * on the first connection, then (unless {@code head} is null) serves one exec as {@link #daemon} does.
     */
    private CompletableFuture<Request> sessionDaemon(Path socket, String sandboxes, String head, String rest) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        return CompletableFuture.supplyAsync(() -> {
            try (server) {
                try (SocketChannel c = server.accept()) {
                    InputStream in = Channels.newInputStream(c);
                    String get = line(in);
                    while (!line(in).isEmpty()) {
                        // the rest of the head
                    }
                    assertThat(get).isEqualTo("GET /v1/sandboxes HTTP/1.1");
                    byte[] body = sandboxes.getBytes(StandardCharsets.UTF_8);
                    Channels.newOutputStream(c).write(("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: " + body.length
                            + "\r\n\r\n" + sandboxes).getBytes(StandardCharsets.UTF_8));
                }
                if (head == null) {
                    return null;
                }
                try (SocketChannel c = server.accept()) {
                    InputStream in = Channels.newInputStream(c);
                    OutputStream out = Channels.newOutputStream(c);
                    StringBuilder h = new StringBuilder();
                    for (String l; !(l = line(in)).isEmpty(); ) {
                        h.append(l).append('\n');
                    }
                    byte[] first = chunk(in);
                    out.write(head.getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    ByteArrayOutputStream stdin = new ByteArrayOutputStream();
                    for (byte[] b; (b = chunk(in)).length > 0; ) {
                        stdin.write(b);
                    }
                    out.write(rest.getBytes(StandardCharsets.UTF_8));
                    return new Request(h.toString(), JSON.readTree(first), stdin.toByteArray());
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, THREADS);
    }

    private static final String SESSIONS = "[{\"sandbox\":\"alk0000aaaa\",\"state\":\"claimed\",\"name\":\"fix-login\",\"project\":\"p\"},"
            + "{\"sandbox\":\"alk0000bbbb\",\"state\":\"claimed\",\"name\":null},"
            + "{\"sandbox\":\"alk1111cccc\",\"state\":\"ready\",\"name\":\"idle\",\"limits\":{\"cpu\":1}}]";

    private static String startAndExit(String sandbox, String output, int code) {
        return chunked("{\"sandbox\":\"" + sandbox + "\",\"workspace\":\"empty\"}", "{\"stream\":\"stdout\",\"data\":\"" + b64(output) + "\"}",
                "{\"exit\":" + code + "}") + "0\r\n\r\n";
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int c; (c = in.read()) != -1 && c != '\n'; ) {
            b.write(c);
        }
        String s = b.toString(StandardCharsets.US_ASCII);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }

    private static byte[] chunk(InputStream in) throws IOException {
        int n = Integer.parseInt(line(in).trim(), 16);
        byte[] b = in.readNBytes(n);
        line(in); // the CRLF after the data, or the last chunk's empty trailer
        return b;
    }

    /** An NDJSON answer in two HTTP chunks per line, split mid-line, as a stream may arrive. */
    private static String chunked(String... lines) {
        StringBuilder s = new StringBuilder();
        for (String l : lines) {
            String whole = l + "\n";
            int half = whole.length() / 2;
            for (String part : List.of(whole.substring(0, half), whole.substring(half))) {
                s.append(Integer.toHexString(part.length())).append("\r\n").append(part).append("\r\n");
            }
        }
        return s.toString();
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private static final String OK_HEAD = "HTTP/1.1 200 OK\r\ncontent-type: application/x-ndjson\r\ntransfer-encoding: chunked\r\n\r\n";

    @Test
    void run_sendsTheJavaClientsRequest_relaysStdin_printsOutputStartAndSummary_exitsWithTheCommandsCode() throws Exception {
        Path socket = dir.resolve("daemon.sock");
        Files.writeString(dir.resolve("airlock.yaml"), "version: 1\nproject: p\n");
        CompletableFuture<Request> seen = daemon(socket, OK_HEAD + chunked("{\"sandbox\":\"alk0123\",\"warm\":true,\"claimMs\":1.25}"),
                chunked("{\"stream\":\"stdout\",\"data\":\"" + b64("hello \"world\"\n") + "\"}",
                        "{\"stream\":\"stderr\",\"data\":\"" + b64("warning\n") + "\"}",
                        "{\"exit\":7,\"summary\":\"airlock: 1 attempt blocked \\u2014 see airlock log\\n\"}") + "0\r\n\r\n");

        Result r = run(socket, "line one\nline two\n", Map.of("TERM", "xterm", "LC_ALL", "C.UTF-8", "SECRET_TOKEN", "s3cret", "HOME", "/root"),
                "run", "--", "sh", "-c", "echo \"$1\"", "x y");

        Request req = seen.get(30, TimeUnit.SECONDS);
        assertThat(req.head()).startsWith("POST /v1/run HTTP/1.1\n").contains("Transfer-Encoding: chunked");
        assertThat(req.line().get("policy").asText()).isEqualTo(dir.toRealPath().resolve("airlock.yaml").toString());
        assertThat(req.line().get("command").toString()).isEqualTo("[\"sh\",\"-c\",\"echo \\\"$1\\\"\",\"x y\"]");
        assertThat(req.line().get("env").properties()).extracting(Map.Entry::getKey).as("terminal and locale variables only")
                .containsExactlyInAnyOrder("TERM", "LC_ALL");
        assertThat(req.line().get("env").get("LC_ALL").asText()).isEqualTo("C.UTF-8");
        assertThat(req.line().has("tty")).as("stdin is a pipe").isFalse();
        assertThat(new String(req.stdin(), StandardCharsets.UTF_8)).isEqualTo("line one\nline two\n");
        assertThat(r.out()).isEqualTo("hello \"world\"\n");
        assertThat(r.err()).isEqualTo("airlock: sandbox alk0123 from the daemon's pool (warm, claimed in 1.3 ms)\n"
                + "warning\nairlock: 1 attempt blocked \u2014 see airlock log\n");
        assertThat(r.code()).isEqualTo(7);
    }

    @Test
    void run_withEnv_passesNamedCallerValuesAndSetValues_overTheTerminalsOwn_withoutTheJvm() throws Exception {
        Path socket = dir.resolve("daemon.sock");
        Files.writeString(dir.resolve("airlock.yaml"), "version: 1\nproject: p\n");
        CompletableFuture<Request> seen = daemon(socket, OK_HEAD + chunked("{\"sandbox\":\"alk0123\",\"warm\":true,\"claimMs\":1}"),
                chunked("{\"exit\":0}") + "0\r\n\r\n");

        Result r = run(socket, "", Map.of("TERM", "xterm", "ANTHROPIC_API_KEY", "sk-test", "HOME", "/root", "OTHER_TOKEN", "t"),
                "run", "--env", "ANTHROPIC_API_KEY", "--env", "TERM=dumb", "--env=X=a=b", "--env", "NOT_SET", "--", "true");

        Request req = seen.get(30, TimeUnit.SECONDS);
        assertThat(req.line().get("env").toString()).as("as runtime/CallerEnvironment selects: NAME copies, NAME=VALUE sets, later wins")
                .isEqualTo("{\"ANTHROPIC_API_KEY\":\"sk-test\",\"TERM\":\"dumb\",\"X\":\"a=b\"}");
        assertThat(r.out()).as("no hand-over to the launcher").doesNotContain("launcher");
        assertThat(r.code()).isZero();
    }

    @Test
    void run_startLineNamesAColdClaimAndTheWorkspace() throws Exception {
        Path socket = dir.resolve("daemon.sock");
        Files.writeString(dir.resolve("p.yaml"), "version: 1\n");
        daemon(socket, OK_HEAD + chunked("{\"sandbox\":\"alk9\",\"warm\":false,\"claimMs\":250.0,\"behind\":2,\"behindAtStart\":3}"),
                chunked("{\"exit\":0,\"summary\":\"\"}") + "0\r\n\r\n");

        Result r = run(socket, "", Map.of(), "run", "--policy", "p.yaml", "--", "true");

        assertThat(r.err()).isEqualTo("airlock: sandbox alk9 from the daemon's pool (cold, claimed in 250.0 ms;"
                + " workspace 3 commit(s) behind HEAD, caught up 2 commit(s))\n");
        assertThat(r.code()).isZero();
    }

    @Test
    void run_sendsTheCallersDirectory_forAPolicyTheDaemonDoesNotPool_andSaysNothingAtAColdStart() throws Exception {
        Path socket = dir.resolve("daemon.sock");
        Files.writeString(dir.resolve("airlock.yaml"), "version: 1\n");
        CompletableFuture<Request> seen = daemon(socket, OK_HEAD + chunked("{\"sandbox\":\"alk7\",\"cold\":true,\"prepareMs\":40.0,"
                + "\"workspace\":\"/w\"}"), chunked("{\"exit\":3,\"summary\":\"\"}") + "0\r\n\r\n");

        Result r = run(socket, "", Map.of(), "run", "--", "true");

        Request req = seen.get(30, TimeUnit.SECONDS);
        assertThat(req.line().get("workspace").asText()).as("where a cold run would work").isEqualTo(dir.toRealPath().toString());
        assertThat(req.line().has("cold")).as("the pool's when it pools the policy").isFalse();
        assertThat(r.err()).as("as a cold run, no start line").isEmpty();
        assertThat(r.code()).isEqualTo(3);
    }

    @Test
    void run_underSudo_sendsTheSudoCallerAsWhoTheRunRunsAs() throws Exception {
        Path socket = dir.resolve("daemon.sock");
        Files.writeString(dir.resolve("airlock.yaml"), "version: 1\n");
        CompletableFuture<Request> seen = daemon(socket, OK_HEAD + chunked("{\"sandbox\":\"alk7\",\"cold\":true}"),
                chunked("{\"exit\":0,\"summary\":\"\"}") + "0\r\n\r\n");

        Result r = run(socket, "", Map.of("SUDO_UID", "4242", "SUDO_GID", "4243"), "run", "--", "true");

        Request req = seen.get(30, TimeUnit.SECONDS);
        assertThat(req.line().get("sudoUid").asInt()).isEqualTo(4242);
        assertThat(req.line().get("sudoGid").asInt()).isEqualTo(4243);
        assertThat(r.code()).isZero();
    }

    @Test
    void run_withoutAUsableSudoCaller_sendsNoUser_theDaemonRunsItAsNobody() throws Exception {
        Path socket = dir.resolve("daemon.sock");
        Files.writeString(dir.resolve("airlock.yaml"), "version: 1\n");
        List<Map<String, String>> envs = List.of(Map.of(), Map.of("SUDO_UID", "0", "SUDO_GID", "0"),
                Map.of("SUDO_UID", "12x", "SUDO_GID", "1000"), Map.of("SUDO_UID", "1000"), Map.of("SUDO_UID", "1234567890", "SUDO_GID", "1"));
        for (Map<String, String> env : envs) {
            Files.deleteIfExists(socket); // the last fake daemon's
            CompletableFuture<Request> seen = daemon(socket, OK_HEAD + chunked("{\"sandbox\":\"alk7\",\"cold\":true}"),
                    chunked("{\"exit\":0,\"summary\":\"\"}") + "0\r\n\r\n");

            Result r = run(socket, "", env, "run", "--", "true");

            Request req = seen.get(30, TimeUnit.SECONDS);
            assertThat(req.line().has("sudoUid") || req.line().has("sudoGid")).as(env.toString()).isFalse();
            assertThat(req.line().has("workspace")).as("the same request otherwise").isTrue();
            assertThat(r.code()).isZero();
        }
    }

    @Test
    void run_withWorkspace_asksForACold_runInThatDirectory() throws Exception {
        Path socket = dir.resolve("daemon.sock");
        Files.writeString(dir.resolve("airlock.yaml"), "version: 1\n");
        Files.createDirectories(dir.resolve("elsewhere"));
        CompletableFuture<Request> seen = daemon(socket, OK_HEAD + chunked("{\"sandbox\":\"alk7\",\"cold\":true}"),
                chunked("{\"exit\":0,\"summary\":\"\"}") + "0\r\n\r\n");

        Result r = run(socket, "", Map.of(), "run", "--workspace", "elsewhere/../elsewhere", "--", "true");

        Request req = seen.get(30, TimeUnit.SECONDS);
        assertThat(req.line().get("workspace").asText()).isEqualTo(dir.toRealPath().resolve("elsewhere").toString());
        assertThat(req.line().get("cold").asBoolean()).as("never the pool's workspace").isTrue();
        assertThat(r.code()).isZero();
    }

    @Test
    void run_whenTheDaemonDoesNotPoolThePolicy_handsEverythingToTheLauncher_stdinUnread() throws Exception {
        Path socket = dir.resolve("daemon.sock");
        Files.writeString(dir.resolve("airlock.yaml"), "version: 1\n");
        String body = "{\"error\":\"no pooled project has the policy x\",\"notPooled\":true}";
        CompletableFuture<Request> seen = daemon(socket, "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: "
                + body.length() + "\r\n\r\n" + body, "");

        Result r = run(socket, "kept for the JVM\n", Map.of(), "run", "--", "true");

        assertThat(seen.get(30, TimeUnit.SECONDS).line().get("command").get(0).asText()).as("it asked the daemon first").isEqualTo("true");
        assertThat(r.out()).isEqualTo("launcher AIRLOCK_NO_CLIENT=1 args: run -- true\nkept for the JVM\n");
        assertThat(r.err()).isEmpty();
        assertThat(r.code()).isZero();
    }

    @Test
    void run_whenTheDaemonRefuses_saysItsError_andExits125() throws Exception {
        Path socket = dir.resolve("daemon.sock");
        Files.writeString(dir.resolve("airlock.yaml"), "version: 1\n");
        String body = "{\"error\":\"pool p is at its hard limit (8). Fix: raise hardLimit\"}";
        daemon(socket, "HTTP/1.1 409 Conflict\r\ncontent-length: " + body.length() + "\r\n\r\n" + body, "");

        Result r = run(socket, "", Map.of(), "run", "--", "true");

        assertThat(r.err()).isEqualTo("airlock: pool p is at its hard limit (8). Fix: raise hardLimit\n");
        assertThat(r.code()).isEqualTo(125);
    }

    @Test
    void run_whenTheDaemonEndsWithoutAnExitLine_exits125() throws Exception {
        Path socket = dir.resolve("daemon.sock");
        Files.writeString(dir.resolve("airlock.yaml"), "version: 1\n");
        daemon(socket, OK_HEAD + chunked("{\"sandbox\":\"alk1\",\"warm\":true,\"claimMs\":0.5}"), "0\r\n\r\n");

        Result r = run(socket, "", Map.of(), "run", "--", "true");

        assertThat(r.err()).endsWith("airlock: the daemon ended the run without an exit code (did it stop?). Fix: see its log.\n");
        assertThat(r.code()).isEqualTo(125);
    }

    @Test
    void run_onATerminal_asksForOne_sendsKeysRawAndResizes_restoresTheTerminal() throws Exception {
        Path setsid = Path.of("/usr/bin/setsid");
        assertThat(setsid).as("util-linux setsid, to give the client the terminal").isExecutable();
        Path socket = dir.resolve("daemon.sock");
        Files.writeString(dir.resolve("airlock.yaml"), "version: 1\n");
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        // the stand-in: the start line at once, then frames until a resize, then the end
        CompletableFuture<Request> seen = CompletableFuture.supplyAsync(() -> {
            try (server; SocketChannel c = server.accept()) {
                InputStream in = Channels.newInputStream(c);
                OutputStream out = Channels.newOutputStream(c);
                StringBuilder h = new StringBuilder();
                for (String l; !(l = line(in)).isEmpty(); ) {
                    h.append(l).append('\n');
                }
                byte[] first = chunk(in);
                out.write((OK_HEAD + chunked("{\"sandbox\":\"alk7\",\"warm\":true,\"claimMs\":0.5}")).getBytes(StandardCharsets.UTF_8));
                out.flush();
                StringBuilder frames = new StringBuilder();
                while (!frames.toString().contains("resize")) {
                    byte[] b = chunk(in);
                    if (b.length == 0) {
                        break;
                    }
                    frames.append(new String(b, StandardCharsets.US_ASCII));
                }
                out.write((chunked("{\"stream\":\"stdout\",\"data\":\"" + b64("done\r\n") + "\"}", "{\"exit\":3,\"summary\":\"\"}")
                        + "0\r\n\r\n").getBytes(StandardCharsets.UTF_8));
                return new Request(h.toString(), JSON.readTree(first), frames.toString().getBytes(StandardCharsets.US_ASCII));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, THREADS);
        try (HostPty pty = HostPty.open(30, 100)) {
            ProcessBuilder pb = new ProcessBuilder(setsid.toString(), "--ctty", "--wait", client.toString(), launcher().toString(), "run", "--", "sh")
                    .directory(dir.toFile()).redirectInput(ProcessBuilder.Redirect.from(pty.terminal()))
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(pty.terminal())).redirectError(ProcessBuilder.Redirect.appendTo(pty.terminal()));
            pb.environment().put("AIRLOCK_DAEMON_SOCKET", socket.toString());
            pb.environment().remove("AIRLOCK_NO_CLIENT");
            Process p = pb.start();
            try {
                java.time.Duration deadline = java.time.Duration.ofSeconds(30);
                pty.await(0, "from the daemon's pool \\(warm, claimed in 0\\.5 ms\\)\r\n", deadline);
                pty.type("ab"); // no newline: only a raw terminal passes it on now
                Thread.sleep(200);
                pty.resize(40, 120);

                Request req = seen.get(30, TimeUnit.SECONDS);
                assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
                assertThat(p.exitValue()).isEqualTo(3);
                assertThat(req.line().get("tty").toString()).isEqualTo("{\"rows\":30,\"cols\":100}");
                String frames = new String(req.stdin(), StandardCharsets.US_ASCII);
                assertThat(frames).contains("{\"stdin\":\"" + b64("ab") + "\"}\n").endsWith("{\"resize\":[40,120]}\n");
                pty.await(0, "done\r\n", deadline);
                Process stty = new ProcessBuilder("stty", "-a").redirectInput(ProcessBuilder.Redirect.from(pty.terminal())).start();
                String settings = new String(stty.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(settings).as("the terminal is back to cooked mode").containsPattern("(^|\\s)icanon(\\s|$)").containsPattern("(^|\\s)echo(\\s|$)");
            } finally {
                p.destroyForcibly();
            }
        }
    }

    @Test
    void everythingButThePlainPooledRun_goesToTheLauncherWithoutConnecting() throws Exception {
        Path socket = dir.resolve("daemon.sock");
        Files.writeString(dir.resolve("airlock.yaml"), "version: 1\n");
        Files.writeString(dir.resolve("env.yaml"), "version: 1\nenv: [API_KEY]\n");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            server.configureBlocking(false);
            List<List<String>> handed = List.of(
                    List.of("policy", "check"),
                    List.of("run", "--env", "1BAD", "--", "true"),
                    List.of("run", "--env", "MY-VAR", "--", "true"),
                    List.of("run", "--env=", "--", "true"),
                    List.of("run", "--env", "=x", "--", "true"),
                    List.of("run", "--no-daemon", "--", "true"),
                    List.of("run", "--policy", "env.yaml", "--", "true"),
                    List.of("run", "--policy", "missing.yaml", "--", "true"),
                    List.of("run", "true"),
                    List.of("run", "--"));
            for (List<String> args : handed) {
                Result r = run(socket, "", Map.of(), args.toArray(String[]::new));
                assertThat(r.out()).as("%s", args).isEqualTo("launcher AIRLOCK_NO_CLIENT=1 args: " + String.join(" ", args) + "\n");
                assertThat(server.accept()).as("%s: no connection to the daemon", args).isNull();
            }
            // the positive control: the plain form does connect
            CompletableFuture<Result> plain = CompletableFuture.supplyAsync(() -> {
                try {
                    return run(socket, "", Map.of(), "run", "--", "true");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, THREADS);
            SocketChannel c = null;
            for (int i = 0; i < 300 && c == null; i++) {
                c = server.accept();
                Thread.sleep(10);
            }
            assertThat(c).as("the plain form connected").isNotNull();
            c.close();
            assertThat(plain.get(30, TimeUnit.SECONDS).code()).isEqualTo(125);
        }
        Files.delete(socket);
        Result none = run(socket, "", Map.of(), "run", "--", "true");
        assertThat(none.out()).as("no socket").isEqualTo("launcher AIRLOCK_NO_CLIENT=1 args: run -- true\n");
    }

    // ./airlock in a clone: the launcher builds the client into cli/target on first use and runs it
    // for `airlock run`, handing back to its JVM path as the package's launcher does.

    /** A copy of the repository's launcher and client source, with a stand-in for the JVM path (scripts/java-env.sh, which it sources first). */
    private Path clone(String clientSource) throws IOException {
        Path tree = dir.resolve("clone");
        Files.createDirectories(tree.resolve("packaging/client"));
        Files.createDirectories(tree.resolve("scripts"));
        Files.copy(Path.of("..", "airlock"), tree.resolve("airlock"));
        Files.writeString(tree.resolve("packaging/client/airlock-client.c"), clientSource);
        Files.writeString(tree.resolve("scripts/java-env.sh"), "echo \"jvm AIRLOCK_NO_CLIENT=${AIRLOCK_NO_CLIENT:-} args: $*\"\nexit 0\n");
        return tree;
    }

    @Test
    void launcher_run_buildsTheClientOnFirstUse_andRunsThroughTheDaemonWithoutTheJvm() throws Exception {
        Path tree = clone(Files.readString(SOURCE));
        Path socket = dir.resolve("daemon.sock");
        Files.writeString(dir.resolve("airlock.yaml"), "version: 1\n");
        CompletableFuture<Request> seen = daemon(socket, OK_HEAD + chunked("{\"sandbox\":\"alk1\",\"warm\":true,\"claimMs\":0.4}"),
                chunked("{\"exit\":4,\"summary\":\"\"}") + "0\r\n\r\n");

        Result r = exec(List.of(tree.resolve("airlock").toString(), "run", "--", "true"), socket, "", Map.of());

        assertThat(seen.get(30, TimeUnit.SECONDS).line().get("command").toString()).isEqualTo("[\"true\"]");
        assertThat(r.out()).as("the JVM path did not run").isEmpty();
        assertThat(r.err()).isEqualTo("airlock: sandbox alk1 from the daemon's pool (warm, claimed in 0.4 ms)\n");
        assertThat(r.code()).isEqualTo(4);
        assertThat(tree.resolve("cli/target/airlock-client")).isExecutable();
    }

    @Test
    void launcher_run_whatTheClientDoesNotDo_goesToTheJvmPath_asThePackageDoes() throws Exception {
        Path tree = clone(Files.readString(SOURCE));
        Path noSocket = dir.resolve("none.sock");

        Result cold = exec(List.of(tree.resolve("airlock").toString(), "run", "--", "true"), noSocket, "", Map.of());
        Result other = exec(List.of(tree.resolve("airlock").toString(), "--version"), noSocket, "", Map.of());

        assertThat(cold.out()).as("no daemon: handed back").isEqualTo("jvm AIRLOCK_NO_CLIENT=1 args: run -- true\n");
        assertThat(tree.resolve("cli/target/airlock-client")).as("built for the run").isExecutable();
        assertThat(other.out()).as("not `run`: the JVM, without the client").isEqualTo("jvm AIRLOCK_NO_CLIENT= args: --version\n");
        assertThat(cold.err() + other.err()).isEmpty();
    }

    @Test
    void launcher_run_whenTheClientDoesNotBuild_warnsWithGccsOutput_andRunsTheJvm() throws Exception {
        Path tree = clone("int main(void) { return not_declared; }\n");

        Result r = exec(List.of(tree.resolve("airlock").toString(), "run", "--", "true"), dir.resolve("none.sock"), "", Map.of());

        assertThat(r.out()).isEqualTo("jvm AIRLOCK_NO_CLIENT= args: run -- true\n");
        assertThat(r.err()).startsWith("airlock: warning: the C client did not build (the JVM runs this instead); gcc said:\n")
                .contains("not_declared");
        assertThat(tree.resolve("cli/target/airlock-client")).doesNotExist();
        assertThat(r.code()).isZero();
    }

    /**
     * The launcher's JVM path in a clone whose jar `./test` built (no AOT cache trained beside it):
     * it must still start the JVM. The class cache is used only when present.
     */
    @Test
    void launcher_jvmPath_withoutAnAotCache_startsTheJvm_andUsesTheCacheOnlyWhenPresent() throws Exception {
        Path tree = dir.resolve("jvm-clone");
        Files.createDirectories(tree.resolve("scripts"));
        Files.createDirectories(tree.resolve("cli/target"));
        Files.copy(Path.of("..", "airlock"), tree.resolve("airlock"));
        Files.copy(Path.of("..", "scripts", "jvm-opts.sh"), tree.resolve("scripts/jvm-opts.sh"));
        Path java = Files.writeString(tree.resolve("fake-java"), "#!/bin/sh\necho \"java $*\"\n");
        java.toFile().setExecutable(true);
        Files.writeString(tree.resolve("scripts/java-env.sh"),
                "airlock_find_java() { JAVA=" + java + "; JAVA_FEATURE=25; JAVA_HOME_FOUND=" + tree + "; }\n");
        Files.writeString(tree.resolve("cli/target/airlock.jar"), "jar");

        Result withoutCache = exec(List.of(tree.resolve("airlock").toString(), "demo"), dir.resolve("none.sock"), "", Map.of());
        Files.writeString(tree.resolve("cli/target/airlock.aot"), "cache");
        Result withCache = exec(List.of(tree.resolve("airlock").toString(), "demo"), dir.resolve("none.sock"), "", Map.of());

        assertThat(withoutCache.code()).as(withoutCache.err()).isZero();
        assertThat(withoutCache.out()).startsWith("java ").endsWith("-jar " + tree.resolve("cli/target/airlock.jar") + " demo\n")
                .doesNotContain("AOTCache");
        assertThat(withCache.out()).contains("-XX:AOTCache=" + tree.resolve("cli/target/airlock.aot"));
        // native libraries are unpacked beside the jar, not in java.io.tmpdir (which may be noexec)
        Path work = tree.resolve("cli/target/native-work");
        assertThat(withoutCache.out()).contains("-Dio.netty.native.workdir=" + work, "-Dorg.sqlite.tmpdir=" + work, "-Djna.tmpdir=" + work);
        assertThat(work).isDirectory();
    }

    @Test
    void sandboxExec_findsTheSessionByName_sendsCommandAndEnv_stdinNotRead_withoutI() throws Exception {
        Path socket = dir.resolve("daemon.sock");
        CompletableFuture<Request> seen = sessionDaemon(socket, SESSIONS, OK_HEAD, startAndExit("alk0000aaaa", "on branch main\n", 6));

        Result r = run(socket, "not for the command\n", Map.of("TERM", "xterm", "LANG", "C", "HOME", "/root"),
                "sandbox", "exec", "-e", "FOO=a b", "--env=LANG=C.UTF-8", "fix-login", "--", "git", "status");

        Request req = seen.get(30, TimeUnit.SECONDS);
        assertThat(req.head()).startsWith("POST /v1/sandboxes/alk0000aaaa/exec HTTP/1.1\n");
        assertThat(req.line().get("command").toString()).isEqualTo("[\"git\",\"status\"]");
        assertThat(req.line().get("env").toString()).as("terminal variables, then --env over them")
                .isEqualTo("{\"TERM\":\"xterm\",\"FOO\":\"a b\",\"LANG\":\"C.UTF-8\"}");
        assertThat(req.line().has("tty")).isFalse();
        assertThat(req.stdin()).as("without -i the command reads end-of-file").isEmpty();
        assertThat(r.out()).isEqualTo("on branch main\n");
        assertThat(r.err()).as("no pool start line for a session").isEmpty();
        assertThat(r.code()).isEqualTo(6);
    }

    @Test
    void sandboxExec_i_relaysStdin_toTheSessionAnIdPrefixNames() throws Exception {
        Path socket = dir.resolve("daemon.sock");
        CompletableFuture<Request> seen = sessionDaemon(socket, SESSIONS, OK_HEAD, startAndExit("alk0000bbbb", "", 0));

        Result r = run(socket, "data\n", Map.of(), "sandbox", "exec", "-i", "alk0000b", "--", "sh", "-c", "cat > input.txt");

        Request req = seen.get(30, TimeUnit.SECONDS);
        assertThat(req.head()).startsWith("POST /v1/sandboxes/alk0000bbbb/exec HTTP/1.1\n");
        assertThat(new String(req.stdin(), StandardCharsets.UTF_8)).isEqualTo("data\n");
        assertThat(r.code()).isZero();
    }

    @Test
    void sandboxExec_whenNoClaimedSessionMatches_saysSo_andExits125() throws Exception {
        Path socket = dir.resolve("daemon.sock");
        sessionDaemon(socket, SESSIONS, null, null);

        Result r = run(socket, "", Map.of(), "sandbox", "exec", "idle", "--", "true");

        assertThat(r.err()).as("a ready (unclaimed) sandbox is no session").isEqualTo("airlock: no session idle; see `airlock sandbox list`\n");
        assertThat(r.out()).isEmpty();
        assertThat(r.code()).isEqualTo(125);
    }

    @Test
    void sandboxAttach_saysWhatItOpens_runsTheLoginShell_withStdin() throws Exception {
        Path socket = dir.resolve("daemon.sock");
        CompletableFuture<Request> seen = sessionDaemon(socket, SESSIONS, OK_HEAD, startAndExit("alk0000aaaa", "$ ", 0));

        Result r = run(socket, "exit\n", Map.of(), "sandbox", "attach", "alk0000aaaa");

        Request req = seen.get(30, TimeUnit.SECONDS);
        assertThat(req.line().get("command").toString()).isEqualTo(JSON.writeValueAsString(SandboxAttachCommand.LOGIN_SHELL));
        assertThat(new String(req.stdin(), StandardCharsets.UTF_8)).isEqualTo("exit\n");
        assertThat(r.err()).isEqualTo("airlock: a new shell in session alk0000aaaa; `exit` or Ctrl-D leaves it (the session stays,"
                + " `airlock sandbox stop alk0000aaaa` ends it)\n");
        assertThat(r.out()).isEqualTo("$ ");
    }

    @Test
    void sandbox_whatTheClientDoesNotDo_goesToTheLauncherUntouched() throws Exception {
        Path socket = dir.resolve("daemon.sock");
        for (List<String> args : List.of(List.of("sandbox", "list"), List.of("sandbox", "exec", "--help"), List.of("sandbox", "exec", "s"),
                List.of("sandbox", "exec", "-x", "s", "--", "true"), List.of("sandbox", "exec", "-e", "NOEQUALS", "s", "--", "true"),
                List.of("sandbox", "attach", "s", "extra"), List.of("sandbox", "attach", "--help"))) {
            Result r = run(socket, "", Map.of(), args.toArray(String[]::new));
            assertThat(r.out()).as("%s", args).isEqualTo("launcher AIRLOCK_NO_CLIENT=1 args: " + String.join(" ", args) + "\n");
        }
        sessionDaemon(socket, SESSIONS, null, null);
        Result ambiguous = run(socket, "", Map.of(), "sandbox", "exec", "alk0000", "--", "true");
        assertThat(ambiguous.out()).as("an ambiguous prefix: the JVM lists the candidates")
                .isEqualTo("launcher AIRLOCK_NO_CLIENT=1 args: sandbox exec alk0000 -- true\n");
    }
}
