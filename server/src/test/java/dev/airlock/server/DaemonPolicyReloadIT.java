package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 10 (5): the daemon follows a changed {@code airlock.yaml} without a restart. Judged from the
 * test host's side: a request the gateway denies never reaches it, one it allows does. Each test has
 * its positive control: {@code allowed.example.test}, allowed throughout, reaches the same host in
 * the same sandbox (in the organisation policy's test, both names reach it before the change).
 * State changes are awaited by polling the status, never by sleeping.
 */
class DaemonPolicyReloadIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PROJECT = "daemon-it";

    @TempDir
    static Path shared;
    @TempDir
    Path tmp;

    private static FakeOrigin origin;

    @BeforeAll
    static void hostAndOrigin() throws Exception {
        Root.require();
        if (!Files.isExecutable(Path.of("/usr/bin/python3")) || !Files.isExecutable(Path.of("/usr/bin/curl"))) {
            String why = "daemon reload test needs /usr/bin/python3 and /usr/bin/curl (apt-get install python3 curl)";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                org.junit.jupiter.api.Assertions.fail(why + ", and CI=true requires it");
            }
            org.junit.jupiter.api.Assumptions.abort(why + " (with CI=true this fails instead)");
        }
        origin = FakeOrigin.start(shared, "control-1", "control-2", "control-3", "later-1", "later-2", "later-3", "later-4");
    }

    @AfterAll
    static void closeOrigin() {
        if (origin != null) {
            origin.close();
        }
    }

    /** The fixture's daemon, with both test names resolving (through its hosts map) to the test host. */
    private Path config(String... allow) throws Exception {
        Path config = DaemonFixture.write(tmp, 1, 4);
        Files.writeString(tmp.resolve("hosts"), String.join("\n", FakeOrigin.ADDRESS + " allowed.example.test",
                FakeOrigin.ADDRESS + " later.example.test", "198.19.250.1 prod.example.test", ""));
        writePolicy(allow);
        return config;
    }

    private void writePolicy(String... allow) throws Exception {
        Files.writeString(tmp.resolve("airlock.yaml"), String.join("\n",
                "version: 1",
                "project: " + PROJECT,
                "network:",
                "  allow: [" + String.join(", ", allow) + "]",
                "resources: { memory: 256MiB, cpus: 1, pids: 128 }",
                "pool: { min: 1, max: 4, targetHitRate: 0.9 }", ""));
    }

    /** The HTTP status each GET got through the sandbox's explicit proxy (403: the gateway refused it). */
    private static String fetch(String... urls) {
        StringBuilder script = new StringBuilder();
        for (String u : urls) {
            script.append("echo \"").append(u).append("=$(curl -s -m 10 -o /dev/null -w '%{http_code}' http://").append(u).append(")\"; ");
        }
        return script.toString();
    }

    private static String run(DaemonClient c, String script) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        JsonNode last = c.run(PROJECT, List.of("/bin/bash", "-c", script), Map.of(), new ByteArrayInputStream(new byte[0]), out,
                OutputStream.nullOutputStream(), n -> {
                });
        assertThat(last.path("exit").asInt()).as(out.toString(StandardCharsets.UTF_8)).isZero();
        return out.toString(StandardCharsets.UTF_8);
    }

    private static String exec(DaemonClient c, String id, String script) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        JsonNode last = c.exec(id, List.of("/bin/bash", "-c", script), Map.of(), new ByteArrayInputStream(new byte[0]), out,
                OutputStream.nullOutputStream());
        assertThat(last.path("exit").asInt()).as(out.toString(StandardCharsets.UTF_8)).isZero();
        return out.toString(StandardCharsets.UTF_8);
    }

    /** A page that is not JSON (the metrics, the dashboard), read whole from the unix socket. */
    private String page(String path) throws Exception {
        try (java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            ch.connect(java.net.UnixDomainSocketAddress.of(tmp.resolve("state/daemon.sock")));
            OutputStream out = java.nio.channels.Channels.newOutputStream(ch);
            out.write(("GET " + path + " HTTP/1.1\r\nHost: airlock\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            java.io.InputStream in = new java.io.BufferedInputStream(java.nio.channels.Channels.newInputStream(ch));
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                int b = in.read();
                assertThat(b).as("the response head so far: " + head).isNotNegative();
                head.append((char) b);
            }
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
            assertThat(m.find()).as(head.toString()).isTrue();
            return new String(in.readNBytes(Integer.parseInt(m.group(1))), StandardCharsets.UTF_8);
        }
    }

    private static long reloads(DaemonClient c) {
        return DaemonIT.status(c).path("policyReloads").asLong();
    }

    @Test
    void claim_afterTheFileChanged_getsTheNewRules() throws Exception {
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config("allowed.example.test")), System.err)) {
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            DaemonIT.eventually(() -> DaemonIT.status(c).path("ready").asInt() == 1, "one sandbox warm");
            assertThat(run(c, fetch("allowed.example.test/control-1", "later.example.test/later-1")))
                    .contains("allowed.example.test/control-1=200", "later.example.test/later-1=403");
            DaemonIT.eventually(() -> origin.received("/control-1"), "positive control: the host answers this sandbox " + origin.requests());
            assertThat(origin.received("/later-1")).as("denied before the change: nothing reached the host").isFalse();

            writePolicy("allowed.example.test", "later.example.test");
            DaemonIT.eventually(() -> reloads(c) == 1, "the daemon reloaded the changed file");
            assertThat(DaemonIT.status(c).path("policyError").isNull()).isTrue();

            assertThat(run(c, fetch("later.example.test/later-2"))).contains("later.example.test/later-2=200");
            DaemonIT.eventually(() -> origin.received("/later-2"), "the next claim follows the new file: " + origin.requests());
            assertThat(page("/metrics")).contains("airlock_policy_reloads_total{project=\"daemon-it\",result=\"applied\"} 1.0");
        }
    }

    @Test
    void claimedSandbox_nextConnection_followsTheNewFile() throws Exception {
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config("allowed.example.test")), System.err)) {
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            DaemonIT.eventually(() -> DaemonIT.status(c).path("ready").asInt() == 1, "one sandbox warm");
            DaemonClient.Response claim = c.post("/v1/claims", JSON.createObjectNode().put("project", PROJECT));
            assertThat(claim.status()).isEqualTo(201);
            String id = claim.body().path("sandbox").asText();
            assertThat(exec(c, id, fetch("allowed.example.test/control-2", "later.example.test/later-3")))
                    .contains("allowed.example.test/control-2=200", "later.example.test/later-3=403");
            DaemonIT.eventually(() -> origin.received("/control-2"), "positive control " + origin.requests());
            assertThat(origin.received("/later-3")).isFalse();

            // the new file allows only the other name: both directions switch in the live sandbox
            writePolicy("later.example.test");
            DaemonIT.eventually(() -> reloads(c) == 1, "the daemon reloaded the changed file");

            assertThat(exec(c, id, fetch("later.example.test/later-4", "allowed.example.test/control-3")))
                    .contains("later.example.test/later-4=200", "allowed.example.test/control-3=403");
            DaemonIT.eventually(() -> origin.received("/later-4"), "the claimed sandbox's next connection is allowed: " + origin.requests());
            assertThat(origin.received("/control-3")).as("and the name the new file dropped is denied to it").isFalse();
            assertThat(c.delete("/v1/sandboxes/" + id).status()).isEqualTo(200);
        }
    }

    @Test
    void brokenFile_keepsTheOldPolicy_showsTheError_andFixingItClearsIt() throws Exception {
        Path config = config("allowed.example.test");
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), System.err)) {
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            DaemonIT.eventually(() -> DaemonIT.status(c).path("ready").asInt() == 1, "one sandbox warm");

            // line 4, column 45: a public-suffix wildcard, which the loader refuses
            writePolicy("allowed.example.test", "later.example.test", "\"*.com\"");
            DaemonIT.eventually(() -> DaemonIT.status(c).hasNonNull("policyError"), "the error is shown");
            String error = DaemonIT.status(c).path("policyError").asText();
            assertThat(error).contains(tmp.resolve("airlock.yaml") + ":4:").contains("fix");
            assertThat(reloads(c)).as("nothing was applied").isZero();
            assertThat(page("/")).contains("policy-error").contains("the old policy stays in force");
            assertThat(page("/metrics")).contains("airlock_policy_reloads_total{project=\"daemon-it\",result=\"failed\"}")
                    .contains("airlock_policy_reload_problem{project=\"daemon-it\"} 1.0");

            String broken = run(c, fetch("allowed.example.test/broken-control", "later.example.test/broken-later"));
            assertThat(broken).contains("allowed.example.test/broken-control=404", "later.example.test/broken-later=403");
            DaemonIT.eventually(() -> origin.received("/broken-control"), "positive control: the old policy still allows its name");
            assertThat(origin.received("/broken-later")).as("the broken file's new name is not allowed").isFalse();

            writePolicy("allowed.example.test", "later.example.test");
            DaemonIT.eventually(() -> DaemonIT.status(c).path("policyError").isNull() && reloads(c) == 1, "fixed: the error clears");
            assertThat(run(c, fetch("later.example.test/fixed-later"))).contains("later.example.test/fixed-later=404");
            DaemonIT.eventually(() -> origin.received("/fixed-later"), "the fixed file is in force: " + origin.requests());
            assertThat(page("/metrics")).contains("airlock_policy_reload_problem{project=\"daemon-it\"} 0.0");
        }
    }

    @Test
    void orgPolicy_aNewProductionName_isDeniedToALiveSandbox_byNameAndByItsAddress() throws Exception {
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config("allowed.example.test", "later.example.test")),
                System.err)) {
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            DaemonIT.eventually(() -> DaemonIT.status(c).path("ready").asInt() == 1, "one sandbox warm");
            String id = c.post("/v1/claims", JSON.createObjectNode().put("project", PROJECT)).body().path("sandbox").asText();
            assertThat(exec(c, id, fetch("later.example.test/org-before", "allowed.example.test/org-control")))
                    .contains("later.example.test/org-before=404", "allowed.example.test/org-control=404");
            DaemonIT.eventually(() -> origin.received("/org-before") && origin.received("/org-control"),
                    "control: both names reach the host before the change " + origin.requests());

            // the security team lists one of the names as production; the project's file is unchanged
            Files.writeString(tmp.resolve("org.yaml"), String.join("\n", "version: 1", "production:", "  - cidr: 198.19.250.0/24",
                    "  - later.example.test", ""));
            DaemonIT.eventually(() -> reloads(c) == 1, "the daemon reloaded the organisation policy");

            assertThat(exec(c, id, fetch("later.example.test/org-after", "allowed.example.test/org-same-address")))
                    .contains("later.example.test/org-after=403", "allowed.example.test/org-same-address=403");
            assertThat(origin.received("/org-after")).as("the production name is denied").isFalse();
            assertThat(origin.received("/org-same-address")).as("and so is its address, through a name still allowed").isFalse();
            assertThat(c.delete("/v1/sandboxes/" + id).status()).isEqualTo(200);
        }
    }

    private static void git(Path repo, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("git", "-C", repo.toString(), "-c", "user.name=t", "-c",
                "user.email=t@example.test"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("git " + List.of(args) + ": " + out).isZero();
    }

    private void writePolicyOverTemplate(Path src, String setup) throws Exception {
        writePolicy("allowed.example.test");
        Files.writeString(tmp.resolve("airlock.yaml"), Files.readString(tmp.resolve("airlock.yaml")) + String.join("\n",
                "workspace:", "  source: " + src, "  ref: main", "  setup: [\"" + setup + "\"]", "  cacheKey: [package-lock.json]", ""));
    }

    @Test
    void workspaceSetup_changed_rebuildsTheTemplate_andTheReadyMemberRotates() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x"));
        git(src, "init", "-q", "-b", "main");
        Files.writeString(src.resolve("package-lock.json"), "v1\n");
        git(src, "add", "-A");
        git(src, "commit", "-q", "-m", "first");
        Path config = config("allowed.example.test");
        writePolicyOverTemplate(src, "cat package-lock.json > built.txt");
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), System.err)) {
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            DaemonIT.eventually(() -> DaemonIT.status(c).path("ready").asInt() == 1, "the first template built and a member warm");
            String first = DaemonIT.status(c).path("template").asText();
            assertThat(run(c, "cat built.txt")).isEqualTo("v1\n");
            DaemonIT.eventually(() -> DaemonIT.status(c).path("ready").asInt() == 1, "refilled");
            String before = c.get("/v1/sandboxes").body().get(0).path("sandbox").asText();

            writePolicyOverTemplate(src, "echo set-up-anew > built.txt");
            DaemonIT.eventually(() -> reloads(c) == 1, "the daemon reloaded the changed file");
            DaemonIT.eventually(() -> !DaemonIT.status(c).path("template").asText().equals(first), "the template rebuilt");
            DaemonIT.eventually(() -> {
                try {
                    JsonNode all = c.get("/v1/sandboxes").body();
                    return all.size() == 1 && !all.get(0).path("sandbox").asText().equals(before)
                            && DaemonIT.status(c).path("ready").asInt() == 1;
                } catch (java.io.IOException e) {
                    return false;
                }
            }, "the member prepared over the old template was replaced");
            assertThat(run(c, "cat built.txt")).isEqualTo("set-up-anew\n");
        }
    }
}
