package dev.airlock.gateway.kernel;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.Locale;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * The test's "internet": a separate JVM the test starts inside the origin namespace with
 * {@code ip netns exec}, serving on the origin addresses. JDK classes only.
 *
 * <p>Arguments, repeated: {@code echo ADDR:PORT}, {@code http ADDR:PORT NAME}, {@code http-keepalive
 * ADDR:PORT NAME} (answers every request on a connection, like a shared front),
 * {@code https ADDR:PORT NAME KEYSTORE.p12}, {@code udp ADDR:PORT}. The keystore password is
 * {@value #STORE_PASSWORD}.
 *
 * <p>stdout, one event a line, for the test to assert on: {@code ready} once every socket is bound;
 * {@code accept SERVICE PEER} for each TCP connection; {@code sni SERVICE NAME|-} after each TLS
 * handshake; {@code request SERVICE HOST} for each HTTP request head; {@code udp SERVICE PAYLOAD}
 * for each datagram. SERVICE is {@code ADDR:PORT}. The process exits when its stdin closes, so it
 * never outlives the test JVM that started it.
 */
final class Origin {

    static final String STORE_PASSWORD = "airlock-test";

    private static final PrintStream OUT = new PrintStream(System.out, true, StandardCharsets.UTF_8);

    private Origin() {
    }

    public static void main(String[] args) throws Exception {
        for (int i = 0; i < args.length; ) {
            String kind = args[i++];
            InetSocketAddress at = address(args[i++]);
            switch (kind) {
                case "echo" -> serve(new ServerSocket(at.getPort(), 50, at.getAddress()), at, Origin::echo);
                case "http" -> {
                    String name = args[i++];
                    serve(new ServerSocket(at.getPort(), 50, at.getAddress()), at, (s, svc) -> http(s, svc, name));
                }
                case "http-keepalive" -> {
                    String name = args[i++];
                    serve(new ServerSocket(at.getPort(), 50, at.getAddress()), at, (s, svc) -> keepAlive(s, svc, name));
                }
                case "https" -> {
                    String name = args[i++];
                    Path store = Path.of(args[i++]);
                    serve(tls(store).getServerSocketFactory().createServerSocket(at.getPort(), 50, at.getAddress()), at,
                            (s, svc) -> https((SSLSocket) s, svc, name));
                }
                case "udp" -> udp(new DatagramSocket(at), at);
                default -> throw new IllegalArgumentException("unknown service kind " + kind);
            }
        }
        OUT.println("ready");
        // Exit with the parent: the test closes our stdin when it is done, and so does its death.
        while (System.in.read() >= 0) {
            // ignore input
        }
        System.exit(0);
    }

    private static InetSocketAddress address(String hostPort) throws IOException {
        int c = hostPort.lastIndexOf(':');
        return new InetSocketAddress(InetAddress.getByName(hostPort.substring(0, c)), Integer.parseInt(hostPort.substring(c + 1)));
    }

    private static String service(InetSocketAddress at) {
        return at.getAddress().getHostAddress() + ":" + at.getPort();
    }

    private interface Handler {
        void handle(Socket s, String service) throws IOException;
    }

    private static void serve(ServerSocket server, InetSocketAddress at, Handler handler) {
        String svc = service(at);
        daemon(() -> {
            while (true) {
                Socket s;
                try {
                    s = server.accept();
                } catch (IOException e) {
                    return;
                }
                OUT.println("accept " + svc + " " + s.getRemoteSocketAddress());
                daemon(() -> {
                    try (s) {
                        s.setSoTimeout(30_000);
                        handler.handle(s, svc);
                    } catch (IOException ignored) {
                        // the client went away, or the gateway reset it
                    }
                });
            }
        });
    }

    private static void echo(Socket s, String svc) throws IOException {
        InputStream in = s.getInputStream();
        OutputStream out = s.getOutputStream();
        byte[] buf = new byte[8192];
        for (int n; (n = in.read(buf)) > 0; ) {
            out.write(buf, 0, n);
            out.flush();
        }
        s.shutdownOutput();
    }

    private static void http(Socket s, String svc, String name) throws IOException {
        String head = head(s.getInputStream());
        String host = "-";
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("host:")) {
                host = line.substring(5).trim();
            }
        }
        OUT.println("request " + svc + " " + host);
        byte[] body = ("hello from " + name + "\n").getBytes(StandardCharsets.UTF_8);
        OutputStream out = s.getOutputStream();
        out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + body.length
                + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        out.write(body);
        out.flush();
    }

    /** Answers each request on the connection, logging each Host, until the client closes. */
    private static void keepAlive(Socket s, String svc, String name) throws IOException {
        InputStream in = s.getInputStream();
        OutputStream out = s.getOutputStream();
        while (true) {
            String head = head(in);
            if (!head.endsWith("\r\n\r\n")) {
                return;
            }
            String host = "-";
            for (String line : head.split("\r\n")) {
                if (line.toLowerCase(Locale.ROOT).startsWith("host:")) {
                    host = line.substring(5).trim();
                }
            }
            OUT.println("request " + svc + " " + host);
            byte[] body = ("hello from " + name + "\n").getBytes(StandardCharsets.UTF_8);
            out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + body.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            out.write(body);
            out.flush();
        }
    }

    private static void https(SSLSocket s, String svc, String name) throws IOException {
        s.startHandshake();
        String sni = "-";
        if (s.getSession() instanceof ExtendedSSLSession ext) {
            for (SNIServerName n : ext.getRequestedServerNames()) {
                sni = new String(n.getEncoded(), StandardCharsets.US_ASCII);
            }
        }
        OUT.println("sni " + svc + " " + sni);
        http(s, svc, name);
    }

    /** The request head, up to the blank line (bounded: a test request is small). */
    private static String head(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4 && b.size() < 16_384) {
            int c = in.read();
            if (c < 0) {
                break;
            }
            b.write(c);
            matched = c == (matched % 2 == 0 ? '\r' : '\n') ? matched + 1 : (c == '\r' ? 1 : 0);
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    private static SSLContext tls(Path store) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            ks.load(in, STORE_PASSWORD.toCharArray());
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, STORE_PASSWORD.toCharArray());
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        return ctx;
    }

    private static void udp(DatagramSocket socket, InetSocketAddress at) {
        String svc = service(at);
        daemon(() -> {
            byte[] buf = new byte[2048];
            while (true) {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                try {
                    socket.receive(p);
                } catch (IOException e) {
                    return;
                }
                OUT.println("udp " + svc + " " + new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8).strip());
            }
        });
    }

    private static void daemon(Runnable r) {
        Thread t = new Thread(r);
        t.setDaemon(true);
        t.start();
    }
}
