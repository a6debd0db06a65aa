package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The terminal frames over the TCP listener, written by hand as a small client in another language
 * would (issue 13): {@code "tty"} in the first line, then {@code {"stdin"}} and {@code {"resize"}}
 * lines; the first command of a claimed sandbox (its waiting init) and a second one (a fresh
 * bubblewrap in the same sandbox) both get a terminal of the sandbox's own.
 */
class DaemonTerminalIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOKEN = "t".repeat(48);

    @TempDir
    Path tmp;

    @BeforeAll
    static void root() {
        Root.require();
    }

    /** One streaming request on a TCP connection: what the terminal showed so far, and the exit once it came. */
    private static final class Stream implements AutoCloseable {
        private final Socket socket;
        private final OutputStream out;
        private final InputStream in;
        private final StringBuilder shown = new StringBuilder();
        private final StringBuilder pending = new StringBuilder();
        private Integer exit;

        Stream(int port, String path, String firstLine) throws IOException {
            socket = new Socket("127.0.0.1", port);
            out = socket.getOutputStream();
            in = socket.getInputStream();
            out.write(("POST " + path + " HTTP/1.1\r\nHost: airlock\r\nAuthorization: Bearer " + TOKEN
                    + "\r\nTransfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            line(firstLine);
        }

        void line(String json) throws IOException {
            byte[] b = (json + "\n").getBytes(StandardCharsets.UTF_8);
            out.write((Integer.toHexString(b.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(b);
            out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
        }

        void keys(String typed) throws IOException {
            line("{\"stdin\":\"" + Base64.getEncoder().encodeToString(typed.getBytes(StandardCharsets.UTF_8)) + "\"}");
        }

        /** Reads until the terminal showed {@code text} (or the stream ended); what it showed. */
        String until(String text) throws IOException {
            byte[] buf = new byte[8192];
            while (!shown.toString().contains(text) && exit == null) {
                int n = in.read(buf);
                if (n < 0) {
                    break;
                }
                pending.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
                for (int nl; (nl = pending.indexOf("\n")) >= 0; ) {
                    String l = pending.substring(0, nl).strip();
                    pending.delete(0, nl + 1);
                    if (!l.startsWith("{")) {
                        continue; // HTTP head and chunk sizes
                    }
                    JsonNode node = JSON.readTree(l);
                    if (node.has("data")) {
                        shown.append(new String(Base64.getDecoder().decode(node.get("data").asText()), StandardCharsets.UTF_8));
                    } else if (node.has("exit")) {
                        exit = node.get("exit").asInt();
                    }
                }
            }
            return shown.toString();
        }

        int exit() throws IOException {
            until("\0never");
            return exit == null ? -1 : exit;
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    @Test
    void exec_overTcp_withTty_firstAndSecondCommand_haveTheSandboxsTerminal_followResizes_andReturnTheExit() throws Exception {
        Path token = tmp.resolve("token");
        Files.writeString(token, TOKEN);
        Files.setPosixFilePermissions(token, PosixFilePermissions.fromString("rw-------"));
        Path config = DaemonFixture.write(tmp, 1, 4, "listen: 127.0.0.1:0", "tokenFile: " + token);
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), System.err)) {
            int port = server.tcpAddress().orElseThrow().getPort();
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            DaemonIT.eventually(() -> DaemonIT.status(c).path("ready").asInt() == 1, "one sandbox warm");
            String id = c.post("/v1/claims", JSON.createObjectNode().put("project", "daemon-it")).body().path("sandbox").asText();
            String script = "tty; echo \\\"SIZE=$(stty size)\\\"; read line; echo \\\"SIZE=$(stty size) GOT=$line TERM=$TERM\\\"; exit 5";
            for (String which : new String[] {"first command (the waiting init)", "second command (a fresh bubblewrap)"}) {
                try (Stream s = new Stream(port, "/v1/sandboxes/" + id + "/exec", "{\"command\":[\"/bin/sh\",\"-c\",\"" + script
                        + "\"],\"env\":{\"TERM\":\"xterm-256color\"},\"tty\":{\"rows\":30,\"cols\":100}}")) {
                    assertThat(s.until("SIZE=30 100")).as(which).containsPattern("/dev/pts/[0-9]+\r\n");
                    s.line("{\"resize\":[40,120]}");
                    s.keys("hello\r");
                    assertThat(s.until("TERM=xterm-256color")).as(which).contains("SIZE=40 120 GOT=hello TERM=xterm-256color");
                    assertThat(s.exit()).as(which).isEqualTo(5);
                }
            }
            assertThat(c.delete("/v1/sandboxes/" + id).status()).isEqualTo(200);
        }
    }
}
