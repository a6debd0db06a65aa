package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * airlock.socket's contract, with systemd's own activator ({@code systemd-socket-activate}, which
 * passes a listening socket as systemd does): the first connection starts the server, which
 * answers it on the socket it was passed; a passed socket that is not the configured one is
 * refused. Needs no root; without the tool it skips, except in CI, where it fails.
 */
class SocketActivationTest {

    private static final String ACTIVATE = "/usr/bin/systemd-socket-activate";

    @TempDir
    Path tmp;
    private final List<Process> started = new ArrayList<>();

    @BeforeEach
    void tool() {
        boolean present = Files.isExecutable(Path.of(ACTIVATE));
        if ("true".equals(System.getenv("CI"))) {
            assertThat(present).as(ACTIVATE + " (Debian: systemd) is needed in CI").isTrue();
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(present, ACTIVATE + " is not installed (Debian: systemd)");
    }

    @AfterEach
    void stop() throws InterruptedException {
        for (Process p : started) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
    }

    private Process activator(Path listen, Path configured) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(ACTIVATE, "-l", listen.toString(), "--", java, "-cp", System.getProperty("java.class.path"),
                ActivatedApi.class.getName(), configured.toString()).redirectErrorStream(true).redirectOutput(tmp.resolve("out.log").toFile())
                .start();
        started.add(p);
        for (int i = 0; i < 200 && !Files.exists(listen); i++) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
        }
        assertThat(listen).as("the activator listens").exists();
        return p;
    }

    /** One request on {@code socket}; what came back before the server closed (empty: reset) or 60 s passed. */
    private static String get(Path socket) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ch.write(ByteBuffer.wrap("GET /v1/status HTTP/1.1\r\nHost: airlock\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
            java.util.concurrent.Future<byte[]> read = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()
                    .submit(() -> java.nio.channels.Channels.newInputStream(ch).readAllBytes());
            try {
                return new String(read.get(60, TimeUnit.SECONDS), StandardCharsets.UTF_8);
            } catch (java.util.concurrent.TimeoutException e) {
                return "<no answer within 60 s>";
            } catch (java.util.concurrent.ExecutionException e) {
                if (e.getCause() instanceof java.net.SocketException) {
                    return ""; // reset: the process holding the socket exited without answering
                }
                throw new IOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
        }
    }

    @Test
    void startWith_aPassedSocket_answersTheConnectionThatStartedIt() throws Exception {
        Path sock = tmp.resolve("daemon.sock");
        Process activator = activator(sock, sock);
        Files.setPosixFilePermissions(sock, PosixFilePermissions.fromString("rw-------")); // SocketMode=0600
        // a server that bound a socket of its own (removing the path first) would leave this connection unanswered
        assertThat(get(sock)).startsWith("HTTP/1.1 200").contains("served by " + activator.pid()); // the activator execs the server
        assertThat(sock).as("the socket stays systemd's").exists();
    }

    @Test
    void startWith_aPassedSocketElsewhere_isRefused() throws Exception {
        Path sock = tmp.resolve("passed.sock");
        Process p = activator(sock, tmp.resolve("configured.sock"));
        Files.setPosixFilePermissions(sock, PosixFilePermissions.fromString("rw-------"));
        assertThat(get(sock)).as("no answer: the server refused the socket and exited").isEmpty();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(3);
        assertThat(Files.readString(tmp.resolve("out.log"))).contains("systemd passed a socket bound to " + sock)
                .contains("Fix: make ListenStream= in airlock.socket");
    }

    @Test
    void startWith_aPassedSocketOthersMayOpen_isRefused() throws Exception {
        Path sock = tmp.resolve("daemon.sock");
        Process p = activator(sock, sock);
        Files.setPosixFilePermissions(sock, PosixFilePermissions.fromString("rw-rw-rw-"));
        assertThat(get(sock)).isEmpty();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(3);
        assertThat(Files.readString(tmp.resolve("out.log"))).contains("is rw-rw-rw-").contains("Fix: SocketMode=0600");
    }
}
