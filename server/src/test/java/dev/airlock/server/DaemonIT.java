package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon against the real kernel, through its unix-socket API: runs, 50 concurrent claims, and
 * recovery after {@code kill -9}. Traffic stays on the sandbox's own link: the only target a
 * command dials is the gateway itself (the host side of its link), which denies it.
 */
class DaemonIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long SELF = ProcessHandle.current().pid();

    @TempDir
    Path tmp;

    @BeforeAll
    static void root() {
        Root.require();
    }

    static void eventually(BooleanSupplier c, String what) throws InterruptedException {
        for (int i = 0; i < 600 && !c.getAsBoolean(); i++) {
            Thread.sleep(50);
        }
        assertThat(c.getAsBoolean()).as(what).isTrue();
    }

    static JsonNode status(DaemonClient c) {
        try {
            return c.get("/v1/status").body().path("projects").get(0);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void run_fromTheWarmPool_streamsStdio_returnsTheExitCode_andSummarisesDenials() throws Exception {
        Path config = DaemonFixture.write(tmp, 1, 4);
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), System.err)) {
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            eventually(() -> status(c).path("ready").asInt() == 1, "one sandbox warm");
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            List<JsonNode> started = new ArrayList<>();
            // A name no rule allows, through the explicit proxy: the gateway denies it and never resolves or dials it.
            JsonNode last = c.run("daemon-it", List.of("/bin/bash", "-c",
                    "echo \"$AIRLOCK_PROJECT $TASK $(pwd)\"; cat; echo oops >&2;"
                            + " gw=${HTTP_PROXY#http://}; exec 3<>/dev/tcp/${gw%:*}/${gw#*:};"
                            + " printf 'GET http://prod.example.test/ HTTP/1.1\\r\\nHost: prod.example.test\\r\\n\\r\\n' >&3;"
                            + " head -1 <&3 | cut -c1-12; exit 7"),
                    Map.of("TASK", "t-42"), new ByteArrayInputStream("stdin line\n".getBytes(StandardCharsets.UTF_8)), out, err, started::add);
            assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("daemon-it t-42 /workspace\nstdin line\nHTTP/1.1 403\n");
            assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("oops\n");
            assertThat(last.path("exit").asInt()).isEqualTo(7);
            assertThat(started).singleElement().satisfies(s -> assertThat(s.path("warm").asBoolean()).isTrue());
            // issue 19 §2: a project without workspace: works in an empty directory of its own, and the claim says so
            assertThat(started.get(0).path("workspace").asText()).isEqualTo("empty");
            assertThat(started.get(0).has("template")).isFalse();
            assertThat(last.path("summary").asText()).contains("prod.example.test:80").contains("no-rule").contains("- prod.example.test")
                    .as("issue 18 (3): names the file the daemon loaded").contains("network.allow in " + tmp).doesNotContain("in daemon:");
            String id = started.get(0).path("sandbox").asText();
            eventually(() -> !DaemonFixture.netnsExists(id), "the released sandbox is destroyed");
            eventually(() -> status(c).path("ready").asInt() == 1, "refilled");
            assertThat(status(c).path("warmClaims").asInt()).isEqualTo(1);
        }
        assertThat(DaemonFixture.leasesOf(SELF)).as("nothing left after the daemon stops").isEmpty();
    }

    @Test
    void run_whoseCommandEndsBeforeTheRequestBody_keepsTheConnectionUntilTheBodyEnds() throws Exception {
        Path config = DaemonFixture.write(tmp, 1, 4);
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), System.err)) {
            eventually(() -> DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).map(c -> status(c).path("ready").asInt() == 1)
                    .orElse(false), "one sandbox warm");
            try (java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
                ch.connect(java.net.UnixDomainSocketAddress.of(tmp.resolve("state/daemon.sock")));
                byte[] line = "{\"project\":\"daemon-it\",\"command\":[\"true\"]}\n".getBytes(StandardCharsets.UTF_8);
                ch.write(java.nio.ByteBuffer.wrap(("POST /v1/run HTTP/1.1\r\nHost: airlock\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + Integer.toHexString(line.length) + "\r\n" + new String(line, StandardCharsets.UTF_8) + "\r\n")
                        .getBytes(StandardCharsets.UTF_8)));
                // the whole answer arrives while the client has not ended its body (stdin still open)
                ByteArrayOutputStream answer = new ByteArrayOutputStream();
                java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(8192);
                while (!answer.toString(StandardCharsets.UTF_8).endsWith("\r\n0\r\n\r\n")) {
                    buf.clear();
                    assertThat(ch.read(buf)).as("the answer so far: " + answer).isPositive();
                    answer.write(buf.array(), 0, buf.position());
                }
                assertThat(answer.toString(StandardCharsets.UTF_8)).contains("\"exit\":0");
                Thread.sleep(200); // before the fix the daemon had closed the connection by now
                // stdin's end: must reach the daemon (it failed with "Broken pipe")
                ch.write(java.nio.ByteBuffer.wrap("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
                buf.clear();
                assertThat(ch.read(buf)).as("then the daemon closes: EOF, not a reset").isEqualTo(-1);
            }
        }
    }

    @Test
    void exec_inAClaimedSandbox_runsSeveralCommands_inOneWorkspace() throws Exception {
        Path config = DaemonFixture.write(tmp, 1, 4);
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), System.err)) {
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            DaemonClient.Response claim = c.post("/v1/claims", JSON.createObjectNode().put("project", "daemon-it"));
            assertThat(claim.status()).isEqualTo(201);
            String id = claim.body().path("sandbox").asText();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            JsonNode first = c.exec(id, List.of("/bin/sh", "-c", "echo one > note; echo first"), Map.of(),
                    new ByteArrayInputStream(new byte[0]), out, OutputStream.nullOutputStream());
            JsonNode second = c.exec(id, List.of("/bin/sh", "-c", "cat note; exit 3"), Map.of(),
                    new ByteArrayInputStream(new byte[0]), out, OutputStream.nullOutputStream());
            assertThat(first.path("exit").asInt()).isZero();
            assertThat(second.path("exit").asInt()).isEqualTo(3);
            assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("first\none\n");
            assertThat(c.delete("/v1/sandboxes/" + id).status()).isEqualTo(200);
            assertThat(c.post("/v1/sandboxes/" + id + "/exec", JSON.createObjectNode()).status()).as("released").isIn(400, 404);
        }
    }

    @Test
    void autoSize_followsTheRecordedUsage_andClaimsAreRecorded() throws Exception {
        Path config = DaemonFixture.write(tmp, -1, 8);
        java.nio.file.Files.createDirectories(tmp.resolve("state"));
        java.time.Instant now = java.time.Instant.now();
        try (dev.airlock.pool.state.StateDatabase store = dev.airlock.pool.state.StateDatabase.open(tmp.resolve("state/airlock.db"))) {
            // four weeks of two claims a minute, each member having taken a minute to build: λT = 2
            List<dev.airlock.pool.usage.ClaimRecord> history = new ArrayList<>();
            for (long m = 28L * 24 * 60; m > 1; m--) {
                for (int k = 0; k < 2; k++) {
                    history.add(dev.airlock.pool.usage.ClaimRecord.warm("daemon-it", now.minusSeconds(m * 60 + k * 20),
                            java.time.Duration.ofMillis(1), java.time.Duration.ofMinutes(1), java.time.Duration.ofSeconds(30)));
                }
            }
            store.appendAll(history);
        }
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), System.err)) {
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            JsonNode s = status(c);
            assertThat(s.path("sizing").asText()).isEqualTo("auto");
            // Erlang-B: the smallest S with 1 - B(S, 2) >= 0.9 is 4 (B(4,2) = 0.095), the policy's max
            assertThat(s.path("desired").asInt()).isEqualTo(4);
            eventually(() -> status(c).path("ready").asInt() == 4, "auto-sized pool filled");
            assertThat(c.delete("/v1/sandboxes/" + c.post("/v1/claims", JSON.createObjectNode().put("project", "daemon-it"))
                    .body().path("sandbox").asText()).status()).isEqualTo(200);
        }
        try (dev.airlock.pool.state.StateDatabase store = dev.airlock.pool.state.StateDatabase.open(tmp.resolve("state/airlock.db"))) {
            assertThat(store.query("daemon-it", now.minusSeconds(5))).singleElement()
                    .satisfies(r -> assertThat(r.result()).isEqualTo(dev.airlock.pool.usage.ClaimRecord.Result.WARM));
        }
    }

    @Test
    void api_isUnreachableFromASandbox_evenListeningOnEveryAddress_whileTheHostReachesIt() throws Exception {
        Path token = tmp.resolve("token");
        java.nio.file.Files.writeString(token, "x".repeat(48));
        java.nio.file.Files.setPosixFilePermissions(token, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Path config = DaemonFixture.write(tmp, 1, 4, "listen: 0.0.0.0:0", "tokenFile: " + token);
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), System.err)) {
            int port = server.tcpAddress().orElseThrow().getPort();
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            eventually(() -> status(c).path("ready").asInt() == 1, "one sandbox warm");
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            String id = c.post("/v1/claims", JSON.createObjectNode().put("project", "daemon-it")).body().path("sandbox").asText();
            c.exec(id, List.of("/bin/bash", "-c", "gw=${HTTP_PROXY#http://}; gw=${gw%:*}; echo $gw;"
                    + " answer=$(timeout 5 bash -c \"exec 3<>/dev/tcp/$gw/" + port + " && printf 'GET /v1/status HTTP/1.0\\\\r\\\\nAuthorization:"
                    + " Bearer " + "x".repeat(48) + "\\\\r\\\\n\\\\r\\\\n' >&3 && head -c 12 <&3\" 2>/dev/null);"
                    + " if [ -n \"$answer\" ]; then echo \"ANSWERED $answer\"; else echo NO-ANSWER; fi;"
                    + " if test -e " + tmp.resolve("state/daemon.sock") + "; then echo SOCKET-SEEN; else echo SOCKET-HIDDEN; fi"),
                    Map.of(), new ByteArrayInputStream(new byte[0]), out, OutputStream.nullOutputStream());
            List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
            assertThat(lines).hasSize(3);
            assertThat(lines.get(1)).as("the API from inside a sandbox").isEqualTo("NO-ANSWER");
            assertThat(lines.get(2)).isEqualTo("SOCKET-HIDDEN");
            // Positive control: the same address and port answer from the host, with the token.
            java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create("http://" + lines.get(0) + ":" + port + "/v1/status")).header("Authorization", "Bearer " + "x".repeat(48))
                    .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(java.nio.file.Files.exists(tmp.resolve("state/daemon.sock"))).isTrue();
            assertThat(c.delete("/v1/sandboxes/" + id).status()).isEqualTo(200);
        }
    }

    @Test
    void runPolicy_findsTheProjectByItsPolicyFile_andAnUnpooledPolicyRunsNothing() throws Exception {
        Path config = DaemonFixture.write(tmp, 1, 4);
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), System.err)) {
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            java.util.Optional<JsonNode> pooled = c.runPolicy(tmp.resolve("./airlock.yaml"), List.of("echo", "pooled"), Map.of(),
                    new ByteArrayInputStream(new byte[0]), out, OutputStream.nullOutputStream(), s -> { });
            assertThat(pooled).hasValueSatisfying(last -> assertThat(last.path("exit").asInt()).isZero());
            assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("pooled\n");
            java.nio.file.Files.writeString(tmp.resolve("other.yaml"), "version: 1\nproject: other\n");
            assertThat(c.runPolicy(tmp.resolve("other.yaml"), List.of("echo", "never"), Map.of(), new ByteArrayInputStream(new byte[0]),
                    out, OutputStream.nullOutputStream(), s -> { })).isEmpty();
            assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("pooled\n");
        }
    }

    @Test
    void claim_fiftyConcurrent_getFiftyDistinctSandboxes() throws Exception {
        Path config = DaemonFixture.write(tmp, 4, 64);
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), System.err)) {
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            eventually(() -> status(c).path("ready").asInt() == 4, "four warm");
            ExecutorService pool = Executors.newFixedThreadPool(50);
            CountDownLatch go = new CountDownLatch(1);
            List<Future<DaemonClient.Response>> claims = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                claims.add(pool.submit(() -> {
                    go.await();
                    return c.post("/v1/claims", JSON.createObjectNode().put("project", "daemon-it"));
                }));
            }
            go.countDown();
            Set<String> ids = new HashSet<>();
            int warm = 0;
            for (Future<DaemonClient.Response> f : claims) {
                DaemonClient.Response r = f.get(300, TimeUnit.SECONDS);
                assertThat(r.status()).as(r.body().toString()).isEqualTo(201);
                assertThat(ids.add(r.body().path("sandbox").asText())).as("a sandbox handed out twice").isTrue();
                warm += r.body().path("warm").asBoolean() ? 1 : 0;
            }
            pool.shutdown();
            assertThat(ids).hasSize(50);
            assertThat(warm).isBetween(1, 50);
            assertThat(c.get("/v1/sandboxes").body().findValuesAsText("state").stream().filter("claimed"::equals)).hasSize(50);
            for (String id : ids) {
                assertThat(c.delete("/v1/sandboxes/" + id).status()).isEqualTo(200);
            }
            assertThat(c.delete("/v1/sandboxes/" + ids.iterator().next()).status()).as("released twice").isEqualTo(404);
        }
        assertThat(DaemonFixture.leasesOf(SELF)).as("nothing left after the daemon stops").isEmpty();
    }

    @Test
    void killNine_thenRestart_reapsTheOrphans_recordsTheRecovery_andRefills() throws Exception {
        Path config = DaemonFixture.write(tmp, 2, 8);
        Process child = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-cp",
                System.getProperty("java.class.path"), DaemonMain.class.getName(), config.toString())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("child.log").toFile()).start();
        List<String> orphans;
        List<Path> orphanWorkspaces;
        try {
            eventually(() -> DaemonFixture.leasesOfQuietly(child.pid()).size() == 2
                    && DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).map(c -> status(c).path("ready").asInt() == 2).orElse(false),
                    "the child daemon warmed two sandboxes");
            orphans = DaemonFixture.leasesOf(child.pid());
            orphanWorkspaces = DaemonFixture.memberWorkspaces(tmp);
        } finally {
            child.destroyForcibly(); // SIGKILL: no shutdown hook runs
            child.waitFor(30, TimeUnit.SECONDS);
        }
        assertThat(orphans).allMatch(DaemonFixture::netnsExists);
        assertThat(orphanWorkspaces).hasSize(2).allMatch(java.nio.file.Files::isDirectory);
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), System.err)) {
            assertThat(orphans).noneMatch(DaemonFixture::netnsExists);
            assertThat(orphanWorkspaces).as("the killed daemon's member workspaces").noneMatch(java.nio.file.Files::exists);
            assertThat(server.daemon().recovered()).extracting(dev.airlock.pool.state.MemberLog.Member::id).containsExactlyInAnyOrderElementsOf(orphans);
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            assertThat(status(c).path("project").asText()).isEqualTo("daemon-it");
            eventually(() -> status(c).path("ready").asInt() == 2, "refilled after the restart");
        }
        assertThat(DaemonFixture.leasesOf(SELF)).isEmpty();
        assertThat(DaemonFixture.leasesOf(child.pid())).isEmpty();
        assertThat(DaemonFixture.memberWorkspaces(tmp)).as("after a clean stop").isEmpty();
    }
}
