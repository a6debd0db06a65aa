package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13 §2: a daemon that pools project A runs project B's policy, which it does not pool, with a
 * cold run's semantics: B's rules at the daemon's gateway (judged from the test host's side, with
 * the denied path reaching the same host from the host namespace as the positive control), the
 * organisation's production set over B's allow, the caller's directory as /workspace, the command's
 * exit code, a sandbox of its own that is gone afterwards, and root alone as the caller.
 */
class DaemonColdRunIT {

    private static final long SELF = ProcessHandle.current().pid();

    @TempDir
    static Path shared;
    @TempDir
    Path tmp;

    private static FakeOrigin origin;

    @BeforeAll
    static void hostAndOrigin() throws Exception {
        Root.require();
        if (!Files.isExecutable(Path.of("/usr/bin/python3")) || !Files.isExecutable(Path.of("/usr/bin/curl"))
                || !Files.isExecutable(Path.of("/usr/bin/setpriv"))) {
            String why = "the cold-run test needs /usr/bin/python3, /usr/bin/curl and /usr/bin/setpriv (apt-get install python3 curl util-linux)";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                org.junit.jupiter.api.Assertions.fail(why + ", and CI=true requires it");
            }
            org.junit.jupiter.api.Assumptions.abort(why + " (with CI=true this fails instead)");
        }
        origin = FakeOrigin.start(shared, "b-allowed", "b-denied", "prod", "a-only", "control");
    }

    @AfterAll
    static void closeOrigin() {
        if (origin != null) {
            origin.close();
        }
    }

    /** The fixture's daemon (pools project daemon-it), its hosts map sending the test names to the test host; B's policy beside it. */
    private Path config() throws Exception {
        Path config = DaemonFixture.write(tmp, 1, 4);
        Files.writeString(tmp.resolve("hosts"), String.join("\n", FakeOrigin.ADDRESS + " allowed.example.test",
                FakeOrigin.ADDRESS + " b-allowed.example.test", FakeOrigin.ADDRESS + " b-denied.example.test",
                "198.19.250.1 prod.example.test", ""));
        Files.createDirectories(tmp.resolve("b"));
        // B allows a production name too: the organisation policy (production 198.19.250.0/24) must win
        Files.writeString(tmp.resolve("b/airlock.yaml"), String.join("\n",
                "version: 1",
                "project: cold-b",
                "network:",
                "  allow: [b-allowed.example.test, prod.example.test]",
                "resources: { memory: 256MiB, cpus: 1, pids: 128 }", ""));
        Path work = Files.createDirectories(tmp.resolve("b/work"));
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxrwxrwx")); // the sandbox runs as nobody
        return config;
    }

    /** The daemon's log, kept for an assertion and still shown on stderr. */
    private static PrintStream teeToStderr(ByteArrayOutputStream kept) {
        return new PrintStream(new OutputStream() {
            @Override
            public void write(int b) {
                kept.write(b);
                System.err.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                kept.write(b, off, len);
                System.err.write(b, off, len);
            }
        }, true, StandardCharsets.UTF_8);
    }

    private static String fetch(String... urls) {
        StringBuilder script = new StringBuilder();
        for (String u : urls) {
            script.append("echo \"").append(u).append("=$(curl -s -m 10 -o /dev/null -w '%{http_code}' http://").append(u).append(")\"; ");
        }
        return script.toString();
    }

    @Test
    void run_ofAPolicyItDoesNotPool_runsCold_inTheCallersDirectory_underThatPolicy_andLeavesNothing() throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config()), teeToStderr(log))) {
            // The daemon says how its relay moves bytes; in the build's JVM epoll and JNA load, so it splices.
            assertThat(log.toString(StandardCharsets.UTF_8)).contains("airlock daemon: relay: splice after 128 KiB, pipes of up to 1 MiB");
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            DaemonIT.eventually(() -> DaemonIT.status(c).path("ready").asInt() == 1, "A's sandbox warm");
            Path work = tmp.resolve("b/work");
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            List<JsonNode> started = new ArrayList<>();
            Optional<JsonNode> last = c.runPolicy(tmp.resolve("b/airlock.yaml"), Optional.of(new DaemonClient.ColdWorkspace(work, false)),
                    List.of("/bin/bash", "-c", "echo \"$AIRLOCK_PROJECT $(pwd) $(cat)\"; echo made > made-here; "
                            + fetch("b-allowed.example.test/b-allowed", "b-denied.example.test/b-denied", "prod.example.test/prod",
                                    "allowed.example.test/a-only") + "exit 5"),
                    Map.of(), Optional.empty(), new ByteArrayInputStream("from stdin".getBytes(StandardCharsets.UTF_8)), out, err, started::add);

            assertThat(last).as("the daemon ran it (no notPooled)").isPresent();
            assertThat(last.get().path("exit").asInt()).as(out + " / " + err).isEqualTo(5);
            assertThat(out.toString(StandardCharsets.UTF_8)).contains("cold-b /workspace from stdin\n")
                    .contains("b-allowed.example.test/b-allowed=200", "b-denied.example.test/b-denied=403", "prod.example.test/prod=403")
                    .as("A's allow is not B's").contains("allowed.example.test/a-only=403");
            assertThat(started).singleElement().satisfies(s -> {
                assertThat(s.path("cold").asBoolean()).isTrue();
                assertThat(s.path("workspace").asText()).isEqualTo(work.toString());
            });
            // the caller's directory was /workspace, read-write, as in a cold run
            assertThat(Files.readString(work.resolve("made-here"))).isEqualTo("made\n");
            // judged from the test host's side: what B allows reached it, what B denies did not
            DaemonIT.eventually(() -> origin.received("/b-allowed"), "B's allowed host reached " + origin.requests());
            assertThat(origin.received("/b-denied")).as("B's denied path never reached the host").isFalse();
            assertThat(origin.received("/a-only")).isFalse();
            // positive control: the denied path is reachable without Airlock, from the host namespace
            Process direct = new ProcessBuilder("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--noproxy", "*", "-m", "10",
                    "http://" + FakeOrigin.ADDRESS + "/b-denied").start();
            assertThat(new String(direct.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("200");
            DaemonIT.eventually(() -> origin.received("/b-denied"), "the host reached the denied path directly");

            // the organisation policy won over B's allow, and the records are the daemon's, under B's project
            String summary = last.get().path("summary").asText();
            assertThat(summary).contains("b-denied.example.test").contains("prod.example.test").contains(tmp.resolve("b/airlock.yaml").toString());
            String id = started.get(0).path("sandbox").asText();
            List<String> records = Files.readAllLines(tmp.resolve("state/audit.log")).stream().filter(l -> l.contains(id)).toList();
            assertThat(records).anySatisfy(l -> assertThat(l).contains("\"project\":\"cold-b\"").contains("prod.example.test")
                    .contains("\"reason\":\"production\""));
            assertThat(records).anySatisfy(l -> assertThat(l).contains("b-denied.example.test").contains("\"reason\":\"no-rule\""));

            // nothing of the sandbox is left: no namespace, lease, nftables table or mount; A's pool was not touched
            assertThat(DaemonFixture.netnsExists(id)).isFalse();
            assertThat(DaemonFixture.leasesOf(SELF)).doesNotContain(id);
            assertThat(admin("nft", "list", "tables")).doesNotContain(id);
            assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain(id);
            assertThat(server.daemon().cold().live()).isEmpty();
            assertThat(DaemonIT.status(c).path("warmClaims").asInt()).isZero();
            assertThat(Files.exists(work)).as("the caller's directory stays").isTrue();

            // a second run gets a sandbox of its own (never one reused), and a missing command exits 127
            List<JsonNode> again = new ArrayList<>();
            Optional<JsonNode> missing = c.runPolicy(tmp.resolve("b/airlock.yaml"), Optional.of(new DaemonClient.ColdWorkspace(work, false)),
                    List.of("no-such-command-here"), Map.of(), Optional.empty(), new ByteArrayInputStream(new byte[0]),
                    new ByteArrayOutputStream(), new ByteArrayOutputStream(), again::add);
            assertThat(missing.orElseThrow().path("exit").asInt()).isEqualTo(127);
            assertThat(again.get(0).path("sandbox").asText()).isNotEqualTo(id);
            assertThat(server.daemon().cold().parses()).as("B's unchanged policy and the organisation policy, parsed once each").isEqualTo(2);

            // a client that cannot run it cold (no workspace) still hears notPooled, as before
            assertThat(c.runPolicy(tmp.resolve("b/airlock.yaml"), List.of("true"), Map.of(), new ByteArrayInputStream(new byte[0]),
                    new ByteArrayOutputStream(), new ByteArrayOutputStream(), n -> { })).isEmpty();
        }
        assertThat(DaemonFixture.leasesOf(SELF)).as("nothing left after the daemon stops").isEmpty();
    }

    @Test
    void run_ofAPolicyItDoesNotPool_isListed_counted_andMetered_whileItRuns_andGoneAfter() throws Exception {
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config()), System.err)) {
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            DaemonIT.eventually(() -> DaemonIT.status(c).path("ready").asInt() == 1, "A's sandbox warm");
            // control: a pooled session, listed as before
            DaemonClient.Response claim = c.post("/v1/claims", com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode()
                    .put("project", "daemon-it"));
            assertThat(claim.status()).as(claim.body().toString()).isEqualTo(201);
            String session = claim.body().path("sandbox").asText();

            // B's run waits in its sandbox until the test lets it end
            Path work = tmp.resolve("b/work");
            List<JsonNode> started = new java.util.concurrent.CopyOnWriteArrayList<>();
            java.util.concurrent.CompletableFuture<Optional<JsonNode>> run = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return c.runPolicy(tmp.resolve("b/airlock.yaml"),
                            Optional.of(new DaemonClient.ColdWorkspace(work, false, Optional.of(new dev.airlock.runtime.RunAs(4242, 4242)))),
                            List.of("/bin/sh", "-c", "touch waiting; while [ ! -e go ]; do sleep 0.1; done"), Map.of(), Optional.empty(),
                            new ByteArrayInputStream(new byte[0]), new ByteArrayOutputStream(), new ByteArrayOutputStream(), started::add);
                } catch (Exception e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            });
            DaemonIT.eventually(() -> Files.exists(work.resolve("waiting")), "B's command running");
            String id = started.get(0).path("sandbox").asText();

            JsonNode listed = c.get("/v1/sandboxes").body();
            assertThat(listed).anySatisfy(n -> {
                assertThat(n.path("sandbox").asText()).isEqualTo(id);
                assertThat(n.path("state").asText()).isEqualTo("cold-run");
                assertThat(n.path("project").asText()).isEqualTo("cold-b");
                assertThat(n.path("workspace").asText()).isEqualTo(work.toString());
                assertThat(n.path("runAs").asText()).isEqualTo("4242:4242");
                assertThat(java.time.Instant.parse(n.path("createdAt").asText())).isBeforeOrEqualTo(java.time.Instant.now());
            });
            assertThat(listed).anySatisfy(n -> assertThat(n.path("sandbox").asText() + " " + n.path("state").asText())
                    .isEqualTo(session + " claimed"));
            assertThat(Dashboard.render(server.daemon(), "")).contains("<table id=\"cold-runs\">")
                    .contains("<tr data-sandbox=\"" + id + "\"><td>" + id + "</td><td>cold-b</td>");
            JsonNode cold = c.get("/v1/status").body().path("coldRuns");
            assertThat(cold.toString()).isEqualTo("{\"running\":1,\"total\":1,\"projects\":[{\"project\":\"cold-b\",\"running\":1,\"total\":1}]}");
            assertThat(server.daemon().meters().scrape()).contains("airlock_cold_runs_active{project=\"cold-b\"} 1.0")
                    .contains("airlock_cold_runs_total{project=\"cold-b\"} 1.0");

            Files.writeString(work.resolve("go"), "");
            assertThat(run.get(60, TimeUnit.SECONDS).orElseThrow().path("exit").asInt()).isZero();
            JsonNode after = c.get("/v1/sandboxes").body();
            assertThat(after).noneSatisfy(n -> assertThat(n.path("sandbox").asText()).isEqualTo(id));
            assertThat(after).as("the session is still listed").anySatisfy(n -> assertThat(n.path("sandbox").asText()).isEqualTo(session));
            assertThat(c.get("/v1/status").body().path("coldRuns").toString())
                    .isEqualTo("{\"running\":0,\"total\":1,\"projects\":[{\"project\":\"cold-b\",\"running\":0,\"total\":1}]}");
            assertThat(server.daemon().meters().scrape()).contains("airlock_cold_runs_active{project=\"cold-b\"} 0.0")
                    .contains("airlock_cold_runs_total{project=\"cold-b\"} 1.0");
            assertThat(Dashboard.render(server.daemon(), "")).doesNotContain(id).contains("data-sandbox=\"" + session + "\"");
            assertThat(c.delete("/v1/sandboxes/" + session).ok()).isTrue();
        }
        assertThat(DaemonFixture.leasesOf(SELF)).as("nothing left after the daemon stops").isEmpty();
    }

    @Test
    void run_ofAPolicyItDoesNotPool_isRefusedToANonRootCaller_whileRootRunsIt() throws Exception {
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config()), System.err)) {
            Path socket = tmp.resolve("state/daemon.sock");
            // the socket is root's 0600: opened to everyone here, so that the daemon's own check is what is tested
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));
            Path work = tmp.resolve("b/work");
            String body = "{\"policy\":\"" + tmp.resolve("b/airlock.yaml") + "\",\"workspace\":\"" + work
                    + "\",\"command\":[\"/bin/sh\",\"-c\",\"touch ran-as-$0\",\"CALLER\"]}\n";

            String refused = curl(socket, body.replace("CALLER", "nobody"), "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups");
            assertThat(refused).startsWith("403\n").contains("uid 65534").contains("only for root");
            assertThat(work.resolve("ran-as-nobody")).as("nothing ran for the non-root caller").doesNotExist();

            // positive control: the same request from root runs
            String ran = curl(socket, body.replace("CALLER", "root"));
            assertThat(ran).startsWith("200\n").contains("\"exit\":0");
            assertThat(work.resolve("ran-as-root")).exists();
        }
    }

    @Test
    void run_ofAPolicyItDoesNotPool_onATerminal_getsATerminalOfItsOwn_andWorksInTheCallersDirectory() throws Exception {
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config()), System.err)) {
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            Path work = tmp.resolve("b/work");
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            // as the caller's sudo user: the terminal is theirs too
            Optional<JsonNode> last = c.runPolicy(tmp.resolve("b/airlock.yaml"),
                    Optional.of(new DaemonClient.ColdWorkspace(work, false, Optional.of(new dev.airlock.runtime.RunAs(4242, 4242)))),
                    List.of("/bin/sh", "-c", "test -t 0 && test -t 1 && echo \"on $(stty size) $(pwd)\" > tty-was; cat tty-was;"
                            + " echo \"tty $(stat -c %u $(tty)) id $(id -u)\"; exit 4"),
                    Map.of(), Optional.of(new DaemonClient.Tty(new dev.airlock.sandbox.WindowSize(31, 97), resized -> { })),
                    new ByteArrayInputStream(new byte[0]), out, new ByteArrayOutputStream(), n -> { });
            assertThat(last.orElseThrow().path("exit").asInt()).as(out.toString(StandardCharsets.UTF_8)).isEqualTo(4);
            assertThat(out.toString(StandardCharsets.UTF_8)).contains("on 31 97 /workspace").contains("tty 4242 id 4242");
            assertThat(Files.readString(work.resolve("tty-was"))).isEqualTo("on 31 97 /workspace\n");
            assertThat(Files.getAttribute(work.resolve("tty-was"), "unix:uid")).isEqualTo(4242);
            assertThat(server.daemon().cold().live()).as("destroyed after").isEmpty();
        }
    }

    @Test
    void run_ofAPolicyItDoesNotPool_onATerminal_endsAirlocksNotesInCrLf_asTheRawTerminalNeeds() throws Exception {
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config()), System.err)) {
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            // root's 0755 directory: nobody cannot write it, so the daemon sends its note before the command's output
            Path repo = Files.createDirectories(tmp.resolve("b/roots"));
            Files.setPosixFilePermissions(repo, PosixFilePermissions.fromString("rwxr-xr-x"));
            ByteArrayOutputStream onTerminal = new ByteArrayOutputStream();
            c.runPolicy(tmp.resolve("b/airlock.yaml"), Optional.of(new DaemonClient.ColdWorkspace(repo, false)), List.of("true"), Map.of(),
                    Optional.of(new DaemonClient.Tty(new dev.airlock.sandbox.WindowSize(24, 80), resized -> { })),
                    new ByteArrayInputStream(new byte[0]), new ByteArrayOutputStream(), onTerminal, n -> { });
            assertThat(onTerminal.toString(StandardCharsets.UTF_8)).as("the client's terminal is raw: a bare LF would not return the carriage")
                    .contains("cannot write the workspace").endsWith(".\r\n");

            // the control: without a terminal the same note ends in LF alone
            ByteArrayOutputStream piped = new ByteArrayOutputStream();
            c.runPolicy(tmp.resolve("b/airlock.yaml"), Optional.of(new DaemonClient.ColdWorkspace(repo, false)), List.of("true"), Map.of(),
                    Optional.empty(), new ByteArrayInputStream(new byte[0]), new ByteArrayOutputStream(), piped, n -> { });
            assertThat(piped.toString(StandardCharsets.UTF_8)).contains("cannot write the workspace").endsWith(".\n").doesNotContain("\r");
        }
    }

    @Test
    void run_ofAPolicyItDoesNotPool_runsAsTheCallersSudoUser_ownsWhatItWrites_andNeverAsRoot() throws Exception {
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config()), System.err)) {
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            // the caller's repository: theirs alone to write (0755), as a user's checkout is
            Path repo = Files.createDirectories(tmp.resolve("b/repo"));
            Files.setAttribute(repo, "unix:uid", 4242);
            Files.setAttribute(repo, "unix:gid", 4242);
            Files.setPosixFilePermissions(repo, PosixFilePermissions.fromString("rwxr-xr-x"));

            // positive control: without the field the run is nobody's, as a cold run without SUDO_UID, and cannot write there
            ByteArrayOutputStream nobodyErr = new ByteArrayOutputStream();
            ByteArrayOutputStream nobodyOut = new ByteArrayOutputStream();
            Optional<JsonNode> asNobody = c.runPolicy(tmp.resolve("b/airlock.yaml"), Optional.of(new DaemonClient.ColdWorkspace(repo, false)),
                    List.of("/bin/sh", "-c", "id -u; echo built > built-by-nobody"), Map.of(), Optional.empty(),
                    new ByteArrayInputStream(new byte[0]), nobodyOut, nobodyErr, n -> { });
            assertThat(asNobody.orElseThrow().path("exit").asInt()).as("nobody cannot write the caller's 0755 directory").isNotZero();
            assertThat(nobodyOut.toString(StandardCharsets.UTF_8)).isEqualTo("65534\n");
            assertThat(repo.resolve("built-by-nobody")).doesNotExist();
            assertThat(nobodyErr.toString(StandardCharsets.UTF_8)).as("the workspace note names the same user")
                    .contains("the sandbox runs as uid 65534 (nobody, as no SUDO_UID says who called sudo), which cannot write the workspace");

            // with the caller's SUDO_UID/SUDO_GID: the sandbox runs as them, and what it writes is theirs
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            Optional<JsonNode> asCaller = c.runPolicy(tmp.resolve("b/airlock.yaml"),
                    Optional.of(new DaemonClient.ColdWorkspace(repo, false, Optional.of(new dev.airlock.runtime.RunAs(4242, 4242)))),
                    List.of("/bin/sh", "-c", "id -u; id -g; echo built > built-by-caller"), Map.of(), Optional.empty(),
                    new ByteArrayInputStream(new byte[0]), out, err, n -> { });
            assertThat(asCaller.orElseThrow().path("exit").asInt()).as(out + " / " + err).isZero();
            assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("4242\n4242\n");
            assertThat(err.toString(StandardCharsets.UTF_8)).as("the caller can write it: no note").doesNotContain("cannot write the workspace");
            Path built = repo.resolve("built-by-caller");
            assertThat(Files.readString(built)).isEqualTo("built\n");
            assertThat(Files.getAttribute(built, "unix:uid")).isEqualTo(4242);
            assertThat(Files.getAttribute(built, "unix:gid")).isEqualTo(4242);
            assertThat(server.daemon().cold().live()).isEmpty();

            // uid 0 is refused before anything runs; the same request naming 4242 runs (positive control)
            Path socket = tmp.resolve("state/daemon.sock");
            String body = "{\"policy\":\"" + tmp.resolve("b/airlock.yaml") + "\",\"workspace\":\"" + repo
                    + "\",\"sudoUid\":UID,\"sudoGid\":4242,\"command\":[\"/bin/sh\",\"-c\",\"touch as-$0\",\"UID\"]}\n";
            String refused = curl(socket, body.replace("UID", "0"));
            assertThat(refused).startsWith("400\n").contains("sudoUid").contains("never runs as root");
            assertThat(repo.resolve("as-0")).as("nothing ran as root").doesNotExist();
            assertThat(server.daemon().cold().live()).isEmpty();
            String ran = curl(socket, body.replace("UID", "4242"));
            assertThat(ran).startsWith("200\n").contains("\"exit\":0");
            assertThat(Files.getAttribute(repo.resolve("as-4242"), "unix:uid")).isEqualTo(4242);
        }
        assertThat(DaemonFixture.leasesOf(SELF)).as("nothing left after the daemon stops").isEmpty();
    }

    /** The HTTP status, a newline and the body of POST /v1/run with {@code body}, sent by curl run under {@code prefix}. */
    private static String curl(Path socket, String body, String... prefix) throws Exception {
        List<String> argv = new ArrayList<>(List.of(prefix));
        argv.addAll(List.of("/usr/bin/curl", "-s", "-m", "60", "-o", "-", "-w", "\\n@@status %{http_code}", "--unix-socket", socket.toString(),
                "-H", "Content-Type: application/x-ndjson", "--data-binary", "@-", "http://airlock/v1/run"));
        Process p = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (var in = p.getOutputStream()) {
            in.write(body.getBytes(StandardCharsets.UTF_8));
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(90, TimeUnit.SECONDS)).isTrue();
        // curl writes the body, then the status: put the status first
        int at = out.lastIndexOf("\n@@status ");
        assertThat(at).as(out).isNotNegative();
        return out.substring(at + "\n@@status ".length()).trim() + "\n" + out.substring(0, at);
    }

    private static String admin(String... argv) throws Exception {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(20, TimeUnit.SECONDS);
        return out;
    }
}
