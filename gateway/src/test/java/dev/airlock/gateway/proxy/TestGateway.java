package dev.airlock.gateway.proxy;

import dev.airlock.gateway.registry.Sandbox;
import dev.airlock.gateway.registry.SandboxRegistry;
import dev.airlock.gateway.resolve.HostsFile;
import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * A gateway on loopback with one sandbox, a policy written in YAML by the test, and a hosts map:
 * names resolve only to the test's own loopback origins, never through the system DNS.
 */
final class TestGateway implements AutoCloseable {

    final RecordingAudit audit = new RecordingAudit();
    final GatewayMetrics metrics = GatewayMetrics.inMemory();
    final Gateway gateway;
    final Sandbox sandbox;
    final InetSocketAddress proxy;

    TestGateway(String policy, String org, String hosts, GatewayLimits limits) throws Exception {
        OrgPolicy o = org == null ? OrgPolicy.NONE : PolicyFiles.parseOrg("org.yaml", org);
        PolicyEngine engine = PolicyEngine.compile(PolicyFiles.parseProject("airlock.yaml", policy), o, Phase.RUN, List.of());
        gateway = new Gateway(new Gateway.Config(HostsFile.parse("hosts", hosts), audit, metrics, limits, 1, false, "airlock.yaml"),
                new SandboxRegistry());
        sandbox = gateway.registry().register("sbx-1", "demo", List.of(), engine);
        proxy = gateway.explicitListener(new InetSocketAddress("127.0.0.1", 0), sandbox);
    }

    /**
     * An organisation policy that opens the host's loopback on these ports for the test project:
     * loopback origins stand in for upstreams, and since issue 18 no project rule can open loopback.
     */
    static String loopbackException(int... ports) {
        return "version: 1\nexceptions:\n  - {project: demo, cidr: 127.0.0.1/32, ports: " + java.util.Arrays.toString(ports) + "}\n";
    }

    Socket client() throws IOException {
        Socket s = new Socket(proxy.getAddress(), proxy.getPort());
        s.setSoTimeout(10_000);
        return s;
    }

    @Override
    public void close() {
        gateway.close();
    }

    /** A parsed HTTP response: status, headers (lower-case names) and body. */
    record Response(int status, Map<String, String> headers, String body) {
    }

    static void send(Socket s, String text) throws IOException {
        s.getOutputStream().write(text.getBytes(StandardCharsets.ISO_8859_1));
        s.getOutputStream().flush();
    }

    /** Reads one response; the body by Content-Length, or to EOF when there is none. */
    static Response read(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("connection closed before a complete response head: " + head);
            }
            head.write(b);
            matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
        int status = Integer.parseInt(lines[0].split(" ")[1]);
        Map<String, String> headers = new TreeMap<>();
        for (int i = 1; i < lines.length; i++) {
            int c = lines[i].indexOf(':');
            if (c > 0) {
                headers.put(lines[i].substring(0, c).trim().toLowerCase(Locale.ROOT), lines[i].substring(c + 1).trim());
            }
        }
        String body;
        if (headers.containsKey("content-length")) {
            body = new String(in.readNBytes(Integer.parseInt(headers.get("content-length"))), StandardCharsets.UTF_8);
        } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            while (true) {
                String sizeLine = line(in);
                int size = Integer.parseInt(sizeLine.split(";")[0].trim(), 16);
                if (size == 0) {
                    line(in);
                    break;
                }
                out.write(in.readNBytes(size));
                line(in);
            }
            body = out.toString(StandardCharsets.UTF_8);
        } else if (status / 100 == 1 || status == 204 || status == 304
                || status == 200 && lines[0].contains("Connection established")) {
            body = "";
        } else {
            body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        return new Response(status, headers, body);
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int b; (b = in.read()) >= 0; ) {
            if (b == '\n') {
                break;
            }
            if (b != '\r') {
                sb.append((char) b);
            }
        }
        return sb.toString();
    }
}
