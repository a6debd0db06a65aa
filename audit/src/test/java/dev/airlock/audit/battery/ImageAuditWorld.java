package dev.airlock.audit.battery;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * ImageAuditIT's own small world, so that it never shares (or reaps) the machine-wide demo world
 * that AuditBatteryIT, DaemonAuditsIT and the demo use: network namespace {@code alk-aimg-world}
 * behind veth {@code alkaimgh}, test hosts in 198.19.233.0/24 (the demo's are 198.18.0.0/24). A
 * shared front ({@link #FRONT}, answers any Host on port 80 and keeps connections alive, logging the
 * Host) and a production API ({@link #PRODUCTION}). The public addresses the battery aims at get a
 * route to this link too, at metric {@value #METRIC}: beside the demo world's own routes (metric 0,
 * which win while the demo world exists), never replacing or removing them. The names are fixed,
 * so one ImageAuditIT at a time per machine: {@link #create} removes a world a crashed run left.
 */
final class ImageAuditWorld implements AutoCloseable {

    static final String NETNS = "alk-aimg-world";
    static final String HOST_VETH = "alkaimgh";
    static final String WORLD_VETH = "alkaimgw";
    static final String FRONT = "198.19.233.11";
    static final String PRODUCTION = "198.19.233.12";
    static final int METRIC = 4242;
    /** Addresses probes aim at that no test host of ours serves: routed here so that nothing can leave the machine. */
    static final List<String> ROUTED = List.of("8.8.8.8/32", "1.1.1.1/32", "169.254.169.254/32", "198.18.0.53/32");

    private static final String SERVICES = """
            import http.server, socketserver, sys, threading
            LOG = open(sys.argv[1], "a", buffering=1)
            class Front(http.server.BaseHTTPRequestHandler):
                protocol_version = "HTTP/1.1"
                def do_GET(self):
                    LOG.write("%s host=%s %s\\n" % (self.server.name, self.headers.get("Host", "-"), self.path))
                    body = (self.server.name + " answers\\n").encode()
                    self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
                do_POST = do_GET
                def log_message(self, fmt, *args):
                    pass
            class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
                daemon_threads = True
                allow_reuse_address = True
                def server_bind(self):
                    socketserver.TCPServer.server_bind(self)  # no getfqdn: no DNS here
                    self.server_name, self.server_port = self.server_address[:2]
            servers = []
            for name, addr in (("front", sys.argv[2]), ("production", sys.argv[3])):
                s = Server((addr, 80), Front); s.name = name; servers.append(s)
            for s in servers:
                threading.Thread(target=s.serve_forever, daemon=True).start()
            LOG.write("ready\\n")
            threading.Event().wait()
            """;

    private final Path log;
    private final List<Process> started = new ArrayList<>();

    private ImageAuditWorld(Path log) {
        this.log = log;
    }

    static ImageAuditWorld create(Path dir) throws IOException, InterruptedException {
        reap();
        ImageAuditWorld w = new ImageAuditWorld(dir.resolve("world.log"));
        try {
            w.start(dir);
            return w;
        } catch (IOException | InterruptedException | RuntimeException e) {
            w.close();
            throw e;
        }
    }

    private void start(Path dir) throws IOException, InterruptedException {
        run("ip", "netns", "add", NETNS);
        run("ip", "link", "add", HOST_VETH, "type", "veth", "peer", "name", WORLD_VETH);
        run("ip", "link", "set", WORLD_VETH, "netns", NETNS);
        run("ip", "addr", "add", "198.19.233.1/24", "dev", HOST_VETH);
        run("ip", "link", "set", HOST_VETH, "up");
        for (String a : ROUTED) {
            run("ip", "route", "add", a, "dev", HOST_VETH, "metric", Integer.toString(METRIC));
        }
        for (String a : List.of(FRONT, PRODUCTION)) {
            run("ip", "netns", "exec", NETNS, "ip", "addr", "add", a + "/24", "dev", WORLD_VETH);
        }
        run("ip", "netns", "exec", NETNS, "ip", "link", "set", "lo", "up");
        run("ip", "netns", "exec", NETNS, "ip", "link", "set", WORLD_VETH, "up");
        Files.writeString(log, "");
        Path py = Files.writeString(dir.resolve("services.py"), SERVICES);
        started.add(new ProcessBuilder("ip", "netns", "exec", NETNS, "python3", py.toString(), log.toString(), FRONT, PRODUCTION)
                .redirectErrorStream(true).redirectOutput(dir.resolve("services.out").toFile()).start());
        for (int i = 0; i < 100 && !Files.readString(log).contains("ready"); i++) {
            Thread.sleep(50);
        }
        if (!Files.readString(log).contains("ready")) {
            throw new IOException("the image audit world's services did not start: " + Files.readString(dir.resolve("services.out")));
        }
    }

    /** Requests that reached {@code server} ("front" or "production") with {@code host} as their Host. */
    long requests(String server, String host) throws IOException {
        return Files.readAllLines(log, StandardCharsets.UTF_8).stream().filter(l -> l.startsWith(server + " host=" + host + " ")).count();
    }

    long requests(String server) throws IOException {
        return Files.readAllLines(log, StandardCharsets.UTF_8).stream().filter(l -> l.startsWith(server + " ")).count();
    }

    /** Only this world's own alk objects; the routes go with the link. */
    static void reap() {
        KernelAudit.host("ip", "netns", "del", NETNS);
        KernelAudit.host("ip", "link", "del", HOST_VETH);
    }

    private static void run(String... cmd) {
        KernelAudit.must(KernelAudit.host(cmd));
    }

    @Override
    public void close() {
        for (Process p : started) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        reap();
    }
}
