package dev.airlock.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.sandbox.LinkSafeFiles;
import dev.airlock.sandbox.SandboxException;
import dev.airlock.sandbox.SandboxLauncher;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code airlock run} against the real kernel, for what a sandbox writes that root or the next run
 * would trust: the {@code --events} file replaced by a link to a host file (issue 15 §3), the
 * README layout's airlock.yaml rewritten from inside (issue 18 item 2), and the sandbox's own
 * loopback reached with the proxy variables set (issue 18 d). Each judged on the host's side, with
 * a positive control. Nothing leaves the host: the policy allows nothing, names resolve through an
 * empty hosts file. Needs root; with {@code CI=true} a machine without it fails, elsewhere skipped.
 */
class RunBoundaryIT {

    @TempDir
    static Path tmp;
    static Path state;
    static Path hosts;
    static int uid;

    @BeforeAll
    static void setUp() throws Exception {
        String missing = null;
        try {
            SandboxLauncher.checkHost();
        } catch (SandboxException e) {
            missing = e.getMessage();
        }
        if (missing == null && Stream.of("python3", "curl").noneMatch(t -> Files.isExecutable(Path.of("/usr/bin", t)))) {
            missing = "the test needs /usr/bin/python3 and /usr/bin/curl";
        }
        if (missing != null) {
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                Assertions.fail("run kernel test cannot run, and CI=true requires it: " + missing);
            }
            Assumptions.abort("run kernel test skipped: " + missing + " (with CI=true this fails instead)");
        }
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        state = Files.createDirectories(tmp.resolve("state"));
        hosts = Files.writeString(tmp.resolve("hosts"), "# no names: nothing resolves, nothing leaves\n");
        String sudo = System.getenv("SUDO_UID");
        uid = sudo != null && sudo.matches("[1-9]\\d*") ? Integer.parseInt(sudo) : 65534;
    }

    /** A workspace the sandbox user owns. */
    private static Path workspace(String name) throws Exception {
        Path ws = Files.createDirectories(tmp.resolve(name));
        LinkSafeFiles.chownTree(ws, uid, Integer.parseInt(Optional.ofNullable(System.getenv("SUDO_GID")).orElse(Integer.toString(uid))));
        return ws;
    }

    private static Path policy(Path dir) throws Exception {
        return Files.writeString(dir.resolve("airlock.yaml"), "version: 1\nproject: runit\n");
    }

    /** What a run printed on Airlock's stderr, the command's output (a file outside the workspace), and its exit code. */
    record Ran(int exit, String airlock, String output) {
    }

    private static Ran run(Path policy, Path ws, Optional<Path> events, Map<String, String> env, String script) throws Exception {
        Path out = Files.createTempFile(tmp, "out", ".log");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = new SandboxRun(new PrintStream(err, true, StandardCharsets.UTF_8)).run(new SandboxRun.Options(policy, Optional.empty(),
                Optional.of(hosts), ws, env, events, List.of("/bin/sh", "-c", script), state, dev.airlock.policy.Phase.RUN, Optional.of(out)));
        return new Ran(exit, err.toString(StandardCharsets.UTF_8), Files.readString(out));
    }

    @Test
    void run_eventsFileReplacedByALinkToAHostFile_theHostFileIsUnchanged() throws Exception {
        Path ws = workspace("ws-events");
        Path policy = policy(Files.createDirectories(tmp.resolve("policy-events")));
        Path hostFile = Files.writeString(tmp.resolve("host-file"), "host file\n");
        Path controlFile = Files.writeString(tmp.resolve("control-file"), "host file\n");
        Path events = ws.resolve("events.jsonl");
        Files.writeString(events, "");
        String plant = "curl -s -m 5 -o /dev/null http://blocked.test/ ;"
                + " rm -f events.jsonl && ln -s " + hostFile + " events.jsonl && echo planted $(readlink events.jsonl);"
                + " ln -s " + controlFile + " control.jsonl";
        Ran r = run(policy, ws, Optional.of(events), Map.of(), plant);
        assertThat(r.output()).as(r.toString()).contains("planted " + hostFile);

        assertThat(hostFile).as("root wrote the events through the sandbox's link").hasContent("host file");
        assertThat(Files.isSymbolicLink(events)).isFalse();
        assertThat(events).content().contains("\"name\":\"blocked.test\"", "\"decision\":\"deny\"");
        // Positive control: the link the sandbox planted beside it does lead a plain write to the host file.
        Files.writeString(ws.resolve("control.jsonl"), "{\"event\":\"decision\"}\n");
        assertThat(controlFile).hasContent("{\"event\":\"decision\"}");
    }

    @Test
    void run_readmeLayout_theSandboxCannotRewriteAirlockYaml_butWritesASibling() throws Exception {
        Path ws = workspace("ws-readme");
        Path policy = policy(ws);
        Ran r = run(policy, ws, Optional.empty(), Map.of(), """
                echo '    - "*.prod.example"' >> airlock.yaml && echo appended
                printf 'version: 1\\nproject: evil\\n' > x.yaml && mv x.yaml airlock.yaml && echo replaced
                echo sibling > notes.txt && echo sibling written
                true
                """);
        assertThat(r.output()).as(r.toString()).contains("sibling written").doesNotContain("appended", "replaced");
        assertThat(policy).hasContent("version: 1\nproject: runit");
        assertThat(ws.resolve("notes.txt")).hasContent("sibling");
        assertThat(r.airlock().lines().filter(l -> l.contains("is inside the workspace; it is read-only in the sandbox")))
                .as(r.airlock()).hasSize(1);
    }

    @Test
    void run_serverOnTheSandboxsLoopback_answersWithTheProxySet() throws Exception {
        Path ws = workspace("ws-loopback");
        Path policy = policy(Files.createDirectories(tmp.resolve("policy-loopback")));
        Files.writeString(ws.resolve("index.html"), "served inside\n");
        LinkSafeFiles.chownTree(ws, uid, uid);
        Ran r = run(policy, ws, Optional.empty(), Map.of("NO_PROXY", "internal.test"), """
                python3 -m http.server 8099 --bind 127.0.0.1 >/dev/null 2>&1 &
                for i in $(seq 50); do curl -s -o /dev/null --noproxy '*' http://127.0.0.1:8099/ && break; sleep 0.1; done
                echo "proxy=$HTTP_PROXY"
                echo "no_proxy=$NO_PROXY"
                echo "direct=$(curl -s -m 5 http://127.0.0.1:8099/index.html)"
                echo "via-gateway=$(NO_PROXY= no_proxy= curl -s -m 5 -o /dev/null -w '%{http_code}' http://127.0.0.1:8099/index.html)"
                kill %1
                """);
        assertThat(r.output()).as(r.toString()).contains("proxy=http://", "no_proxy=internal.test,localhost,127.0.0.1,127.0.0.0/8,::1",
                "direct=served inside");
        // Positive control: without the exemption curl asks the gateway, which refuses the loopback.
        assertThat(r.output()).contains("via-gateway=403");
        assertThat(Files.exists(ws.resolve("index.html"), LinkOption.NOFOLLOW_LINKS)).isTrue();
    }
}
