package dev.airlock.k8s;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A stand-in for a node's kubelet, for tests against the real kube-apiserver (no kubelet or
 * container runtime runs there): an HTTPS server with a certificate made in memory that serves the
 * kubelet's streaming exec endpoint, {@code /exec/NAMESPACE/POD/CONTAINER?command=…&input=1&
 * output=1&error=1&tty=1} (the query the API server sends), upgraded to a WebSocket speaking
 * {@code v4.channel.k8s.io}: each binary message starts with its channel (0 stdin, 1 stdout,
 * 2 stderr, 3 the final Status, 4 a resize as {@code {"Width":W,"Height":H}}).
 *
 * <p><b>It is not a container runtime.</b> The command runs on this host with
 * {@link ProcessBuilder} in a temporary directory of this kubelet, as the test's user, with no
 * namespace, cgroup or image: it proves the daemon's path through the API server (RBAC, the
 * upgrade, channels, exit codes), never what a real kubelet or CRI does with the command. With
 * {@code tty=1} the command gets a real terminal from util-linux {@code script} (so
 * {@code test -t 0} holds and its output is one stream); the window sizes the client sends are
 * recorded, not applied. What the pod's init container puts at {@code /airlock/bin} (the stdin relay,
 * {@link AgentPods#RELAY_DIR}) is this host's {@link AirlockExecBinary}: a command whose path starts
 * with {@code /airlock/bin/} runs the built relay from there, as the pod's mount would give it; the
 * recorded {@link Exec#command()} is the path as sent. The API server verifies no kubelet certificate when it runs without
 * {@code --kubelet-certificate-authority} ({@link ControlPlane} does), so the self-signed one passes.
 */
public final class FakeKubelet implements AutoCloseable {

    /** One exec request as the kubelet received it from the API server. */
    public record Exec(String namespace, String pod, String container, List<String> command, boolean stdin, boolean tty,
            List<String> resizes) {
    }

    private static final String PROTOCOL = "v4.channel.k8s.io";

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Channel server;
    private final Path workdir;
    /** What a pod has at {@link AgentPods#RELAY_DIR}. */
    private final Path relayDir;
    private final List<Exec> execs = new CopyOnWriteArrayList<>();
    private final List<Process> processes = new CopyOnWriteArrayList<>();

    private FakeKubelet(SslContext tls, Path workdir, Path relayDir) throws InterruptedException {
        this.workdir = workdir;
        this.relayDir = relayDir;
        this.server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(tls.newHandler(ch.alloc()), new HttpServerCodec(), new HttpObjectAggregator(64 * 1024),
                                new Connection());
                    }
                }).bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
    }

    /** Listens on 127.0.0.1, a free port; builds the relay first (skipped without gcc, failing with CI=true). */
    public static FakeKubelet start() throws Exception {
        Path relayDir = AirlockExecBinary.directory();
        X509Bundle cert = new CertificateBuilder().subject("CN=alk-fake-kubelet").addSanIpAddress("127.0.0.1").setIsCertificateAuthority(true).ecp256().buildSelfSigned();
        SslContext tls = SslContextBuilder.forServer(cert.toKeyManagerFactory()).build();
        return new FakeKubelet(tls, Files.createTempDirectory("alk-kubelet-"), relayDir);
    }

    public int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    /** Every exec received, in order. */
    public List<Exec> execs() {
        return List.copyOf(execs);
    }

    /** One HTTP connection: an exec upgrade, or 404 for anything else a kubelet serves. */
    private final class Connection extends SimpleChannelInboundHandler<Object> {
        private WebSocketServerHandshaker handshaker;
        private Process process;
        private OutputStream stdin;
        private Exec exec;
        /** Frames that came before the command started (event loop only). */
        private final List<BinaryWebSocketFrame> early = new ArrayList<>();

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, Object msg) throws Exception {
            if (msg instanceof FullHttpRequest req) {
                upgrade(ctx, req);
            } else if (msg instanceof CloseWebSocketFrame) {
                ctx.close();
            } else if (msg instanceof BinaryWebSocketFrame f) {
                if (process == null) {
                    // the client may write before the command started: a kubelet keeps it for the command, as here
                    early.add(f.retain());
                } else {
                    frame(f);
                }
            }
        }

        private void upgrade(ChannelHandlerContext ctx, FullHttpRequest req) throws IOException {
            QueryStringDecoder q = new QueryStringDecoder(req.uri());
            String[] parts = q.path().split("/");
            if (parts.length != 5 || !parts[1].equals("exec")) {
                ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NOT_FOUND)).addListener(c -> ctx.close());
                return;
            }
            Map<String, List<String>> p = q.parameters();
            boolean tty = flag(p, "tty");
            boolean in = flag(p, "input");
            exec = new Exec(parts[2], parts[3], parts[4], List.copyOf(p.getOrDefault("command", List.of())), in, tty, new CopyOnWriteArrayList<>());
            execs.add(exec);
            handshaker = new WebSocketServerHandshakerFactory("wss://127.0.0.1" + req.uri(), PROTOCOL, false, 1 << 20).newHandshaker(req);
            if (handshaker == null) {
                WebSocketServerHandshakerFactory.sendUnsupportedVersionResponse(ctx.channel());
                return;
            }
            handshaker.handshake(ctx.channel(), req).addListener(done -> {
                if (done.isSuccess()) {
                    run(ctx);
                }
            });
        }

        private void run(ChannelHandlerContext ctx) {
            List<String> command = new ArrayList<>(exec.command());
            String mounted = AgentPods.RELAY_DIR + "/";
            if (!command.isEmpty() && command.get(0).startsWith(mounted)) {
                command.set(0, relayDir.resolve(command.get(0).substring(mounted.length())).toString());
            }
            List<String> argv = new ArrayList<>();
            if (exec.tty()) {
                // a real terminal for the command: script(1) runs it on a new pty, -e passes its exit code
                argv.addAll(List.of("script", "-q", "-e", "-c", shellQuoted(command), "/dev/null"));
            } else {
                argv.addAll(command);
            }
            try {
                process = new ProcessBuilder(argv).directory(workdir.toFile()).redirectErrorStream(exec.tty()).start();
            } catch (IOException e) {
                status(ctx, "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"" + e.getMessage().replace("\"", "'") + "\",\"reason\":\"InternalError\"}");
                early.forEach(BinaryWebSocketFrame::release);
                early.clear();
                return;
            }
            processes.add(process);
            stdin = process.getOutputStream();
            if (!exec.stdin()) {
                try {
                    stdin.close(); // no input=1: the command reads end-of-file, as from a runtime's closed stdin
                } catch (IOException e) {
                    // already gone
                }
            }
            for (BinaryWebSocketFrame f : early) {
                try {
                    frame(f);
                } finally {
                    f.release();
                }
            }
            early.clear();
            Thread out = Thread.ofPlatform().daemon().start(() -> pump(ctx, process.getInputStream(), 1));
            Thread err = exec.tty() ? null : Thread.ofPlatform().daemon().start(() -> pump(ctx, process.getErrorStream(), 2));
            Thread.ofPlatform().daemon().start(() -> {
                try {
                    int code = process.waitFor();
                    out.join();
                    if (err != null) {
                        err.join();
                    }
                    status(ctx, code == 0 ? "{\"metadata\":{},\"status\":\"Success\"}"
                            : "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated with non-zero exit code: exit status " + code
                                    + "\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"" + code + "\"}]}}");
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }

        private void frame(BinaryWebSocketFrame f) {
            ByteBuf b = f.content();
            if (!b.isReadable()) {
                return;
            }
            int channel = b.readByte();
            byte[] data = new byte[b.readableBytes()];
            b.readBytes(data);
            try {
                if (channel == 0) {
                    stdin.write(data);
                    stdin.flush();
                } else if (channel == 4) {
                    exec.resizes().add(new String(data, StandardCharsets.UTF_8));
                }
            } catch (IOException e) {
                // the command closed its stdin
            }
        }

        private void pump(ChannelHandlerContext ctx, InputStream in, int channel) {
            byte[] buf = new byte[8192];
            try {
                for (int n; (n = in.read(buf)) > 0; ) {
                    ByteBuf msg = Unpooled.buffer(n + 1).writeByte(channel).writeBytes(buf, 0, n);
                    ctx.writeAndFlush(new BinaryWebSocketFrame(msg)).sync();
                }
            } catch (IOException | InterruptedException e) {
                // the command ended, or the connection did
            }
        }

        private void status(ChannelHandlerContext ctx, String json) {
            byte[] b = json.getBytes(StandardCharsets.UTF_8);
            ctx.writeAndFlush(new BinaryWebSocketFrame(Unpooled.buffer(b.length + 1).writeByte(3).writeBytes(b)));
            ctx.writeAndFlush(new CloseWebSocketFrame(1000, "")).addListener(c -> ctx.close());
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            // the client went away (its exec was cancelled): the command dies with it, as with a real kubelet's tty
            if (process != null && process.isAlive()) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    private static boolean flag(Map<String, List<String>> p, String name) {
        List<String> v = p.get(name);
        return v != null && !v.isEmpty() && (v.get(0).equals("1") || v.get(0).equals("true"));
    }

    private static String shellQuoted(List<String> argv) {
        StringBuilder b = new StringBuilder("exec");
        for (String a : argv) {
            b.append(" '").append(a.replace("'", "'\\''")).append('\'');
        }
        return b.toString();
    }

    @Override
    public void close() throws Exception {
        for (Process p : processes) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        server.close().sync();
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).sync();
        try (var walk = Files.walk(workdir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }
}
