package dev.airlock.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import dev.airlock.gateway.audit.AuditIngest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The daemon's audit ingest endpoint, {@code POST /v1/audit/records}, on its own listener
 * ({@code kubernetes.auditListen}): only the gateway pods reach it (their NetworkPolicy opens this
 * port towards the daemon; agent pods' policy opens nothing but their gateway). It serves nothing
 * else: the daemon's API stays on its socket, so a gateway's token opens no other door. It speaks
 * only TLS 1.3 and 1.2 ({@link IngestTls}'s certificate): the bearer token and the records never
 * cross the cluster network in clear, and a gateway checks it is talking to the daemon.
 */
final class AuditIngestServer implements AutoCloseable {

    static final String PATH = "/v1/audit/records";
    /** A batch of 1000 records is under 1 MiB; more is refused unread. */
    private static final int MAX_BODY = 4 << 20;
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Older protocols have known weaknesses, and every gateway (this Airlock) speaks 1.3. */
    static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    private final HttpServer http;
    private final ExecutorService executor;

    private AuditIngestServer(HttpServer http, ExecutorService executor) {
        this.http = http;
        this.executor = executor;
    }

    static AuditIngestServer start(InetSocketAddress listen, AuditIngest ingest, SSLContext tls) throws IOException {
        HttpsServer http = HttpsServer.create(listen, 16);
        http.setHttpsConfigurator(new HttpsConfigurator(tls) {
            @Override
            public void configure(HttpsParameters params) {
                SSLParameters p = tls.getDefaultSSLParameters();
                p.setProtocols(PROTOCOLS);
                p.setNeedClientAuth(false); // the project's bearer token says who sends
                params.setSSLParameters(p);
            }
        });
        ExecutorService executor = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "airlock-audit-ingest");
            t.setDaemon(true);
            return t;
        });
        http.setExecutor(executor);
        http.createContext(PATH, ex -> {
            try (ex) {
                handle(ex, ingest);
            }
        });
        http.start();
        return new AuditIngestServer(http, executor);
    }

    private static void handle(HttpExchange ex, AuditIngest ingest) throws IOException {
        if (!"POST".equals(ex.getRequestMethod()) || !PATH.equals(ex.getRequestURI().getPath())) {
            send(ex, 405, Map.of("error", "only POST " + PATH));
            return;
        }
        Optional<String> bearer = Optional.ofNullable(ex.getRequestHeaders().getFirst("Authorization"))
                .filter(h -> h.startsWith("Bearer ")).map(h -> h.substring("Bearer ".length()).strip());
        byte[] body;
        try (InputStream in = ex.getRequestBody()) {
            body = in.readNBytes(MAX_BODY + 1);
        }
        if (body.length > MAX_BODY) {
            send(ex, 413, Map.of("error", "a batch is at most " + MAX_BODY + " bytes; send fewer records at once"));
            return;
        }
        String source;
        List<String> lines = new ArrayList<>();
        try {
            JsonNode n = JSON.readTree(body);
            source = n.path("source").asText(null);
            for (JsonNode r : n.path("records")) {
                if (!r.isTextual()) {
                    throw new IOException("records are strings");
                }
                lines.add(r.textValue());
            }
        } catch (IOException | RuntimeException e) {
            send(ex, 400, Map.of("error", "the body is not {\"source\": NAME, \"records\": [LINE, ...]}"));
            return;
        }
        AuditIngest.Answer answer;
        try {
            answer = ingest.accept(bearer, source, lines);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            send(ex, 503, Map.of("error", "the daemon is stopping; try again"));
            return;
        }
        switch (answer) {
            case AuditIngest.Accepted a -> send(ex, 200, Map.of("acknowledged", a.acknowledged().toString(), "appended", a.appended()));
            case AuditIngest.Refused r -> send(ex, r.status(), Map.of("error", r.why()));
        }
    }

    private static void send(HttpExchange ex, int status, Map<String, Object> body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** The bound address (for tests that bind port 0). */
    InetSocketAddress address() {
        return http.getAddress();
    }

    @Override
    public void close() {
        http.stop(0);
        executor.shutdownNow();
    }
}
