package dev.airlock.server;

import static dev.airlock.server.GitFixture.commit;
import static dev.airlock.server.GitFixture.git;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The host side of export: the bundle is data, its names are not trusted, and nothing is overwritten. */
class RepoImportTest {

    static final String ID = "alk0000e003";

    @TempDir
    Path tmp;

    Path user;
    Path agent;
    String base;

    @BeforeEach
    void repositories() throws Exception {
        user = tmp.resolve("user");
        base = GitFixture.init(user);
        agent = tmp.resolve("agent");
        git(tmp, "clone", "-q", user.toString(), agent.toString());
    }

    /** A bundle the agent made by hand, of whatever refs it likes, at {@code into}. */
    private Path bundle(Path into, String... refs) throws Exception {
        String[] args = new String[refs.length + 3];
        args[0] = "bundle";
        args[1] = "create";
        args[2] = into.toString();
        System.arraycopy(refs, 0, args, 3, refs.length);
        GitFixture.Result r = GitFixture.tryGit(agent, args);
        assertThat(r.exit()).as(r.err()).isZero();
        return into;
    }

    @Test
    void into_aBundleNamingTheUsersBranchesAndTags_createsOnlyTheOneBranch() throws Exception {
        // the agent points its main at a commit of its own, adds a tag, and works on a detached HEAD
        String evil = commit(agent, "evil", "evil.txt", "x\n");
        git(agent, "tag", "v9.9.9");
        git(agent, "checkout", "-q", "--detach", base);
        String work = commit(agent, "honest work", "w.txt", "w\n");
        Path b = bundle(tmp.resolve("work.bundle"), "HEAD", "refs/heads/main", "refs/tags/v9.9.9", "^" + base);

        new RepoImport(List.of()).into(user, ID, new WorkCapture.Captured(work, base, 1, Optional.of(b), Optional.empty()));

        assertThat(git(user, "rev-parse", "airlock/" + ID)).isEqualTo(work);
        assertThat(git(user, "rev-parse", "main")).as("the user's main is where it was").isEqualTo(base);
        assertThat(git(user, "tag", "--list")).as("no tag came along").isEmpty();
        assertThat(git(user, "for-each-ref", "--format=%(refname)")).isEqualTo("refs/heads/airlock/" + ID + "\nrefs/heads/main");
        assertThat(GitFixture.tryGit(user, "cat-file", "-e", evil).exit()).isZero(); // the objects came (bundles carry all), no name points at them
    }

    @Test
    void into_anExistingBranch_isRefused_andNotOverwritten() throws Exception {
        git(user, "branch", "airlock/" + ID);
        String work = commit(agent, "work", "w.txt", "w\n");
        Path b = bundle(tmp.resolve("work.bundle"), "HEAD", "^" + base);
        assertThatThrownBy(() -> new RepoImport(List.of()).into(user, ID, new WorkCapture.Captured(work, base, 1, Optional.of(b), Optional.empty())))
                .isInstanceOf(RepoImport.ImportException.class).hasMessageContaining("exists").hasMessageContaining("Fix:");
        assertThat(git(user, "rev-parse", "airlock/" + ID)).isEqualTo(base);
    }

    @Test
    void into_aBundleWhoseHeadIsNotTheReportedCommit_importsNothing() throws Exception {
        commit(agent, "work", "w.txt", "w\n");
        Path b = bundle(tmp.resolve("work.bundle"), "HEAD", "^" + base);
        String claimed = "0123456789abcdef0123456789abcdef01234567";
        assertThatThrownBy(() -> new RepoImport(List.of()).into(user, ID, new WorkCapture.Captured(claimed, base, 1, Optional.of(b),
                Optional.empty()))).isInstanceOf(RepoImport.ImportException.class).hasMessageContaining("not the commit the sandbox reported");
        assertThat(GitFixture.tryGit(user, "rev-parse", "-q", "--verify", "airlock/" + ID).exit()).isNotZero();
        assertThat(git(user, "for-each-ref", "--format=%(refname)")).as("no scratch ref left").isEqualTo("refs/heads/main");
    }

    @Test
    void into_aPatchThatExists_isRefused_andNotOverwritten() throws Exception {
        Path patch = tmp.resolve("w.patch");
        Files.writeString(patch, "new\n");
        Files.createDirectories(user.resolve(".git/airlock"));
        Files.writeString(user.resolve(".git/airlock/" + ID + ".patch"), "the user's\n");
        assertThatThrownBy(() -> new RepoImport(List.of()).into(user, ID, new WorkCapture.Captured(base, base, 0, Optional.empty(),
                Optional.of(patch)))).isInstanceOf(RepoImport.ImportException.class).hasMessageContaining("never overwritten");
        assertThat(Files.readString(user.resolve(".git/airlock/" + ID + ".patch"))).isEqualTo("the user's\n");
    }

    @Test
    void into_aRepositoryInsideTheStateDirectory_isRefused() throws Exception {
        Path state = tmp.resolve("state");
        Path inside = state.resolve("overlays/alk0000e004");
        GitFixture.init(inside);
        Path patch = tmp.resolve("w.patch");
        Files.writeString(patch, "x\n");
        assertThatThrownBy(() -> new RepoImport(List.of(state)).into(inside, ID, new WorkCapture.Captured(base, base, 0, Optional.empty(),
                Optional.of(patch)))).isInstanceOf(RepoImport.ImportException.class).hasMessageContaining("git never runs there");
    }

    @Test
    void into_notARepository_saysSo() throws Exception {
        Path plain = Files.createDirectories(tmp.resolve("plain"));
        Path patch = tmp.resolve("w.patch");
        Files.writeString(patch, "x\n");
        assertThatThrownBy(() -> new RepoImport(List.of()).into(plain, ID, new WorkCapture.Captured(base, base, 0, Optional.empty(),
                Optional.of(patch)))).isInstanceOf(RepoImport.ImportException.class).hasMessageContaining("not a git repository");
    }

    /** A commit of the agent's own making whose tree holds '.GIT' (a hook on a case-insensitive checkout) and one with a broken author line. */
    @Test
    void into_objectsFsckRefuses_areNotImported() throws Exception {
        Path raw = tmp.resolve("raw");
        String blob = hashObject(agent, "blob", "echo pwned\n");
        String tree = pipe(agent, "100644 blob " + blob + "\t.GIT\n", "mktree");
        String dotGit = git(agent, "commit-tree", tree, "-p", base, "-m", "dot git");
        Files.writeString(raw, "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent " + base + "\nauthor bad <bad@x 1 +0000\n"
                + "committer bad <bad@x> 1 +0000\n\nbroken\n");
        String badEmail = git(agent, "hash-object", "-t", "commit", "-w", "--literally", raw.toString());
        for (String evil : List.of(dotGit, badEmail)) {
            git(agent, "update-ref", "HEAD", evil);
            Path b = bundle(tmp.resolve(evil + ".bundle"), "HEAD", "^" + base);
            // positive control: a plain fetch of that bundle takes the object, fsckObjects or not (git 2.39)
            Path control = tmp.resolve("control-" + evil);
            git(tmp, "clone", "-q", user.toString(), control.toString());
            git(control, "-c", "fetch.fsckObjects=true", "fetch", "-q", "--no-write-fetch-head", b.toString(), "+HEAD:refs/x");
            assertThat(git(control, "rev-parse", "refs/x")).isEqualTo(evil);

            assertThatThrownBy(() -> new RepoImport(List.of()).into(user, ID, new WorkCapture.Captured(evil, base, 1, Optional.of(b),
                    Optional.empty()))).isInstanceOf(RepoImport.ImportException.class).hasMessageContaining("fsck refuses");
            assertThat(GitFixture.tryGit(user, "cat-file", "-e", evil).exit()).as("not stored in the user's repository").isNotZero();
            assertThat(GitFixture.tryGit(user, "rev-parse", "-q", "--verify", "airlock/" + ID).exit()).isNotZero();
        }
    }

    private static String hashObject(Path repo, String type, String content) throws Exception {
        Path f = Files.createTempFile("obj", ".txt");
        Files.writeString(f, content);
        try {
            return git(repo, "hash-object", "-t", type, "-w", f.toString());
        } finally {
            Files.delete(f);
        }
    }

    private static String pipe(Path repo, String stdin, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("git", "-C", repo.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        GitFixture.hermetic(pb);
        Process p = pb.start();
        try (var in = p.getOutputStream()) {
            in.write(stdin.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
        assertThat(p.waitFor()).isZero();
        return out;
    }

    @Test
    void summary_patchOnly_namesTheCommitItAppliesOn() {
        String s = RepoImport.summary(Path.of("/src/p"), ID, new WorkCapture.Captured(base, base, 0, Optional.empty(), Optional.of(Path.of("x"))),
                Optional.empty(), Optional.of(Path.of("/src/p/.git/airlock/" + ID + ".patch")));
        assertThat(s).isEqualTo("airlock: the work of " + ID + " is in /src/p: /src/p/.git/airlock/" + ID + ".patch (uncommitted changes on "
                + base.substring(0, 12) + "; review: git -C /src/p apply --stat /src/p/.git/airlock/" + ID + ".patch; apply: git -C /src/p apply /src/p/.git/airlock/"
                + ID + ".patch)");
    }
}
