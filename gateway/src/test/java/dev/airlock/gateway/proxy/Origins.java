package dev.airlock.gateway.proxy;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Loopback origins that tests start and stop themselves: an echo server (raw TCP), an HTTP server
 * that records the headers it received, and an unresponsive server that accepts and says nothing.
 */
final class Origins {

    private Origins() {
    }

    /** Echoes every byte; on the client's half-close, finishes echoing and closes. */
    static final class Echo implements AutoCloseable {
        final ServerSocket server;
        private final Thread thread;

        Echo(String address) throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getByName(address));
            thread = new Thread(this::serve, "echo-origin");
            thread.setDaemon(true);
            thread.start();
        }

        int port() {
            return server.getLocalPort();
        }

        private void serve() {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    Thread t = new Thread(() -> {
                        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                            byte[] buf = new byte[8192];
                            for (int n; (n = in.read(buf)) > 0; ) {
                                out.write(buf, 0, n);
                                out.flush();
                            }
                            s.shutdownOutput();
                        } catch (IOException ignored) {
                            // the test closed the connection
                        }
                    });
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    return;
                }
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    /** An HTTP origin answering "hello from <host>" and recording each request's headers. */
    static final class Http implements AutoCloseable {
        final HttpServer server;
        final List<Map<String, List<String>>> requests = new CopyOnWriteArrayList<>();

        Http(String address, String greeting) throws IOException {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getByName(address), 0), 50);
            server.createContext("/", exchange -> {
                requests.add(Map.copyOf(exchange.getRequestHeaders()));
                exchange.getRequestBody().readAllBytes();
                byte[] body = (greeting + " " + exchange.getRequestURI()).getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().add("Keep-Alive", "timeout=5");
                exchange.sendResponseHeaders(200, body.length);
                exchange.getResponseBody().write(body);
                exchange.close();
            });
            server.start();
        }

        int port() {
            return server.getAddress().getPort();
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }

    /** Accepts connections and never reads or writes: the unresponsive upstream. */
    static final class Silent implements AutoCloseable {
        final ServerSocket server;
        final List<Socket> held = new CopyOnWriteArrayList<>();

        Silent(String address) throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getByName(address));
            Thread t = new Thread(() -> {
                while (!server.isClosed()) {
                    try {
                        held.add(server.accept());
                    } catch (IOException e) {
                        return;
                    }
                }
            }, "silent-origin");
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return server.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            for (Socket s : held) {
                s.close();
            }
            server.close();
        }
    }
}
