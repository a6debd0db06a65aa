package dev.airlock.server;

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
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A stand-in for the daemon on a unix socket that answers every request with one canned HTTP
 * response, for the client's side of answers the real handler only gives with a running daemon
 * (the sandbox list, a run's NDJSON stream). It reads each request to its end before answering,
 * as the daemon does, so the client never sees a reset.
 */
final class CannedDaemon implements AutoCloseable {

    private final ServerSocketChannel server;
    private final Thread acceptor;
    /** The request line of each request served, in order. */
    final List<String> requests = new CopyOnWriteArrayList<>();

    private CannedDaemon(ServerSocketChannel server, String rawResponse) {
        this.server = server;
        this.acceptor = Thread.ofVirtual().name("canned-daemon").start(() -> {
            while (server.isOpen()) {
                SocketChannel ch;
                try {
                    ch = server.accept();
                } catch (IOException e) {
                    return; // closed
                }
                try (ch) {
                    serve(ch, rawResponse);
                } catch (IOException e) {
                    // this client went away (DaemonClient.ifRunning only connects): serve the next
                }
            }
        });
    }

    static CannedDaemon on(Path socket, String rawResponse) throws IOException {
        ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        s.bind(UnixDomainSocketAddress.of(socket));
        return new CannedDaemon(s, rawResponse);
    }

    /** A complete response with a JSON body. */
    static String json(int status, String body) {
        return "HTTP/1.1 " + status + " X\r\nContent-Type: application/json\r\nContent-Length: "
                + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body;
    }

    /** A chunked NDJSON response, one HTTP chunk per element of {@code chunks}. */
    static String ndjson(String... chunks) {
        StringBuilder b = new StringBuilder("HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (String c : chunks) {
            b.append(Integer.toHexString(c.getBytes(StandardCharsets.UTF_8).length)).append("\r\n").append(c).append("\r\n");
        }
        return b.append("0\r\n\r\n").toString();
    }

    private void serve(SocketChannel ch, String rawResponse) throws IOException {
        InputStream in = Channels.newInputStream(ch);
        String head = readHead(in);
        if (head.isEmpty()) {
            return; // a probe that connected and closed
        }
        requests.add(head.lines().findFirst().orElse(""));
        String lower = head.toLowerCase(Locale.ROOT);
        if (lower.contains("transfer-encoding: chunked")) {
            readUntilLastChunk(in);
        } else {
            int at = lower.indexOf("content-length:");
            if (at >= 0) {
                int end = lower.indexOf("\r\n", at);
                in.readNBytes(Integer.parseInt(lower.substring(at + 15, end).trim()));
            }
        }
        OutputStream out = Channels.newOutputStream(ch);
        out.write(rawResponse.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int c; (c = in.read()) != -1; ) {
            b.write(c);
            if (b.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
                break;
            }
        }
        return b.toString(StandardCharsets.US_ASCII);
    }

    private static void readUntilLastChunk(InputStream in) throws IOException {
        ByteArrayOutputStream tail = new ByteArrayOutputStream();
        for (int c; (c = in.read()) != -1; ) {
            tail.write(c);
            String s = tail.toString(StandardCharsets.US_ASCII);
            if (s.equals("0\r\n\r\n") || s.endsWith("\r\n0\r\n\r\n")) {
                return;
            }
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        try {
            acceptor.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
