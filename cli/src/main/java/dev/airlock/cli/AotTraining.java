package dev.airlock.cli;

import dev.airlock.server.DaemonClient;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The training run of the launcher's class cache (an AOT cache on JDK 25+): loads what the short
 * commands load, so that they start from the cache. It runs `policy explain` on the shipped
 * examples, prints two help pages, and does one pooled `run` against a stand-in daemon on a
 * temporary unix socket (a canned answer; no sandbox, no network). Its output is discarded.
 */
final class AotTraining {

    private AotTraining() {
    }

    public static void main(String[] args) throws Exception {
        Path examples = Path.of(args.length > 0 ? args[0] : "examples");
        PrintWriter sink = new PrintWriter(OutputStream.nullOutputStream());
        Main.run(sink, sink, "policy", "explain", "--policy", examples.resolve("airlock.yaml").toString(), "--org",
                examples.resolve("org.yaml").toString(), "--hosts", examples.resolve("hosts").toString(), "github.com");
        Main.run(sink, sink, "--help");
        Main.runCommandLine().setOut(sink).setErr(sink).execute("--help");
        Path dir = Files.createTempDirectory("alk-aot");
        Path socket = dir.resolve("daemon.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            Thread daemon = Thread.ofPlatform().start(() -> answer(server));
            PooledRun.attempt(DaemonClient.ifRunning(socket), examples.resolve("scratch.yaml"),
                    Optional.of(new DaemonClient.ColdWorkspace(dir, false)), List.of("true"), Map.of(),
                    new java.io.PrintStream(OutputStream.nullOutputStream()), true);
            daemon.join();
        } finally {
            Files.deleteIfExists(socket);
            Files.deleteIfExists(dir);
        }
    }

    /** A stand-in daemon: accepts the probe connection, then answers one run with a start, an output line and an exit. */
    private static void answer(ServerSocketChannel server) {
        try {
            server.accept().close(); // ifRunning's probe
            try (SocketChannel c = server.accept()) {
                InputStream in = Channels.newInputStream(c);
                // the whole request: its headers, the command line and the end of stdin ("0" chunk)
                StringBuilder seen = new StringBuilder();
                for (int b; !seen.toString().endsWith("\r\n0\r\n\r\n") && (b = in.read()) != -1; ) {
                    seen.append((char) b);
                }
                String body = "{\"sandbox\":\"alk00000000\",\"warm\":true,\"claimMs\":0.1}\n{\"stream\":\"stdout\",\"data\":\"\"}\n"
                        + "{\"exit\":0,\"summary\":\"\"}\n";
                String res = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + Integer.toHexString(body.length()) + "\r\n" + body
                        + "\r\n0\r\n\r\n";
                Channels.newOutputStream(c).write(res.getBytes(StandardCharsets.US_ASCII));
            }
        } catch (IOException e) {
            // training only: whatever was loaded by now is loaded
        }
    }
}
