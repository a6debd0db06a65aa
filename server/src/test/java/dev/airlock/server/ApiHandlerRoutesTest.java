package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The API's answers to requests it refuses before a daemon is needed (issue 11 §4): unknown routes,
 * malformed bodies, the TCP listener's token, and the command line of {@code run} and {@code exec}.
 * The handler runs in an {@link EmbeddedChannel} with no daemon: a request that reached the daemon
 * would fail these tests with a 500 or a closed channel instead of the error asserted.
 */
class ApiHandlerRoutesTest {

    private static final String ID = "alk0123abcd";

    private EmbeddedChannel server;

    /** A response as the client reads it: status, content type and body. */
    record Answer(int status, String contentType, String body) {
    }

    private Answer send(Optional<String> token, String rawRequest, String... moreChunks) {
        server = new EmbeddedChannel(new HttpServerCodec(4096, 16384, 65536), new ApiHandler(null, token));
        server.writeInbound(Unpooled.copiedBuffer(rawRequest, StandardCharsets.UTF_8));
        for (String c : moreChunks) {
            server.writeInbound(Unpooled.copiedBuffer(c, StandardCharsets.UTF_8));
        }
        return parse(server);
    }

    private Answer send(String rawRequest, String... moreChunks) {
        return send(Optional.empty(), rawRequest, moreChunks);
    }

    /** The bytes the handler wrote, decoded by a real HTTP client codec. */
    private static Answer parse(EmbeddedChannel server) {
        EmbeddedChannel client = new EmbeddedChannel(new HttpClientCodec(), new HttpObjectAggregator(1 << 20));
        // the client codec pairs each response with a request it sent
        client.writeOutbound(new io.netty.handler.codec.http.DefaultFullHttpRequest(io.netty.handler.codec.http.HttpVersion.HTTP_1_1,
                io.netty.handler.codec.http.HttpMethod.GET, "/"));
        for (Object o; (o = client.readOutbound()) != null; ) {
            ReferenceCountUtil.release(o);
        }
        for (Object o; (o = server.readOutbound()) != null; ) {
            client.writeInbound((ByteBuf) o);
        }
        FullHttpResponse res = client.readInbound();
        assertThat(res).as("the handler answered").isNotNull();
        try {
            return new Answer(res.status().code(), res.headers().get("Content-Type"), res.content().toString(StandardCharsets.UTF_8));
        } finally {
            res.release();
            client.finishAndReleaseAll();
        }
    }

    private static String post(String path, String body) {
        return "POST " + path + " HTTP/1.1\r\nHost: airlock\r\nContent-Length: " + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body;
    }

    private static String chunkedHead(String path) {
        return "POST " + path + " HTTP/1.1\r\nHost: airlock\r\nTransfer-Encoding: chunked\r\n\r\n";
    }

    private static String chunk(String data) {
        return Integer.toHexString(data.getBytes(StandardCharsets.UTF_8).length) + "\r\n" + data + "\r\n";
    }

    @AfterEach
    void close() {
        if (server != null) {
            server.finishAndReleaseAll();
        }
    }

    @Test
    void unknownEndpoint_is404_namingTheRequestAndWhereTheApiIsDocumented() {
        Answer a = send("GET /v1/nothing HTTP/1.1\r\nHost: airlock\r\n\r\n");
        assertThat(a.status()).isEqualTo(404);
        assertThat(a.contentType()).isEqualTo("application/json");
        assertThat(a.body()).contains("GET /v1/nothing: no such endpoint").contains("Fix: see docs/daemon.md");
    }

    @Test
    void wrongMethodOnAKnownPath_is404() {
        Answer a = send("DELETE /v1/status HTTP/1.1\r\nHost: airlock\r\n\r\n");
        assertThat(a.status()).isEqualTo(404);
        assertThat(a.body()).contains("DELETE /v1/status: no such endpoint");
    }

    @Test
    void deleteOfASandboxSubresource_is404_sayingWhatToDeleteInstead() {
        Answer a = send("DELETE /v1/sandboxes/" + ID + "/exec HTTP/1.1\r\nHost: airlock\r\n\r\n");
        assertThat(a.status()).isEqualTo(404);
        assertThat(a.body()).contains("no such resource").contains("Fix: DELETE /v1/sandboxes/ID.");
    }

    @Test
    void sandboxPathWithoutAnAlkId_isNoEndpoint() {
        Answer a = send("DELETE /v1/sandboxes/../../etc HTTP/1.1\r\nHost: airlock\r\n\r\n");
        assertThat(a.status()).isEqualTo(404);
        assertThat(a.body()).contains("no such endpoint");
    }

    @Test
    void claim_bodyNotJson_is400() {
        Answer a = send(post("/v1/claims", "{project"));
        assertThat(a.status()).isEqualTo(400);
        assertThat(a.body()).contains("the body is not JSON");
    }

    @Test
    void claim_bodyAJsonArray_is400_askingForAnObject() {
        Answer a = send(post("/v1/claims", "[\"demo\"]"));
        assertThat(a.status()).isEqualTo(400);
        assertThat(a.body()).contains("the body must be a JSON object");
    }

    @Test
    void claim_withoutProject_is400_namingTheField() {
        Answer a = send(post("/v1/claims", "{}"));
        assertThat(a.status()).isEqualTo(400);
        assertThat(a.body()).contains("`project` is required and must be a string");
    }

    @Test
    void claim_projectNotAString_is400() {
        Answer a = send(post("/v1/claims", "{\"project\": 7}"));
        assertThat(a.status()).isEqualTo(400);
        assertThat(a.body()).contains("`project` is required and must be a string");
    }

    @Test
    void claim_invalidSessionName_is400_withTheNamingRule() {
        Answer a = send(post("/v1/claims", "{\"project\":\"demo\",\"name\":\"Bad Name\"}"));
        assertThat(a.status()).isEqualTo(400);
        assertThat(a.body()).contains("session name 'Bad Name' is not valid").contains("Fix: 1 to 40 of a-z");
    }

    @Test
    void claim_sessionNameShapedLikeAnId_is400() {
        Answer a = send(post("/v1/claims", "{\"project\":\"demo\",\"name\":\"alk12ab\"}"));
        assertThat(a.status()).isEqualTo(400);
        assertThat(a.body()).contains("looks like a sandbox id");
    }

    @Test
    void claim_bodyOver64KiB_is413() {
        String big = "{\"project\":\"" + "x".repeat(70 * 1024) + "\"}";
        Answer a = send(post("/v1/claims", big));
        assertThat(a.status()).isEqualTo(413);
        assertThat(a.body()).contains("request body over 65536 bytes");
    }

    @Test
    void export_relativeTarget_is400_askingForAnAbsolutePath() {
        Answer a = send(post("/v1/sandboxes/" + ID + "/export", "{\"to\":\"repo/here\"}"));
        assertThat(a.status()).isEqualTo(400);
        assertThat(a.body()).contains("`to` must be an absolute path to a git repository, not repo/here");
    }

    @Test
    void export_targetNotAString_is400() {
        Answer a = send(post("/v1/sandboxes/" + ID + "/export", "{\"to\":[\"/srv\"]}"));
        assertThat(a.status()).isEqualTo(400);
        assertThat(a.body()).contains("`to` is required and must be a string");
    }

    @Test
    void tcpListener_withoutToken_is401_namingTheHeaderAndTheSocket() {
        Answer a = send(Optional.of("s3cret"), "GET /v1/status HTTP/1.1\r\nHost: airlock\r\n\r\n");
        assertThat(a.status()).isEqualTo(401);
        assertThat(a.body()).contains("Authorization: Bearer TOKEN").contains("Fix: send the token, or use the unix socket.");
    }

    @Test
    void tcpListener_wrongToken_is401() {
        Answer a = send(Optional.of("s3cret"), "GET /v1/status HTTP/1.1\r\nHost: airlock\r\nAuthorization: Bearer s3cre\r\n\r\n");
        assertThat(a.status()).isEqualTo(401);
    }

    @Test
    void tcpListener_tokenWithoutBearerScheme_is401() {
        Answer a = send(Optional.of("s3cret"), "GET /v1/status HTTP/1.1\r\nHost: airlock\r\nAuthorization: s3cret\r\n\r\n");
        assertThat(a.status()).isEqualTo(401);
    }

    @Test
    void tcpListener_bearerToken_reachesTheRoutes() {
        // control for the 401s: the same listener with the token routes the request (here: to a 404)
        Answer a = send(Optional.of("s3cret"), "GET /v1/nothing HTTP/1.1\r\nHost: airlock\r\nAuthorization: Bearer s3cret\r\n\r\n");
        assertThat(a.status()).isEqualTo(404);
        assertThat(a.body()).contains("no such endpoint");
    }

    @Test
    void tcpListener_tokenQueryParameter_reachesTheRoutes() {
        // the dashboard's links carry the token in the query
        Answer a = send(Optional.of("s3cret"), "GET /v1/nothing?token=s3cret HTTP/1.1\r\nHost: airlock\r\n\r\n");
        assertThat(a.status()).isEqualTo(404);
    }

    @Test
    void tcpListener_refusedRun_neverReadsTheCommandLine() {
        Answer a = send(Optional.of("s3cret"), chunkedHead("/v1/run"), chunk("{\"project\":\"demo\",\"command\":[\"id\"]}\n"), "0\r\n\r\n");
        assertThat(a.status()).isEqualTo(401);
    }

    @Test
    void run_commandLineNotJson_is400_asOneJsonDocumentNotAStream() {
        Answer a = send(chunkedHead("/v1/run"), chunk("make test\n"), "0\r\n\r\n");
        assertThat(a.status()).isEqualTo(400);
        assertThat(a.contentType()).as("an error before the command starts is no NDJSON stream").isEqualTo("application/json");
        assertThat(a.body()).contains("the body is not JSON");
    }

    @Test
    void run_withoutCommand_is400_withAnExample() {
        Answer a = send(chunkedHead("/v1/run"), chunk("{\"project\":\"demo\"}\n"), "0\r\n\r\n");
        assertThat(a.status()).isEqualTo(400);
        assertThat(a.body()).contains("`command` is required: a non-empty array of strings");
    }

    @Test
    void run_emptyCommand_is400() {
        Answer a = send(chunkedHead("/v1/run"), chunk("{\"project\":\"demo\",\"command\":[]}\n"), "0\r\n\r\n");
        assertThat(a.status()).isEqualTo(400);
        assertThat(a.body()).contains("`command` is required");
    }

    @Test
    void run_commandWithANonString_is400() {
        Answer a = send(chunkedHead("/v1/run"), chunk("{\"project\":\"demo\",\"command\":[\"sleep\",1]}\n"), "0\r\n\r\n");
        assertThat(a.status()).isEqualTo(400);
        assertThat(a.body()).contains("`command` must hold only strings");
    }

    @Test
    void run_envValueNotAString_is400_namingTheVariable() {
        Answer a = send(chunkedHead("/v1/run"), chunk("{\"project\":\"demo\",\"command\":[\"id\"],\"env\":{\"DEBUG\":true}}\n"), "0\r\n\r\n");
        assertThat(a.status()).isEqualTo(400);
        assertThat(a.body()).contains("`env.DEBUG` must be a string");
    }

    @Test
    void run_withoutProject_is400() {
        Answer a = send(chunkedHead("/v1/run"), chunk("{\"command\":[\"id\"]}\n"), "0\r\n\r\n");
        assertThat(a.status()).isEqualTo(400);
        assertThat(a.body()).contains("`project` is required");
    }

    @Test
    void run_commandLineSplitAcrossChunks_isReadAsOneLine() {
        // the first line is parsed once its newline arrives, whatever the chunking
        Answer a = send(chunkedHead("/v1/run"), chunk("{\"project\":\"demo\",\"comm"), chunk("and\":[]}\nstdin bytes"), "0\r\n\r\n");
        assertThat(a.status()).isEqualTo(400);
        assertThat(a.body()).contains("`command` is required");
    }

    @Test
    void run_commandLineWithoutNewlineBeforeTheBodyEnds_isStillParsed() {
        Answer a = send(chunkedHead("/v1/run"), chunk("{\"project\":\"demo\"}"), "0\r\n\r\n");
        assertThat(a.status()).isEqualTo(400);
        assertThat(a.body()).contains("`command` is required");
    }

    @Test
    void run_commandLineOver64KiB_is413() {
        String part = "x".repeat(8000);
        String[] chunks = new String[11];
        for (int i = 0; i < 10; i++) {
            chunks[i] = chunk(part);
        }
        chunks[10] = "0\r\n\r\n";
        Answer a = send(chunkedHead("/v1/run"), chunks);
        assertThat(a.status()).isEqualTo(413);
        assertThat(a.body()).contains("the command line (first body line) is over 65536 bytes");
    }

    @Test
    void exec_onAPathWithoutASandboxId_is400_sayingWhereExecLives() {
        Answer a = send(chunkedHead("/v1/sandboxes/mine/exec"), chunk("{\"command\":[\"id\"]}\n"), "0\r\n\r\n");
        assertThat(a.status()).isEqualTo(400);
        assertThat(a.body()).contains("POST /v1/sandboxes/mine/exec: no such endpoint").contains("Fix: POST /v1/sandboxes/ID/exec.");
    }

    @Test
    void exec_ttyNotAWindowSize_is400_describingTheShape() {
        Answer a = send(chunkedHead("/v1/sandboxes/" + ID + "/exec"), chunk("{\"command\":[\"sh\"],\"tty\":\"yes\"}\n"), "0\r\n\r\n");
        assertThat(a.status()).isEqualTo(400);
        assertThat(a.body()).contains("`tty` must be {\\\"rows\\\": R, \\\"cols\\\": C}");
    }

    @Test
    void exec_ttyWithAnImpossibleSize_is400() {
        Answer a = send(chunkedHead("/v1/sandboxes/" + ID + "/exec"), chunk("{\"command\":[\"sh\"],\"tty\":{\"rows\":0,\"cols\":80}}\n"), "0\r\n\r\n");
        assertThat(a.status()).isEqualTo(400);
        assertThat(a.body()).contains("`tty`: a terminal size is 1..65535 rows and columns, not 0x80");
    }
}
