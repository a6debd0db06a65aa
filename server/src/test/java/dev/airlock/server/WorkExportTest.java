package dev.airlock.server;

import static dev.airlock.server.GitFixture.commit;
import static dev.airlock.server.GitFixture.git;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Capture (inside the sandbox, here a shell in the workspace) and import (into the user's
 * repository) with real git: the agent's commits come back as one branch, its uncommitted rest as
 * a binary-safe patch, and nothing of the agent's repository runs or applies on the host.
 */
class WorkExportTest {

    static final String ID = "alk0000e001";
    /** Bytes no text diff survives: NUL, CR, a high byte, no final newline. */
    static final byte[] BINARY = {0, 1, 2, (byte) 0xff, '\r', '\n', 0, 'x'};

    @TempDir
    Path tmp;

    Path user;
    Path workspace;
    Path marker;
    String base;

    @BeforeEach
    void repositories() throws Exception {
        user = tmp.resolve("user");
        base = GitFixture.init(user);
        workspace = tmp.resolve("workspace");
        git(tmp, "clone", "-q", user.toString(), workspace.toString());
        // the template's own output: untracked, not the agent's, and not in the upper directory's list
        Files.writeString(workspace.resolve("built.txt"), "setup output\n");
        marker = tmp.resolve("host-marker");
    }

    /** The agent's session: two commits, an edit, an untracked text file and an untracked binary file. */
    private List<String> agentWorks() throws Exception {
        commit(workspace, "agent one", "src/a.txt", "a\n");
        commit(workspace, "agent two", "src/b.txt", "b\n");
        Files.writeString(workspace.resolve("README"), "one\nedited by the agent\n");
        Files.writeString(workspace.resolve("notes.md"), "untracked\n");
        Files.write(workspace.resolve("blob.bin"), BINARY);
        return List.of("README", "notes.md", "blob.bin", "src/a.txt", "src/b.txt");
    }

    private WorkCapture.Captured capture(Optional<List<String>> changed) throws Exception {
        Path into = Files.createDirectories(tmp.resolve("capture"));
        WorkCapture.Result r = WorkCapture.capture(GitFixture.sandboxShell(workspace), List.of(base), changed, into);
        assertThat(r).isInstanceOf(WorkCapture.Captured.class);
        return (WorkCapture.Captured) r;
    }

    @Test
    void captureAndImport_twoCommitsAnEditAndUntrackedFiles_returnABranchWithBothCommits_andAPatchWithTheRest() throws Exception {
        List<String> changed = agentWorks();
        String userHead = git(user, "rev-parse", "HEAD");

        WorkCapture.Captured work = capture(Optional.of(changed));
        RepoImport.Imported done = new RepoImport(List.of(tmp.resolve("state"))).into(user, ID, work);

        assertThat(work.commits()).isEqualTo(2);
        assertThat(work.base()).isEqualTo(base);
        assertThat(done.branch()).contains("airlock/" + ID);
        assertThat(git(user, "rev-parse", "airlock/" + ID)).isEqualTo(git(workspace, "rev-parse", "HEAD"));
        assertThat(git(user, "log", "--format=%s", base + "..airlock/" + ID)).isEqualTo("agent two\nagent one");
        assertThat(git(user, "rev-parse", "HEAD")).as("the user's own branch did not move").isEqualTo(userHead);
        assertThat(git(user, "status", "--porcelain")).as("the user's work tree is untouched").isEmpty();
        Path patch = done.patch().orElseThrow();
        assertThat(patch).isEqualTo(user.resolve(".git/airlock/" + ID + ".patch"));
        String text = Files.readString(patch, StandardCharsets.ISO_8859_1);
        assertThat(text).contains("+edited by the agent").contains("b/notes.md").contains("GIT binary patch")
                .as("the template's own untracked output is not the agent's").doesNotContain("built.txt");
        assertThat(done.summary()).contains("airlock/" + ID).contains("git -C " + user.toRealPath() + " log -p " + base.substring(0, 12) + "..")
                .contains("apply").doesNotContain("\n");

        // the review the summary proposes works: the patch applies on the branch and restores every byte
        git(user, "switch", "-q", "airlock/" + ID);
        git(user, "apply", patch.toString());
        assertThat(Files.readString(user.resolve("README"))).isEqualTo("one\nedited by the agent\n");
        assertThat(Files.readString(user.resolve("notes.md"))).isEqualTo("untracked\n");
        assertThat(Files.readAllBytes(user.resolve("blob.bin"))).isEqualTo(BINARY);
    }

    @Test
    void capture_withoutANameList_comparesTheWholeWorkTree() throws Exception {
        agentWorks();
        WorkCapture.Captured work = capture(Optional.empty());
        assertThat(Files.readString(work.patch().orElseThrow(), StandardCharsets.ISO_8859_1)).contains("b/notes.md").contains("b/built.txt");
    }

    @Test
    void capture_nothingNew_saysSo() throws Exception {
        Path into = Files.createDirectories(tmp.resolve("capture"));
        WorkCapture.Result r = WorkCapture.capture(GitFixture.sandboxShell(workspace), List.of(base), Optional.of(List.of()), into);
        assertThat(r).isInstanceOfSatisfying(WorkCapture.Nothing.class, n -> assertThat(n.why()).contains("no commit beyond"));
        // a name the sandbox wrote that git ignores or that matches HEAD again is not a change either
        Files.writeString(workspace.resolve("README"), "one\n");
        r = WorkCapture.capture(GitFixture.sandboxShell(workspace), List.of(base), Optional.of(List.of("README")), Files.createDirectories(
                tmp.resolve("capture2")));
        assertThat(r).isInstanceOf(WorkCapture.Nothing.class);
    }

    @Test
    void capture_aMissingBase_fallsBackToTheNextCandidate() throws Exception {
        agentWorks();
        String unknown = "0123456789abcdef0123456789abcdef01234567";
        Path into = Files.createDirectories(tmp.resolve("capture"));
        WorkCapture.Result r = WorkCapture.capture(GitFixture.sandboxShell(workspace), List.of(unknown, base), Optional.of(List.of()), into);
        assertThat(r).isInstanceOfSatisfying(WorkCapture.Captured.class, c -> {
            assertThat(c.base()).isEqualTo(base);
            assertThat(c.commits()).isEqualTo(2);
        });
    }

    @Test
    void capture_aRepositoryTheAgentDeleted_isAFailure_notNothingNew() throws Exception {
        List<String> changed = agentWorks();
        GitFixture.git(tmp, "-c", "safe.directory=*", "--version"); // git is there: the failure below is the repository's
        dev.airlock.sandbox.LinkSafeFiles.deleteTree(workspace.resolve(".git"));
        Path into = Files.createDirectories(tmp.resolve("capture"));
        assertThatThrownBy(() -> WorkCapture.capture(GitFixture.sandboxShell(workspace), List.of(base), Optional.of(changed), into))
                .isInstanceOf(WorkCapture.CaptureException.class).hasMessageContaining("git repository is unreadable");
        // a plain workspace that never had one has nothing to export
        assertThat(WorkCapture.capture(GitFixture.sandboxShell(workspace), List.of(base), Optional.empty(),
                Files.createDirectories(tmp.resolve("capture2")))).isInstanceOf(WorkCapture.Nothing.class);
    }

    @Test
    void capture_aFailingStep_failsWithWhatItSaid() throws Exception {
        Path into = Files.createDirectories(tmp.resolve("capture"));
        SandboxShell broken = cmd -> new ProcessBuilder("/bin/sh", "-c", "echo 'fatal: broken repository' >&2; exit 7").start();
        assertThatThrownBy(() -> WorkCapture.capture(broken, List.of(base), Optional.empty(), into))
                .isInstanceOf(WorkCapture.CaptureException.class).hasMessageContaining("exited 7").hasMessageContaining("fatal: broken repository");
    }

    @Test
    void capture_outputThatIsNotAStatus_isRefused() throws Exception {
        Path into = Files.createDirectories(tmp.resolve("capture"));
        SandboxShell lying = cmd -> new ProcessBuilder("/bin/sh", "-c", "echo 'refs/heads/main; rm -rf /'").start();
        assertThatThrownBy(() -> WorkCapture.capture(lying, List.of(base), Optional.empty(), into))
                .isInstanceOf(WorkCapture.CaptureException.class).hasMessageContaining("not HEAD, a count and a base");
    }

    /**
     * The export boundary: hooks in the agent's .git/hooks and in a core.hooksPath of its choosing,
     * and a core.fsmonitor in its .git/config, do not run on the host while the work is imported,
     * and nothing of its configuration reaches the user's repository. Positive control: the same
     * traps do run when git runs in the agent's repository on the host.
     */
    @Test
    void import_hooksAndConfigPlantedInTheSandbox_neverRunOnTheHost_butWouldIfGitRanThere() throws Exception {
        List<String> changed = agentWorks();
        GitFixture.plantHostTraps(workspace, marker);
        WorkCapture.Captured work = capture(Optional.of(changed));
        Files.deleteIfExists(marker); // what git did inside the "sandbox" is the sandbox's business; from here on is the host

        RepoImport.Imported done = new RepoImport(List.of(tmp.resolve("state"))).into(user, ID, work);
        git(user, "switch", "-q", "airlock/" + ID); // the user's own review: checkout and merge run the user's (absent) hooks only
        git(user, "apply", done.patch().orElseThrow().toString());

        assertThat(marker).as("no planted hook or fsmonitor ran on the host").doesNotExist();
        assertThat(git(user, "config", "--list", "--local")).doesNotContain("hooksPath").doesNotContain("fsmonitor");
        assertThat(user.resolve(".git/hooks/post-checkout")).doesNotExist();

        // positive control: git run in the agent's repository on the host runs them
        git(workspace, "status", "--porcelain");
        git(workspace, "checkout", "-q", "-b", "control");
        assertThat(marker).exists();
        assertThat(Files.readString(marker)).contains("fsmonitor").contains("post-checkout");
    }
}
