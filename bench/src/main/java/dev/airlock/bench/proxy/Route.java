package dev.airlock.bench.proxy;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * How the load generator reaches the origin: straight to it (the loopback baseline), through a
 * proxy with CONNECT to {@code host:port}, or through a plain TCP relay that forwards every
 * connection to the source port (HAProxy in TCP mode: what a relay costs with no proxy protocol at
 * all). Airlock is given the origin's name, which its hosts map resolves; Squid and tinyproxy are
 * given the literal 127.0.0.1, so neither spends time on a name.
 *
 * @param proxy      the proxy's listener, or empty for the direct baseline and the TCP relay
 * @param tcpRelay   a TCP relay's listener in front of the source port, or empty
 * @param targetHost what the CONNECT line names (a name for Airlock, 127.0.0.1 for the others)
 * @param source     the origin's bulk-source port (on loopback)
 * @param echo       the origin's echo port (on loopback)
 */
record Route(Optional<InetSocketAddress> proxy, Optional<InetSocketAddress> tcpRelay, String targetHost,
        InetSocketAddress source, InetSocketAddress echo) {

    Route {
        if (proxy.isPresent() && tcpRelay.isPresent()) {
            throw new IllegalArgumentException("--proxy and --tcp-relay are two different routes: give one");
        }
    }

    /** Longest a proxy may take to answer a CONNECT or echo a byte before the attempt counts as failed. */
    static final int HANDSHAKE_TIMEOUT_MS = 10_000;
    /** Largest response head a proxy may send before the harness gives up on it. */
    private static final int MAX_HEAD_BYTES = 8 * 1024;

    enum Port { SOURCE, ECHO }

    /** The proxy answered something other than 200. */
    static final class Refused extends IOException {
        private static final long serialVersionUID = 1L;
        final int status;

        Refused(int status, String line) {
            super("proxy answered: " + line);
            this.status = status;
        }
    }

    private InetSocketAddress origin(Port port) {
        return port == Port.SOURCE ? source : echo;
    }

    private byte[] connectHead(Port port) {
        String authority = targetHost + ":" + origin(port).getPort();
        return ("CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * Opens a tunnel (or, without a proxy, a plain connection) to {@code port} and returns it,
     * blocking, with the proxy's response head consumed. Reads made through {@link #in} honour
     * the handshake timeout; {@link SocketChannel#read} does not and is for bulk transfer.
     *
     * @param leftover receives body bytes a proxy sent in the same segment as its head
     */
    SocketChannel open(Port port, byte[] scratch, long[] leftover) throws IOException {
        SocketChannel ch = SocketChannel.open();
        try {
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            ch.socket().setSoTimeout(HANDSHAKE_TIMEOUT_MS);
            if (tcpRelay.isPresent()) {
                if (port != Port.SOURCE) {
                    throw new IllegalStateException("a TCP relay forwards to the source port only: measure tput1 and tput4 "
                            + "through it, not rate or idle");
                }
                ch.connect(tcpRelay.get());
                return ch;
            }
            if (proxy.isEmpty()) {
                ch.connect(origin(port));
                return ch;
            }
            ch.connect(proxy.get());
            ch.write(ByteBuffer.wrap(connectHead(port)));
            readHead(in(ch), scratch, leftover);
            return ch;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    static InputStream in(SocketChannel ch) throws IOException {
        return ch.socket().getInputStream();
    }

    /**
     * Reads a response head up to its blank line; throws {@link Refused} unless it is a 200.
     * {@code leftover[0]} is set to the body bytes read past the head.
     */
    static void readHead(InputStream in, byte[] buf, long[] leftover) throws IOException {
        int n = 0;
        int end = -1;
        while (end < 0) {
            if (n == Math.min(buf.length, MAX_HEAD_BYTES)) {
                throw new IOException("response head longer than " + n + " bytes");
            }
            int r = in.read(buf, n, Math.min(buf.length, MAX_HEAD_BYTES) - n);
            if (r < 0) {
                throw new IOException("proxy closed the connection before answering");
            }
            for (int i = Math.max(0, n - 3); i + 3 < n + r; i++) {
                if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
                    end = i + 4;
                    break;
                }
            }
            n += r;
        }
        leftover[0] = n - end;
        int eol = 0;
        while (eol < end && buf[eol] != '\r') {
            eol++;
        }
        String line = new String(buf, 0, eol, StandardCharsets.US_ASCII);
        // "HTTP/1.1 200 Connection established" (Airlock, Squid) or "HTTP/1.0 200 ..." (tinyproxy).
        String[] parts = line.split(" ", 3);
        int status;
        try {
            status = parts.length >= 2 ? Integer.parseInt(parts[1]) : -1;
        } catch (NumberFormatException e) {
            status = -1;
        }
        if (status != 200) {
            throw new Refused(status, line);
        }
    }

    /** Sends one byte and waits for it to come back; false if the tunnel no longer echoes. */
    static boolean echo(SocketChannel ch, byte[] one) {
        try {
            ch.write(ByteBuffer.wrap(one, 0, 1));
            return in(ch).read(one, 0, 1) == 1;
        } catch (IOException e) {
            return false;
        }
    }

    String describe() {
        return proxy.map(p -> "CONNECT " + targetHost + " via " + p.getAddress().getHostAddress() + ":" + p.getPort())
                .or(() -> tcpRelay.map(r -> "TCP relay (no CONNECT) via " + r.getAddress().getHostAddress() + ":" + r.getPort()
                        + " to the origin's source port"))
                .orElse("direct to the origin");
    }
}
