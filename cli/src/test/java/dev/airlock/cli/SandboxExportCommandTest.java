package dev.airlock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * `airlock sandbox export` against a stand-in daemon on a unix socket (what it asks, what it
 * prints, its exit codes), without a daemon, and with bad input. The daemon's side is
 * DaemonExportIT (server, root).
 */
class SandboxExportCommandTest {

    @TempDir
    Path tmp;

    private record Ran(int code, String out, String err) {
    }

    private Ran run(SandboxExportCommand c, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(c).setOut(new PrintWriter(out)).setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Ran(code, out.toString(), err.toString());
    }

    @Test
    void export_notASandboxId_isBadInputWithTheFix() {
        Ran r = run(new SandboxExportCommand(), "../etc");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("not a sandbox id").contains("Fix:");
    }

    @Test
    void export_noDaemon_says125AndHowToStartOne() {
        SandboxExportCommand c = new SandboxExportCommand();
        c.socket = tmp.resolve("daemon.sock");
        Ran r = run(c, "alk1234abcd", "--to", tmp.toString());
        assertThat(r.code()).isEqualTo(125);
        assertThat(r.err()).contains("no daemon answers on " + tmp.resolve("daemon.sock")).contains("Fix:");
    }

    @Test
    void help_describesTheBranchThePatchAndTheBoundary() {
        Ran r = run(new SandboxExportCommand(), "--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("airlock/ID").contains(".git/airlock/ID.patch").contains("--to").contains("never on the host");
    }

    /** A daemon that answers every request on {@code socket} with {@code status} and {@code body}, and keeps what it was asked. */
    private static final class FakeDaemon implements AutoCloseable {
        final java.nio.channels.ServerSocketChannel server;
        final java.util.List<String> requests = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        final Thread loop;

        FakeDaemon(Path socket, int status, String body) throws Exception {
            server = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX);
            server.bind(java.net.UnixDomainSocketAddress.of(socket));
            loop = Thread.ofVirtual().start(() -> {
                while (server.isOpen()) {
                    try (java.nio.channels.SocketChannel ch = server.accept()) {
                        java.io.InputStream in = java.nio.channels.Channels.newInputStream(ch);
                        StringBuilder head = new StringBuilder();
                        int c;
                        while (!head.toString().endsWith("\r\n\r\n") && (c = in.read()) >= 0) {
                            head.append((char) c);
                        }
                        if (head.isEmpty()) {
                            continue; // the client's probe: connect and close
                        }
                        java.util.regex.Matcher m = java.util.regex.Pattern.compile("Content-Length: (\\d+)").matcher(head);
                        int n = m.find() ? Integer.parseInt(m.group(1)) : 0;
                        requests.add(head.toString().lines().findFirst().orElse("") + " " + new String(in.readNBytes(n),
                                java.nio.charset.StandardCharsets.UTF_8));
                        byte[] b = body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                        java.io.OutputStream out = java.nio.channels.Channels.newOutputStream(ch);
                        out.write(("HTTP/1.1 " + status + " X\r\nContent-Type: application/json\r\nContent-Length: " + b.length + "\r\n\r\n")
                                .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                        out.write(b);
                        out.flush();
                    } catch (java.io.IOException e) {
                        // closed
                    }
                }
            });
        }

        @Override
        public void close() throws Exception {
            server.close();
        }
    }

    @Test
    void export_asksTheDaemonForThatSandboxAndRepository_andPrintsItsOneLine() throws Exception {
        Path socket = tmp.resolve("daemon.sock");
        String line = "airlock: the work of alk1234abcd is in /src: branch airlock/alk1234abcd (2 commits; review: git -C /src log -p x..airlock/alk1234abcd)";
        try (FakeDaemon d = new FakeDaemon(socket, 200, "{\"sandbox\":\"alk1234abcd\",\"result\":\"exported\",\"summary\":\"" + line + "\"}")) {
            SandboxExportCommand c = new SandboxExportCommand();
            c.socket = socket;
            Ran r = run(c, "alk1234abcd", "--to", "/srv/repo");
            assertThat(r.code()).isZero();
            assertThat(r.out()).isEqualTo(line + System.lineSeparator());
            assertThat(d.requests).containsExactly("POST /v1/sandboxes/alk1234abcd/export HTTP/1.1 {\"to\":\"/srv/repo\"}");
        }
    }

    @Test
    void export_refusedByTheDaemon_printsItsReasonAndExits1() throws Exception {
        Path socket = tmp.resolve("daemon.sock");
        try (FakeDaemon d = new FakeDaemon(socket, 409, "{\"error\":\"branch airlock/alk1234abcd exists in /src; it is never overwritten. Fix: …\"}")) {
            SandboxExportCommand c = new SandboxExportCommand();
            c.socket = socket;
            Ran r = run(c, "alk1234abcd");
            assertThat(r.code()).isEqualTo(1);
            assertThat(r.err()).contains("never overwritten").contains("Fix:");
            assertThat(d.requests).containsExactly("POST /v1/sandboxes/alk1234abcd/export HTTP/1.1 {}");
        }
    }
}
