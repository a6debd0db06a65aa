package dev.airlock.server;

import static dev.airlock.server.GitFixture.git;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The work comes back, against the real kernel: a pooled sandbox over a template of a local
 * repository commits twice, edits a file, adds one, and plants hooks and a .git/config meant to run
 * on the host; its release brings the commits back as a branch and the rest as a patch, and no
 * planted trap runs on the host (a marker file proves it; the same traps do run when git runs in
 * that workspace on the host). An export that fails keeps the work, lists it, and exports it later
 * by id into another repository, as that repository's owner.
 */
class DaemonExportIT {

    @TempDir
    Path tmp;

    @BeforeAll
    static void root() {
        Root.require();
    }

    /** The agent's session, run inside the sandbox as the sandbox user, in /workspace. */
    static String agent(Path marker) {
        String id = "-c user.name=agent -c user.email=agent@example.test";
        return String.join("\n",
                "set -e",
                "echo one > a.txt && git add a.txt && git " + id + " commit -q -m 'agent one'",
                "echo two > b.txt && git add b.txt && git " + id + " commit -q -m 'agent two'",
                "echo 'edited by the agent' >> README",
                "echo new > untracked.txt",
                // traps for the host: every hook git might run during a fetch, and a .git/config naming programs
                "for h in post-checkout reference-transaction pre-auto-gc post-merge post-index-change; do",
                "  printf '#!/bin/sh\\necho %s >> " + marker + "\\n' $h > .git/hooks/$h; chmod +x .git/hooks/$h",
                "done",
                "printf '#!/bin/sh\\necho fsmonitor >> " + marker + "\\nexit 1\\n' > .git/fsmonitor.sh; chmod +x .git/fsmonitor.sh",
                // relative, so that they name the same files inside the sandbox and on the host (the control)
                "git config core.fsmonitor .git/fsmonitor.sh",
                "git config core.hooksPath .git/hooks",
                "git config core.sshCommand 'sh -c \"echo ssh >> " + marker + "\"'",
                "");
    }

    private static String exec(DaemonClient c, String id, String script) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        JsonNode last = c.exec(id, List.of("/bin/sh", "-c", script), Map.of(), new ByteArrayInputStream(new byte[0]), out, err);
        assertThat(last.path("exit").asInt()).as(out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8)).isZero();
        return out.toString(StandardCharsets.UTF_8);
    }

    private static String claim(DaemonClient c) throws Exception {
        DaemonClient.Response r = c.post("/v1/claims", JsonNodeFactory.instance.objectNode().put("project", "daemon-it"));
        assertThat(r.ok()).as(r.body().toString()).isTrue();
        return r.body().path("sandbox").asText();
    }

    @Test
    void release_bringsCommitsAndChangesBack_runsNoPlantedTrapOnTheHost_andKeepsWhatItCannotExport() throws Exception {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        Path src = tmp.resolve("src");
        String first = GitFixture.init(src);
        Path marker = tmp.resolve("host-marker");
        Path config = DaemonFixture.write(tmp, 1, 4);
        Files.writeString(tmp.resolve("airlock.yaml"), Files.readString(tmp.resolve("airlock.yaml")) + String.join("\n",
                "workspace:",
                "  source: " + src,
                "  ref: main",
                "  setup: [\"echo setup output > built.txt\"]",
                "  cacheKey: [README]",
                "  writableGitConfig: true", ""));
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), System.err, "it")) {
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            DaemonIT.eventually(() -> DaemonIT.status(c).path("ready").asInt() == 1, "the first template built and a member warm");

            // 1. the agent works, and plants its traps
            String id = claim(c);
            exec(c, id, agent(marker));
            assertThat(exec(c, id, "git log --format=%s -3")).isEqualTo("agent two\nagent one\nfirst\n");

            // positive control: git run by root on the host in that workspace runs the planted traps
            Path workspace = tmp.resolve("state/overlays").resolve(id);
            GitFixture.Result control = GitFixture.tryGit(workspace, "-c", "safe.directory=*", "status", "--porcelain");
            assertThat(marker).as("the control ran a planted program on the host (" + control.err() + ")").exists();
            Files.delete(marker);

            // 2. release: the work comes back, nothing planted runs on the host
            DaemonClient.Response released = c.delete("/v1/sandboxes/" + id);
            assertThat(released.ok()).as(released.body().toString()).isTrue();
            JsonNode export = released.body().path("export");
            assertThat(export.path("result").asText()).as(export.toString()).isEqualTo("exported");
            assertThat(export.path("branch").asText()).isEqualTo("airlock/" + id);
            assertThat(released.body().path("summary").asText()).contains("airlock/" + id).contains("git -C " + src.toRealPath());
            assertThat(git(src, "log", "--format=%s", first + "..airlock/" + id)).isEqualTo("agent two\nagent one");
            Path patch = Path.of(export.path("patch").asText());
            assertThat(patch).isEqualTo(src.resolve(".git/airlock/" + id + ".patch"));
            assertThat(Files.readString(patch)).contains("+edited by the agent").contains("b/untracked.txt")
                    .as("the template's setup output is not the agent's").doesNotContain("built.txt");
            assertThat(marker).as("no hook, fsmonitor or sshCommand of the sandbox ran on the host").doesNotExist();
            assertThat(git(src, "config", "--list", "--local")).doesNotContain("hooksPath").doesNotContain("fsmonitor").doesNotContain("sshCommand");
            assertThat(git(src, "rev-parse", "main")).isEqualTo(first);
            git(src, "switch", "-q", "airlock/" + id);
            git(src, "apply", patch.toString());
            assertThat(Files.readString(src.resolve("README"))).isEqualTo("one\nedited by the agent\n");
            git(src, "checkout", "-q", "-f", "main");
            git(src, "clean", "-q", "-f");
            assertThat(marker).doesNotExist();

            // 3. an export that fails (the branch exists) keeps the work and lists it
            DaemonIT.eventually(() -> DaemonIT.status(c).path("ready").asInt() == 1, "refilled");
            String second = claim(c);
            git(src, "branch", "airlock/" + second);
            exec(c, second, "echo three > c.txt && git add c.txt && git -c user.name=a -c user.email=a@example.test commit -q -m 'agent three'");
            JsonNode kept = c.delete("/v1/sandboxes/" + second).body().path("export");
            assertThat(kept.path("result").asText()).as(kept.toString()).isEqualTo("kept");
            assertThat(git(src, "rev-parse", "airlock/" + second)).as("never overwritten").isEqualTo(first);
            JsonNode listed = keptEntry(c, second);
            assertThat(listed.path("project").asText()).isEqualTo("daemon-it");
            assertThat(listed.path("reason").asText()).contains("exists");
            assertThat(listed.path("keptUntil").asText()).isNotEmpty();
            Path keptDir = Path.of(listed.path("path").asText());
            assertThat(keptDir).isEqualTo(tmp.resolve("state/kept").resolve(second));
            assertThat(Files.getPosixFilePermissions(keptDir.getParent())).isEqualTo(PosixFilePermissions.fromString("rwx------"));

            // 4. ... and exports it later by id into another repository, as that repository's owner
            Path other = tmp.resolve("other");
            git(tmp, "clone", "-q", src.toString(), other.toString());
            chownTree(other, 65534);
            DaemonClient.Response later = c.post("/v1/sandboxes/" + second + "/export",
                    JsonNodeFactory.instance.objectNode().put("to", other.toString()));
            assertThat(later.ok()).as(later.body().toString()).isTrue();
            assertThat(later.body().path("result").asText()).isEqualTo("exported");
            assertThat(git(other, "-c", "safe.directory=*", "log", "--format=%s", "-1", "airlock/" + second)).isEqualTo("agent three");
            try (Stream<Path> files = Files.walk(other.resolve(".git"))) {
                assertThat(files.filter(f -> !f.toString().contains("/.git/index")).map(DaemonExportIT::uid).distinct().toList())
                        .as("everything the export wrote belongs to the repository's owner").containsOnly(65534);
            }
            assertThat(keptOrEmpty(c, second)).as("exported work is no longer kept").isNull();
        }
        assertThat(DaemonFixture.leasesOf(ProcessHandle.current().pid())).isEmpty();
    }

    private static JsonNode keptEntry(DaemonClient c, String id) throws Exception {
        JsonNode e = keptOrEmpty(c, id);
        assertThat(e).as("kept work of " + id + " in GET /v1/sandboxes").isNotNull();
        return e;
    }

    private static JsonNode keptOrEmpty(DaemonClient c, String id) throws Exception {
        for (JsonNode n : c.get("/v1/sandboxes").body()) {
            if (n.path("state").asText().equals("kept") && n.path("sandbox").asText().equals(id)) {
                return n;
            }
        }
        return null;
    }

    private static void chownTree(Path dir, int uid) throws Exception {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.toList()) {
                Files.setAttribute(p, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
                Files.setAttribute(p, "unix:gid", uid, LinkOption.NOFOLLOW_LINKS);
            }
        }
    }

    private static int uid(Path p) {
        try {
            return (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }
}
