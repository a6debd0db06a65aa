package dev.airlock.gateway.audit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.airlock.policy.Printable;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The daemon's ingest endpoint over HTTP: {@code POST URL} with {@code Authorization: Bearer
 * TOKEN} and {@code {"source": S, "records": [LINE, …]}}; the answer is {@code {"acknowledged":
 * "SEQ:HASH"}} (docs/audit-log.md, "Forwarding"). The token is read from its file at every send,
 * so a rotated Secret takes effect without a restart.
 */
public final class HttpIngestClient implements IngestClient {

    /** Long enough for a batch on a busy daemon, short enough that a dead one is retried soon. */
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI url;
    private final Path tokenFile;
    private final HttpClient http;

    public HttpIngestClient(URI url, Path tokenFile) {
        if (!"http".equals(url.getScheme()) && !"https".equals(url.getScheme())) {
            throw new IllegalArgumentException("--audit-forward " + url + ": write an http:// or https:// URL of the daemon's ingest endpoint");
        }
        this.url = url;
        this.tokenFile = tokenFile;
        this.http = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT).followRedirects(HttpClient.Redirect.NEVER).build();
    }

    @Override
    public ChainHead send(String source, List<String> lines) throws IOException, Refused {
        String token;
        try {
            token = Files.readString(tokenFile, StandardCharsets.US_ASCII).strip();
        } catch (IOException e) {
            // not the daemon's fault: said as a refusal, with the file to fix
            throw new Refused(0, "cannot read the token file " + tokenFile + " (" + e.getMessage() + "); fix: mount the project's audit token Secret there");
        }
        ObjectNode body = JSON.createObjectNode();
        body.put("source", source);
        lines.forEach(body.putArray("records")::add);
        HttpRequest request = HttpRequest.newBuilder(url).timeout(TIMEOUT)
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))).build();
        HttpResponse<String> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        String text = response.body();
        if (response.statusCode() != 200) {
            String why = text.length() > 500 ? text.substring(0, 500) : text;
            throw new Refused(response.statusCode(), "HTTP " + response.statusCode() + ": " + Printable.escape(why.strip()));
        }
        try {
            JsonNode ack = JSON.readTree(text).get("acknowledged");
            return ChainHead.parse(ack.asText());
        } catch (IOException | RuntimeException e) {
            throw new Refused(response.statusCode(), "the daemon's answer is not {\"acknowledged\": \"SEQ:HASH\"}: " + Printable.escape(text));
        }
    }

    @Override
    public String toString() {
        return url.toString();
    }
}
