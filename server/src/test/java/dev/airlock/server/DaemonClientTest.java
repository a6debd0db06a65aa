package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line's client of the daemon API (issue 11 §4), in-process: against the real
 * {@link ApiServer} and {@link ApiHandler} with no daemon behind them for the answers they give
 * without one, and against a {@link CannedDaemon} for answers that need a daemon's state.
 */
class DaemonClientTest {

    private static InputStream noStdin() {
        return new ByteArrayInputStream(new byte[0]);
    }

    @TempDir
    Path dir;

    /** One API for the class: each server's close waits out Netty's 2 s quiet period. */
    @TempDir
    static Path shared;

    private static ApiServer sharedApi;

    @BeforeAll
    static void startApi() throws IOException {
        sharedApi = ApiServer.start(null, shared.resolve("api.sock"), Optional.empty(), Optional.empty());
    }

    @AfterAll
    static void stopApi() {
        sharedApi.close();
    }

    private Path socket() {
        return dir.resolve("api.sock");
    }

    private ApiServer api() throws IOException {
        return ApiServer.start(null, socket(), Optional.empty(), Optional.empty());
    }

    /** A client of the shared API (the real handler, no daemon behind it). */
    private static DaemonClient apiClient() {
        return DaemonClient.ifRunning(shared.resolve("api.sock")).orElseThrow(() -> new AssertionError("the shared API does not answer"));
    }

    private DaemonClient client() {
        return DaemonClient.ifRunning(socket()).orElseThrow(() -> new AssertionError("no daemon answers on " + socket()));
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    // --- finding the daemon

    @Test
    void ifRunning_withoutASocketFile_isEmpty() {
        assertThat(DaemonClient.ifRunning(socket())).isEmpty();
    }

    @Test
    void ifRunning_socketFileNobodyListensOn_isEmpty() throws IOException {
        Files.writeString(socket(), ""); // a left-over file, as a killed daemon leaves its socket
        assertThat(DaemonClient.ifRunning(socket())).isEmpty();
    }

    @Test
    void ifRunning_whileTheApiServes_isPresent_andEmptyOnceItStopped() throws IOException {
        try (ApiServer api = api()) {
            assertThat(DaemonClient.ifRunning(socket())).isPresent();
        }
        assertThat(DaemonClient.ifRunning(socket())).isEmpty();
    }

    // --- plain requests: the status and the daemon's error message come back as they were sent

    @Test
    void get_unknownEndpoint_returns404_withTheDaemonsFixText() throws IOException {
        DaemonClient.Response r = apiClient().get("/v1/nothing");
        assertThat(r.status()).isEqualTo(404);
        assertThat(r.ok()).isFalse();
        assertThat(r.error()).isEqualTo("GET /v1/nothing: no such endpoint. Fix: see docs/daemon.md for the API.");
    }

    @Test
    void post_claimWithAnInvalidSessionName_returns400_withTheNamingRule() throws IOException {
        DaemonClient.Response r = apiClient().post("/v1/claims",
                JsonNodeFactory.instance.objectNode().put("project", "demo").put("name", "-dash"));
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.error()).startsWith("session name '-dash' is not valid. Fix:");
    }

    @Test
    void post_exportToARelativePath_returns400() throws IOException {
        DaemonClient.Response r = apiClient().post("/v1/sandboxes/alk0123abcd/export", JsonNodeFactory.instance.objectNode().put("to", "out"));
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.error()).contains("`to` must be an absolute path");
    }

    @Test
    void delete_ofASubresource_returns404() throws IOException {
        DaemonClient.Response r = apiClient().delete("/v1/sandboxes/alk0123abcd/export");
        assertThat(r.status()).isEqualTo(404);
        assertThat(r.error()).contains("Fix: DELETE /v1/sandboxes/ID.");
    }

    @Test
    void responseError_withoutAnErrorField_namesTheStatus() {
        DaemonClient.Response r = new DaemonClient.Response(502, JsonNodeFactory.instance.objectNode());
        assertThat(r.error()).isEqualTo("HTTP 502");
        assertThat(new DaemonClient.Response(201, JsonNodeFactory.instance.objectNode()).ok()).isTrue();
    }

    // --- streamed commands: a refusal is a DaemonException carrying the daemon's message

    @Test
    void run_commandTheDaemonRefuses_throwsItsMessage() throws IOException {
        assertThatThrownBy(() -> apiClient().run("demo", List.of(), Map.of(), noStdin(), new ByteArrayOutputStream(),
                new ByteArrayOutputStream(), n -> { }))
                .isInstanceOf(DaemonException.class)
                .hasMessageStartingWith("`command` is required: a non-empty array of strings");
    }

    @Test
    void exec_onAReferenceThatIsNoSandboxId_throwsTheDaemonsFix() throws IOException {
        assertThatThrownBy(() -> apiClient().exec("mine", List.of("id"), Map.of(), noStdin(), new ByteArrayOutputStream(),
                new ByteArrayOutputStream()))
                .isInstanceOf(DaemonException.class)
                .hasMessage("POST /v1/sandboxes/mine/exec: no such endpoint. Fix: POST /v1/sandboxes/ID/exec.");
    }

    @Test
    void run_errorWithoutAMessage_namesTheStatus() throws IOException {
        try (CannedDaemon d = CannedDaemon.on(socket(), CannedDaemon.json(503, "{}"))) {
            assertThatThrownBy(() -> client().run("demo", List.of("id"), Map.of(), noStdin(), new ByteArrayOutputStream(),
                    new ByteArrayOutputStream(), n -> { }))
                    .isInstanceOf(DaemonException.class).hasMessage("the daemon answered HTTP 503");
        }
    }

    @Test
    void runPolicy_policyTheDaemonDoesNotPool_isEmpty_soTheCallerRunsWithoutIt() throws IOException, DaemonException {
        String notPooled = "{\"error\":\"no pooled project has the policy /p.yaml\",\"notPooled\":true}";
        try (CannedDaemon d = CannedDaemon.on(socket(), CannedDaemon.json(404, notPooled))) {
            assertThat(client().runPolicy(Path.of("/p.yaml"), List.of("id"), Map.of(), noStdin(), new ByteArrayOutputStream(),
                    new ByteArrayOutputStream(), n -> { })).isEmpty();
        }
    }

    @Test
    void runPolicy_otherRefusal_throws() throws IOException {
        try (CannedDaemon d = CannedDaemon.on(socket(), CannedDaemon.json(409, "{\"error\":\"pool demo is exhausted\"}"))) {
            assertThatThrownBy(() -> client().runPolicy(Path.of("/p.yaml"), List.of("id"), Map.of(), noStdin(),
                    new ByteArrayOutputStream(), new ByteArrayOutputStream(), n -> { }))
                    .isInstanceOf(DaemonException.class).hasMessage("pool demo is exhausted");
        }
    }

    @Test
    void run_ndjsonStream_splitsStdoutAndStderr_reportsTheStart_andReturnsTheLastLine() throws IOException, DaemonException {
        // a line split across chunks, and two lines in one chunk, as the daemon's writes may fall
        String start = "{\"sandbox\":\"alk0123abcd\",\"warm\":true,\"claimMs\":3.5}\n";
        String out = "{\"stream\":\"stdout\",\"data\":\"" + b64("hello ") + "\"}\n";
        String err = "{\"stream\":\"stderr\",\"data\":\"" + b64("oops\n") + "\"}\n";
        String out2 = "{\"stream\":\"stdout\",\"data\":\"" + b64("world\n") + "\"}\n";
        String exit = "{\"exit\":3,\"summary\":\"released\"}\n";
        String raw = CannedDaemon.ndjson(start, out.substring(0, 10), out.substring(10) + err, out2 + exit);
        try (CannedDaemon d = CannedDaemon.on(socket(), raw)) {
            ByteArrayOutputStream stdout = new ByteArrayOutputStream();
            ByteArrayOutputStream stderr = new ByteArrayOutputStream();
            List<JsonNode> started = new ArrayList<>();
            JsonNode last = client().run("demo", List.of("make"), Map.of("A", "1"), noStdin(), stdout, stderr, started::add);
            assertThat(stdout.toString(StandardCharsets.UTF_8)).isEqualTo("hello world\n");
            assertThat(stderr.toString(StandardCharsets.UTF_8)).isEqualTo("oops\n");
            assertThat(started).singleElement().satisfies(n -> assertThat(n.path("sandbox").asText()).isEqualTo("alk0123abcd"));
            assertThat(last.path("exit").asInt()).isEqualTo(3);
            assertThat(last.path("summary").asText()).isEqualTo("released");
            assertThat(d.requests).containsExactly("POST /v1/run HTTP/1.1");
        }
    }

    @Test
    void run_streamEndingWithoutAnExitLine_throws_sayingTheDaemonMayHaveStopped() throws IOException {
        String raw = CannedDaemon.ndjson("{\"sandbox\":\"alk0123abcd\"}\n", "{\"stream\":\"stdout\",\"data\":\"" + b64("partial") + "\"}\n");
        try (CannedDaemon d = CannedDaemon.on(socket(), raw)) {
            assertThatThrownBy(() -> client().run("demo", List.of("id"), Map.of(), noStdin(), new ByteArrayOutputStream(),
                    new ByteArrayOutputStream(), n -> { }))
                    .isInstanceOf(DaemonException.class).hasMessageContaining("without an exit code (did it stop?)");
        }
    }

    @Test
    void exec_sendsToTheSandboxesExecPath() throws IOException, DaemonException {
        try (CannedDaemon d = CannedDaemon.on(socket(), CannedDaemon.ndjson("{\"exit\":0}\n"))) {
            JsonNode last = client().exec("alk0123abcd", List.of("true"), Map.of(), noStdin(), new ByteArrayOutputStream(),
                    new ByteArrayOutputStream());
            assertThat(last.path("exit").asInt()).isZero();
            assertThat(d.requests).containsExactly("POST /v1/sandboxes/alk0123abcd/exec HTTP/1.1");
        }
    }

    // --- resolveSession: the daemon's sandbox list, as `docker` resolves references

    private static final String SANDBOXES = """
            [{"sandbox":"alk0123abcd","state":"claimed","name":"web"},
             {"sandbox":"alk0124ffff","state":"claimed"},
             {"sandbox":"alk9999aaaa","state":"warm"}]""";

    private String resolve(String ref) throws IOException, DaemonException {
        try (CannedDaemon d = CannedDaemon.on(socket(), CannedDaemon.json(200, SANDBOXES))) {
            String id = client().resolveSession(ref);
            assertThat(d.requests).containsExactly("GET /v1/sandboxes HTTP/1.1");
            return id;
        }
    }

    @Test
    void resolveSession_exactId_isThatSandbox() throws IOException, DaemonException {
        assertThat(resolve("alk0124ffff")).isEqualTo("alk0124ffff");
    }

    @Test
    void resolveSession_sessionName_isItsSandbox() throws IOException, DaemonException {
        assertThat(resolve("web")).isEqualTo("alk0123abcd");
    }

    @Test
    void resolveSession_uniqueIdPrefix_isThatSandbox() throws IOException, DaemonException {
        assertThat(resolve("alk0123")).isEqualTo("alk0123abcd");
    }

    @Test
    void resolveSession_ambiguousPrefix_throws_listingTheCandidates() {
        assertThatThrownBy(() -> resolve("alk012")).isInstanceOf(DaemonException.class)
                .hasMessage("session alk012 is ambiguous: it starts alk0123abcd, alk0124ffff."
                        + " Fix: give more of the id, or the session's name (see `airlock sandbox list`).");
    }

    @Test
    void resolveSession_unknownReference_throws_pointingAtTheList() {
        assertThatThrownBy(() -> resolve("api")).isInstanceOf(DaemonException.class)
                .hasMessage("no session api; see `airlock sandbox list`");
    }

    @Test
    void resolveSession_sandboxNotClaimed_isNoSession() {
        // a warm sandbox in the pool is nobody's session
        assertThatThrownBy(() -> resolve("alk9999aaaa")).isInstanceOf(DaemonException.class).hasMessageStartingWith("no session alk9999aaaa");
    }

    @Test
    void resolveSession_daemonRefusesTheList_throwsItsMessage() throws IOException {
        try (CannedDaemon d = CannedDaemon.on(socket(), CannedDaemon.json(500, "{\"error\":\"internal error: state db locked\"}"))) {
            assertThatThrownBy(() -> client().resolveSession("web")).isInstanceOf(DaemonException.class)
                    .hasMessage("internal error: state db locked");
        }
    }
}
