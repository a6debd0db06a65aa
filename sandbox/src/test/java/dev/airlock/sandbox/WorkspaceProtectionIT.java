package dev.airlock.sandbox;

import static dev.airlock.sandbox.KernelSupport.admin;
import static dev.airlock.sandbox.KernelSupport.inSandbox;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Code that runs on the host later, written from inside a real sandbox (issue 15 §4), and the
 * policy in force (issue 18 e): by default the workspace's .git/hooks and .git/config cannot be
 * written, .git cannot be moved aside or replaced, and a policy file the run loaded cannot be
 * rewritten. Each attempt is judged on the host (the file is unchanged), and each has its positive
 * control: the same script without the protection does change the file. Needs root; with
 * {@code CI=true} a machine without it fails, elsewhere the class is skipped.
 */
class WorkspaceProtectionIT {

    private static final GatewayPorts PORTS = new GatewayPorts(15001, 15053);
    private static final Resources RES = new Resources(256L << 20, 1, 128);
    private static final Duration SCRIPT = Duration.ofSeconds(30);
    private static final SandboxUser USER = SandboxUser.fromEnvironment(System.getenv());

    /** What an agent would try: a hook, core.fsmonitor, then .git moved aside for a repository of its own. */
    private static final String ATTACK = """
            printf '#!/bin/sh\\necho pwned\\n' > .git/hooks/post-checkout && echo "hook written"
            git config core.fsmonitor 'touch /tmp/pwned' && echo "fsmonitor set"
            mv .git .git-moved && echo "git moved"
            true
            """;

    @TempDir
    static Path tmp;
    static SandboxLauncher launcher;
    static CgroupLayout layout;

    @BeforeAll
    static void setUp() throws Exception {
        KernelSupport.requireRoot("nsenter", "ip", "nft", "git");
        Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Path state = Files.createDirectories(tmp.resolve("state"));
        Files.setPosixFilePermissions(state, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        launcher = SandboxLauncher.system(state);
        layout = KernelOps.system().cgroups();
    }

    @AfterAll
    static void tearDown() {
        if (launcher != null) {
            launcher.close();
            assertThat(KernelSupport.leftovers(layout)).isEmpty();
        }
    }

    @AfterEach
    void destroyAll() {
        launcher.close();
        launcher = SandboxLauncher.system(tmp.resolve("state"));
    }

    /** A checkout the sandbox user owns, as `git clone` by the user leaves it. */
    private static Path repository(String name) throws Exception {
        Path ws = KernelSupport.workspace(tmp, name);
        admin("git", "init", "-q", ws.toString());
        Files.writeString(ws.resolve("airlock.yaml"), "version: 1\nproject: it\n");
        LinkSafeFiles.chownTree(ws, USER.uid(), USER.gid());
        return ws;
    }

    private static PreparedSandbox prepare(Path ws, WorkspaceProtection p) throws Exception {
        return launcher.prepare(new SandboxSpec("it", ws, RES, PORTS).withProtection(p));
    }

    @Test
    void claim_gitHooksAndConfig_cannotBeWrittenNorGitReplaced() throws Exception {
        Path ws = repository("ws-protected");
        String config = Files.readString(ws.resolve(".git/config"));
        KernelSupport.Result r = inSandbox(launcher, prepare(ws, WorkspaceProtection.DEFAULT), SCRIPT, ATTACK);
        assertThat(r.out()).as(r.toString()).doesNotContain("hook written", "fsmonitor set", "git moved");
        assertThat(ws.resolve(".git/hooks/post-checkout")).doesNotExist();
        assertThat(ws.resolve(".git/config")).hasContent(config.strip());
        assertThat(ws.resolve(".git-moved")).doesNotExist();
        assertThat(ws.resolve(".git")).isDirectory();
    }

    @Test
    void claim_withTheOptOut_theSameScriptWritesThem() throws Exception {
        // Positive control: without the protection the attack lands on the host's files.
        Path ws = repository("ws-opted-out");
        KernelSupport.Result r = inSandbox(launcher, prepare(ws, new WorkspaceProtection(false, List.of())), SCRIPT, ATTACK);
        assertThat(r.out()).as(r.toString()).contains("hook written", "fsmonitor set", "git moved");
        assertThat(ws.resolve(".git-moved/hooks/post-checkout")).content().contains("echo pwned");
        assertThat(ws.resolve(".git-moved/config")).content().contains("fsmonitor = touch /tmp/pwned");
    }

    @Test
    void claim_policyInASubdirectory_cannotBeSwappedByRenamingItsDirectory() throws Exception {
        Path ws = repository("ws-policy-subdir");
        Path dir = Files.createDirectories(ws.resolve("ops"));
        Path policy = Files.writeString(dir.resolve("airlock.yaml"), "version: 1\nproject: it\n");
        LinkSafeFiles.chownTree(ws, USER.uid(), USER.gid());
        String swap = "mv ops ops-old && mkdir ops && printf 'version: 1\\nproject: evil\\n' > ops/airlock.yaml && echo swapped; true";
        KernelSupport.Result r = inSandbox(launcher, prepare(ws, new WorkspaceProtection(true, List.of(policy))), SCRIPT, swap);
        assertThat(r.out()).as(r.toString()).doesNotContain("swapped");
        assertThat(policy).hasContent("version: 1\nproject: it");

        // Positive control: without the protection the directory is moved aside and the policy replaced.
        Path control = repository("ws-policy-subdir-control");
        Path controlPolicy = Files.writeString(Files.createDirectories(control.resolve("ops")).resolve("airlock.yaml"), "version: 1\n");
        LinkSafeFiles.chownTree(control, USER.uid(), USER.gid());
        KernelSupport.Result c = inSandbox(launcher, prepare(control, WorkspaceProtection.DEFAULT), SCRIPT, swap);
        assertThat(c.out()).as(c.toString()).contains("swapped");
        assertThat(controlPolicy).content().contains("project: evil");
    }

    /** A template tree with a repository, laid out as TemplateManager does (templates/<project>/ root's, 0700). */
    private static Path templateRepository(String name) throws Exception {
        Path mine = Files.createDirectories(tmp.resolve("state/templates/it"));
        for (Path d : List.of(mine.getParent(), mine)) {
            Files.setPosixFilePermissions(d, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        }
        Path tree = Files.createDirectories(mine.resolve(name).resolve("tree"));
        admin("git", "init", "-q", tree.toString());
        LinkSafeFiles.chownTree(tree, USER.uid(), USER.gid());
        return tree;
    }

    @Test
    void claim_pooledOverlay_gitHooksAndConfigReadOnly_withTheOptOutWritable() throws Exception {
        Path tree = templateRepository("t-protected");
        String config = Files.readString(tree.resolve(".git/config"));
        PreparedSandbox p = launcher.prepare(SandboxSpec.overTemplate("it", tree, RES, PORTS).withProtection(WorkspaceProtection.DEFAULT));
        KernelSupport.Result r = inSandbox(launcher, p, SCRIPT, ATTACK + "ls .git/hooks/post-checkout; git config core.fsmonitor; true");
        assertThat(r.out()).as(r.toString()).doesNotContain("hook written", "fsmonitor set", "git moved", "touch /tmp/pwned");
        Path upper = Overlays.upper(tmp.resolve("state").toRealPath(), p.id());
        assertThat(upper.resolve(".git/hooks/post-checkout")).doesNotExist();
        assertThat(tree.resolve(".git/config")).hasContent(config.strip());

        // Positive control: the same overlay without the protection takes the hook and the setting.
        Path control = templateRepository("t-control");
        PreparedSandbox c = launcher.prepare(SandboxSpec.overTemplate("it", control, RES, PORTS)
                .withProtection(new WorkspaceProtection(false, List.of())));
        KernelSupport.Result cr = inSandbox(launcher, c, SCRIPT, ATTACK);
        assertThat(cr.out()).as(cr.toString()).contains("hook written", "fsmonitor set", "git moved");
        assertThat(Overlays.upper(tmp.resolve("state").toRealPath(), c.id()).resolve(".git-moved/hooks/post-checkout")).exists();
        assertThat(control.resolve(".git/hooks/post-checkout")).as("the template itself never changes").doesNotExist();
    }

    /** core.fsmonitor as git on the host sees it in {@code ws} (empty when unset): judged on the host, with real git. */
    private static String hostFsmonitor(Path ws) {
        return KernelSupport.run(SCRIPT, "git", "-c", "safe.directory=*", "-C", ws.toString(), "config", "--get", "core.fsmonitor").out().strip();
    }

    /** Finding 1: commondir, which git reads in every git directory, redirected to a git directory the sandbox made. */
    private static final String COMMONDIR = """
            git init -q --bare .x && git --git-dir=.x config core.bare false \
              && git --git-dir=.x config core.fsmonitor 'touch /tmp/alk-pwned' && echo "own git dir made"
            printf '../.x' > .git/commondir && echo "commondir written"
            true
            """;

    @Test
    void claim_commondir_cannotRedirectGitToAConfigOfTheSandboxes() throws Exception {
        Path ws = repository("ws-commondir");
        KernelSupport.Result r = inSandbox(launcher, prepare(ws, WorkspaceProtection.DEFAULT), SCRIPT, COMMONDIR);
        assertThat(r.out()).as(r.toString()).contains("own git dir made").doesNotContain("commondir written");
        assertThat(hostFsmonitor(ws)).as("git on the host").isEmpty();
        assertThat(ws.resolve(".git/commondir")).hasContent(".");
        KernelSupport.Result status = KernelSupport.run(SCRIPT, "git", "-c", "safe.directory=*", "-C", ws.toString(), "status", "--short");
        assertThat(status.ok()).as("the repository still works on the host: " + status).isTrue();

        // Positive control: without the protection, git on the host takes the sandbox's fsmonitor command.
        Path control = repository("ws-commondir-control");
        KernelSupport.Result c = inSandbox(launcher, prepare(control, new WorkspaceProtection(false, List.of())), SCRIPT, COMMONDIR);
        assertThat(c.out()).as(c.toString()).contains("commondir written");
        assertThat(hostFsmonitor(control)).isEqualTo("touch /tmp/alk-pwned");
    }

    /** Finding 2: with extensions.worktreeConfig on (sparse-checkout sets it), a config.worktree the sandbox creates. */
    private static final String CONFIG_WORKTREE = """
            printf '[core]\n\tfsmonitor = touch /tmp/alk-pwned\n' > .git/config.worktree && echo "config.worktree written"
            true
            """;

    private static Path worktreeConfigRepository(String name) throws Exception {
        Path ws = repository(name);
        admin("git", "config", "--file", ws.resolve(".git/config").toString(), "core.repositoryformatversion", "1");
        admin("git", "config", "--file", ws.resolve(".git/config").toString(), "extensions.worktreeConfig", "true");
        LinkSafeFiles.chownTree(ws, USER.uid(), USER.gid());
        return ws;
    }

    @Test
    void claim_configWorktree_cannotBeCreatedWhenMissing() throws Exception {
        Path ws = worktreeConfigRepository("ws-config-worktree");
        assertThat(ws.resolve(".git/config.worktree")).doesNotExist();
        KernelSupport.Result r = inSandbox(launcher, prepare(ws, WorkspaceProtection.DEFAULT), SCRIPT, CONFIG_WORKTREE);
        assertThat(r.out()).as(r.toString()).doesNotContain("config.worktree written");
        assertThat(hostFsmonitor(ws)).as("git on the host").isEmpty();

        // Positive control: without the protection the file is created and git on the host reads it.
        Path control = worktreeConfigRepository("ws-config-worktree-control");
        KernelSupport.Result c = inSandbox(launcher, prepare(control, new WorkspaceProtection(false, List.of())), SCRIPT, CONFIG_WORKTREE);
        assertThat(c.out()).as(c.toString()).contains("config.worktree written");
        assertThat(hostFsmonitor(control)).isEqualTo("touch /tmp/alk-pwned");
    }

    /** Finding 5: a policy reached through a link in the workspace; the sandbox re-points the link at a policy of its own. */
    private static final String RELINK = """
            printf 'version: 1\nproject: evil\n' > conf/evil.yaml && ln -sfn conf/evil.yaml airlock.yaml && echo "relinked"
            true
            """;

    private static Path linkedPolicyWorkspace(String name) throws Exception {
        Path ws = repository(name);
        Files.delete(ws.resolve("airlock.yaml"));
        Files.writeString(Files.createDirectories(ws.resolve("conf")).resolve("x.yaml"), "version: 1\nproject: it\n");
        Files.createSymbolicLink(ws.resolve("airlock.yaml"), Path.of("conf/x.yaml"));
        Files.writeString(tmp.resolve("shared.yaml"), "version: 1\nproject: it\n");
        Files.createSymbolicLink(ws.resolve("org.yaml"), tmp.resolve("shared.yaml"));
        LinkSafeFiles.chownTree(ws, USER.uid(), USER.gid());
        return ws;
    }

    @Test
    void claim_policyReachedThroughALinkInTheWorkspace_isRefused_beforeTheSandboxRuns() throws Exception {
        Path ws = linkedPolicyWorkspace("ws-policy-link");
        for (Path policy : List.of(ws.resolve("airlock.yaml"), ws.resolve("org.yaml"))) {
            PreparedSandbox p = prepare(ws, new WorkspaceProtection(true, List.of(policy)));
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> launcher.claim(p, List.of("/bin/sh", "-c", RELINK), java.util.Map.of(),
                    ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.PIPE))
                    .as(policy.toString()).isInstanceOf(SandboxException.class).hasMessageContaining("symbolic link").hasMessageContaining("Fix:");
            launcher.destroy(p);
        }
        assertThat(Files.readSymbolicLink(ws.resolve("airlock.yaml"))).hasToString("conf/x.yaml");
        assertThat(ws.resolve("conf/evil.yaml")).doesNotExist();

        // Positive control: a sandbox that is let run re-points the link, and the next run would load its file.
        Path control = linkedPolicyWorkspace("ws-policy-link-control");
        KernelSupport.Result c = inSandbox(launcher, prepare(control, WorkspaceProtection.DEFAULT), SCRIPT, RELINK);
        assertThat(c.out()).as(c.toString()).contains("relinked");
        assertThat(control.resolve("airlock.yaml")).content().contains("project: evil");
    }

    @Test
    void claim_missingHooks_cannotBeCreated() throws Exception {
        Path ws = repository("ws-no-hooks");
        LinkSafeFiles.deleteTree(ws.resolve(".git/hooks"));
        KernelSupport.Result r = inSandbox(launcher, prepare(ws, WorkspaceProtection.DEFAULT), SCRIPT,
                "printf '#!/bin/sh\\n' > .git/hooks/pre-commit && echo 'hook written'; true");
        assertThat(r.out()).as(r.toString()).doesNotContain("hook written");
        assertThat(ws.resolve(".git/hooks/pre-commit")).doesNotExist();
    }

    @Test
    void claim_gitFile_cannotBePointedElsewhere() throws Exception {
        Path ws = KernelSupport.workspace(tmp, "ws-worktree");
        Files.writeString(ws.resolve(".git"), "gitdir: /srv/main/.git/worktrees/feature\n");
        LinkSafeFiles.chownTree(ws, USER.uid(), USER.gid());
        String attack = "mkdir -p evil/hooks && echo 'gitdir: /workspace/evil' > .git && echo 'gitdir rewritten';"
                + " rm -f .git && echo 'gitdir removed'; true";
        KernelSupport.Result r = inSandbox(launcher, prepare(ws, WorkspaceProtection.DEFAULT), SCRIPT, attack);
        assertThat(r.out()).as(r.toString()).doesNotContain("gitdir rewritten", "gitdir removed");
        assertThat(ws.resolve(".git")).hasContent("gitdir: /srv/main/.git/worktrees/feature");

        Path control = KernelSupport.workspace(tmp, "ws-worktree-control");
        Files.writeString(control.resolve(".git"), "gitdir: /srv/main/.git/worktrees/feature\n");
        LinkSafeFiles.chownTree(control, USER.uid(), USER.gid());
        KernelSupport.Result c = inSandbox(launcher, prepare(control, new WorkspaceProtection(false, List.of())), SCRIPT, attack);
        assertThat(c.out()).as(c.toString()).contains("gitdir rewritten");
    }

    @Test
    void claim_policyInTheWorkspace_cannotBeRewritten_aSiblingCan() throws Exception {
        Path ws = repository("ws-policy");
        Path policy = ws.resolve("airlock.yaml");
        String rewrite = """
                echo '  allow: ["*.prod.example"]' >> airlock.yaml && echo "appended"
                printf 'version: 1\\nproject: evil\\n' > new.yaml && mv new.yaml airlock.yaml && echo "replaced"
                echo sibling > notes.txt && echo "sibling written"
                true
                """;
        KernelSupport.Result r = inSandbox(launcher, prepare(ws, new WorkspaceProtection(true, List.of(policy))), SCRIPT, rewrite);
        assertThat(r.out()).as(r.toString()).contains("sibling written").doesNotContain("appended", "replaced");
        assertThat(policy).hasContent("version: 1\nproject: it");
        assertThat(ws.resolve("notes.txt")).hasContent("sibling");

        // Positive control: the same script rewrites a policy that is not protected.
        Path control = repository("ws-policy-control");
        KernelSupport.Result c = inSandbox(launcher, prepare(control, WorkspaceProtection.DEFAULT), SCRIPT, rewrite);
        assertThat(c.out()).as(c.toString()).contains("appended", "replaced");
        assertThat(control.resolve("airlock.yaml")).content().contains("project: evil");
    }
}
