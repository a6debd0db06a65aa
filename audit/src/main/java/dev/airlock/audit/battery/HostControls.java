package dev.airlock.audit.battery;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The targets the audit itself puts on the host, and the positive controls that prove them
 * reachable without Airlock: a TCP listener on every host address, one on the host's loopback, and
 * a UDP responder. Each answers with a per-run marker, so "reached" is never a coincidence. Closed
 * with the audit; only its own sockets and threads.
 */
final class HostControls implements AutoCloseable {

    private static final int TIMEOUT_MS = 3000;

    private final String marker;
    private final ServerSocket any;
    private final ServerSocket loopback;
    private final DatagramSocket udp;

    private HostControls(String marker, ServerSocket any, ServerSocket loopback, DatagramSocket udp) {
        this.marker = marker;
        this.any = any;
        this.loopback = loopback;
        this.udp = udp;
    }

    public static HostControls start() throws IOException {
        byte[] nonce = new byte[8];
        ThreadLocalRandom.current().nextBytes(nonce);
        String marker = "ALK-CONTROL-" + HexFormat.of().formatHex(nonce);
        ServerSocket any = new ServerSocket();
        any.bind(new InetSocketAddress(InetAddress.getByName("0.0.0.0"), 0));
        ServerSocket lo = new ServerSocket();
        lo.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        DatagramSocket udp = new DatagramSocket(new InetSocketAddress(InetAddress.getByName("0.0.0.0"), 0));
        HostControls h = new HostControls(marker, any, lo, udp);
        h.serve(any);
        h.serve(lo);
        Thread.ofPlatform().daemon().name("airlock-audit-udp").start(h::answerUdp);
        return h;
    }

    public String marker() {
        return marker;
    }

    public LocalTarget.Tcp onHost(String address) {
        return new LocalTarget.Tcp(address, any.getLocalPort(), marker);
    }

    public LocalTarget.Tcp onLoopback() {
        return new LocalTarget.Tcp("127.0.0.1", loopback.getLocalPort(), marker);
    }

    public LocalTarget.Udp udpOnHost(String address) {
        return new LocalTarget.Udp(address, udp.getLocalPort(), marker);
    }

    private void serve(ServerSocket server) {
        Thread.ofPlatform().daemon().name("airlock-audit-listener").start(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    Thread.ofVirtual().start(() -> answer(s));
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    /**
     * Answers like a small HTTP server: reads the request head first (bounded), then writes the
     * marker and half-closes. Closing with the request unread would reset the connection, and the
     * client could lose the answer: a leak would then look like a pass.
     */
    private void answer(Socket s) {
        try (s) {
            s.setSoTimeout(2000);
            InputStream in = s.getInputStream();
            byte[] buf = new byte[8192];
            int n = 0;
            try {
                while (n < buf.length) {
                    int r = in.read(buf, n, buf.length - n);
                    if (r < 0) {
                        break;
                    }
                    n += r;
                    if (new String(buf, 0, n, StandardCharsets.ISO_8859_1).contains("\r\n\r\n")) {
                        break;
                    }
                }
            } catch (SocketTimeoutException e) {
                // a client that sends nothing (or not HTTP) still gets the marker
            }
            OutputStream out = s.getOutputStream();
            out.write(("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n" + marker + "\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            s.shutdownOutput();
            try {
                while (in.read(buf) >= 0) {
                    // drain until the client closes, so the close is never a reset
                }
            } catch (SocketTimeoutException e) {
                // the client keeps it open: close anyway
            }
        } catch (IOException e) {
            // the peer left: nothing to answer
        }
    }

    private void answerUdp() {
        byte[] buf = new byte[2048];
        byte[] reply = marker.getBytes(StandardCharsets.US_ASCII);
        while (!udp.isClosed()) {
            try {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                udp.receive(p);
                udp.send(new DatagramPacket(reply, reply.length, p.getSocketAddress()));
            } catch (IOException e) {
                if (udp.isClosed()) {
                    return;
                }
            }
        }
    }

    /** Runs the positive control of {@code target} from the host's own namespace, without Airlock. */
    public static ControlResult check(LocalTarget target) {
        return switch (target) {
            case LocalTarget.Tcp t -> tcp(t);
            case LocalTarget.Udp u -> udp(u);
            case LocalTarget.File f -> file(f);
            case LocalTarget.Echo e -> echo(e);
            case LocalTarget.Exchange x -> exchange(x);
            case LocalTarget.InWorkspace w -> new ControlResult("a target in the audit's workspace", false,
                    "checked by WorkspaceTargets, which knows the workspace; not here");
        };
    }

    /** Sends the probe's own bytes straight to the server; its answer must have the expected shape. */
    private static ControlResult exchange(LocalTarget.Exchange x) {
        String what = "the same bytes to " + x.address() + ":" + x.port() + " from the host's namespace";
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getByName(x.address()), x.port()), TIMEOUT_MS);
            s.setSoTimeout(TIMEOUT_MS);
            s.getOutputStream().write(HexFormat.of().parseHex(x.payloadHex()));
            s.getOutputStream().flush();
            byte[] got = readAnswer(s.getInputStream(), x.expect());
            boolean ok = shaped(got, x.expect());
            String text = new String(got, 0, Math.min(got.length, 60), StandardCharsets.ISO_8859_1).replaceAll("[^\\x20-\\x7e]", ".");
            return new ControlResult(what, ok, (ok ? "answered as expected (" : "answered without the expected " + x.expect() + " shape (")
                    + got.length + " bytes: " + text + ")");
        } catch (IOException e) {
            return new ControlResult(what, false, e.toString());
        }
    }

    /** Reads until the answer has the expected shape, the server closes, or the timeout; at most 8 KiB. */
    private static byte[] readAnswer(InputStream in, LocalTarget.Shape expect) throws IOException {
        java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
        byte[] buf = new byte[2048];
        try {
            for (int n; got.size() < 8192 && (n = in.read(buf)) > 0; ) {
                got.write(buf, 0, n);
                if (shaped(got.toByteArray(), expect)) {
                    break;
                }
            }
        } catch (SocketTimeoutException e) {
            // judged on what came
        }
        return got.toByteArray();
    }

    static boolean shaped(byte[] got, LocalTarget.Shape expect) {
        String text = new String(got, StandardCharsets.ISO_8859_1);
        return switch (expect) {
            case TLS -> got.length >= 2 && (got[0] == 0x16 || got[0] == 0x15) && got[1] == 0x03;
            case HTTP -> text.startsWith("HTTP/1.");
            case TWO_HTTP -> text.startsWith("HTTP/1.") && text.indexOf("HTTP/1.", 8) > 0;
        };
    }

    private static ControlResult tcp(LocalTarget.Tcp t) {
        String what = "TCP " + t.address() + ":" + t.port() + " from the host's namespace";
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getByName(t.address()), t.port()), TIMEOUT_MS);
            s.setSoTimeout(TIMEOUT_MS);
            s.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            String got = new String(in.readNBytes(512), StandardCharsets.US_ASCII);
            boolean ok = t.marker().isEmpty() ? !got.isEmpty() : got.contains(t.marker());
            return new ControlResult(what, ok, ok ? "answered " + (t.marker().isEmpty() ? "" : t.marker()) : "answered without the marker");
        } catch (IOException e) {
            return new ControlResult(what, false, e.toString());
        }
    }

    private static ControlResult udp(LocalTarget.Udp u) {
        String what = "UDP " + u.address() + ":" + u.port() + " from the host's namespace";
        try (DatagramSocket s = new DatagramSocket()) {
            s.setSoTimeout(TIMEOUT_MS);
            byte[] q = "airlock-audit-control".getBytes(StandardCharsets.US_ASCII);
            s.send(new DatagramPacket(q, q.length, new InetSocketAddress(InetAddress.getByName(u.address()), u.port())));
            DatagramPacket p = new DatagramPacket(new byte[512], 512);
            s.receive(p);
            String got = new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII);
            return new ControlResult(what, got.contains(u.marker()), "answered " + got);
        } catch (SocketTimeoutException e) {
            return new ControlResult(what, false, "no answer within " + TIMEOUT_MS + " ms");
        } catch (IOException e) {
            return new ControlResult(what, false, e.toString());
        }
    }

    /** The same ping the probe runs in the sandbox, run on the host, where Airlock's rules do not apply. */
    private static ControlResult echo(LocalTarget.Echo e) {
        String what = "ping " + e.address() + " from the host's namespace";
        try {
            Process p = new ProcessBuilder("ping", "-n", "-c", "1", "-W", "2", e.address()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            boolean ok = p.waitFor(5, java.util.concurrent.TimeUnit.SECONDS) && p.exitValue() == 0;
            String tail = out.substring(Math.max(0, out.length() - 160)).replace('\n', ' ');
            return new ControlResult(what, ok, (ok ? "echo reply: " : "no echo reply: ") + tail);
        } catch (IOException ex) {
            return new ControlResult(what, false, "cannot run ping on the host: " + ex.getMessage());
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            return new ControlResult(what, false, "interrupted");
        }
    }

    private static ControlResult file(LocalTarget.File f) {
        Path p = Path.of(f.path());
        String what = "the host reads " + p;
        boolean ok = Files.exists(p) && Files.isReadable(p);
        String kind = Files.isDirectory(p) ? "a readable directory" : Files.isRegularFile(p) ? "a readable file" : "present (not a regular file)";
        return new ControlResult(what, ok, ok ? kind : "absent or unreadable");
    }

    @Override
    public void close() {
        for (AutoCloseable c : new AutoCloseable[] {any, loopback, udp}) {
            try {
                c.close();
            } catch (Exception e) {
                // closing our own socket: nothing left to do
            }
        }
    }
}
