package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.policy.address.Cidr;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What of a workspace {@link WorkspaceMounts} keeps read-only, and that the privileged check accepts exactly that. */
class WorkspaceMountsTest {

    private static final SandboxUser USER = new SandboxUser(1000, 1000);
    private static final Path RUN = Path.of("/run/airlock/sandbox/alk0123abcd");

    @TempDir
    Path tmp;

    private Path ws() throws IOException {
        return Files.createDirectories(tmp.resolve("ws")).toRealPath();
    }

    private static String joined(List<String> a) {
        return String.join(" ", a);
    }

    /** The mounts, checked as the privileged start checks them. */
    private List<String> checked(Path ws, List<String> mounts) throws SandboxException {
        List<String> args = BwrapArgs.build(USER, ws, RUN.resolve("etc"), EtcFiles.generated(USER, Cidr.of("100.96.0.1").network()),
                Map.of(), mounts);
        BwrapArgs.check(args, 1000, 1000, RUN.resolve("etc"));
        return args;
    }

    @Test
    void of_gitDirectory_pinsItAndMakesHooksAndConfigReadOnly() throws Exception {
        Path ws = ws();
        Files.createDirectories(ws.resolve(".git/hooks"));
        Files.writeString(ws.resolve(".git/config"), "[core]\n");
        List<String> m = WorkspaceMounts.of(ws, WorkspaceProtection.DEFAULT, RUN);
        assertThat(joined(m)).isEqualTo("--bind " + ws + "/.git /workspace/.git --ro-bind " + ws + "/.git/hooks /workspace/.git/hooks"
                + " --ro-bind " + ws + "/.git/config /workspace/.git/config"
                + " --ro-bind " + RUN + "/empty-file /workspace/.git/config.worktree"
                + " --ro-bind " + ws + "/.git/commondir /workspace/.git/commondir");
        String args = joined(checked(ws, m));
        assertThat(args.indexOf("--bind " + ws + " /workspace")).isLessThan(args.indexOf("/workspace/.git"));
    }

    @Test
    void of_missingHooksAndConfig_getReadOnlyPlaceholders() throws Exception {
        Path ws = ws();
        Files.createDirectories(ws.resolve(".git"));
        List<String> m = WorkspaceMounts.of(ws, WorkspaceProtection.DEFAULT, RUN);
        assertThat(joined(m)).contains("--ro-bind " + RUN + "/empty-dir /workspace/.git/hooks",
                "--ro-bind " + RUN + "/empty-file /workspace/.git/config");
        checked(ws, m);
    }

    @Test
    void of_missingCommondir_isCreatedNamingItsOwnDirectory_andBoundReadOnly() throws Exception {
        Path ws = ws();
        Files.createDirectories(ws.resolve(".git/hooks"));
        List<String> m = WorkspaceMounts.of(ws, WorkspaceProtection.DEFAULT, RUN);
        // "." is what git assumes without the file; an empty one would make git fail on the host afterwards
        assertThat(ws.resolve(".git/commondir")).hasContent(".");
        assertThat(joined(m)).contains("--ro-bind " + ws + "/.git/commondir /workspace/.git/commondir");
        checked(ws, m);
    }

    @Test
    void of_commondirNamingAnotherDirectory_isRefusedWithAFix() throws Exception {
        Path ws = ws();
        Files.createDirectories(ws.resolve(".git"));
        Files.writeString(ws.resolve(".git/commondir"), "../.x\n");
        assertThatThrownBy(() -> WorkspaceMounts.of(ws, WorkspaceProtection.DEFAULT, RUN)).isInstanceOf(SandboxException.class)
                .hasMessageContaining("commondir").hasMessageContaining("../.x").hasMessageContaining("Fix:");
    }

    /**
     * bubblewrap runs as the sandbox user, who cannot create a mount point in a git directory it
     * does not own (root's checkout, run by root without sudo: the sandbox runs as nobody), so root
     * makes the missing ones, empty and owned like the git directory.
     */
    @Test
    void of_missingHooksAndConfigWorktree_rootMakesTheirMountPointsOwnedLikeTheGitDirectory() throws Exception {
        Path ws = ws();
        Path git = Files.createDirectories(ws.resolve(".git"));
        WorkspaceMounts.of(ws, WorkspaceProtection.DEFAULT, RUN);
        assertThat(git.resolve("hooks")).isEmptyDirectory();
        assertThat(git.resolve("config.worktree")).isEmptyFile();
        assertThat(Files.getOwner(git.resolve("hooks"), java.nio.file.LinkOption.NOFOLLOW_LINKS)).isEqualTo(Files.getOwner(git));
    }

    @Test
    void of_missingConfigWorktree_getsAReadOnlyPlaceholder() throws Exception {
        Path ws = ws();
        Files.createDirectories(ws.resolve(".git"));
        List<String> m = WorkspaceMounts.of(ws, WorkspaceProtection.DEFAULT, RUN);
        assertThat(joined(m)).contains("--ro-bind " + RUN + "/empty-file /workspace/.git/config.worktree");
        checked(ws, m);
    }

    @Test
    void of_linkedWorktreeGitDirectories_keepTheirCommondirAndConfigWorktreeReadOnly() throws Exception {
        Path ws = ws();
        Path wt = Files.createDirectories(ws.resolve(".git/worktrees/feature"));
        Files.writeString(wt.resolve("commondir"), "../..\n");
        List<String> m = WorkspaceMounts.of(ws, WorkspaceProtection.DEFAULT, RUN);
        assertThat(joined(m)).contains("--bind " + ws + "/.git/worktrees /workspace/.git/worktrees",
                "--bind " + ws + "/.git/worktrees/feature /workspace/.git/worktrees/feature",
                "--ro-bind " + ws + "/.git/worktrees/feature/commondir /workspace/.git/worktrees/feature/commondir",
                "--ro-bind " + RUN + "/empty-file /workspace/.git/worktrees/feature/config.worktree");
        assertThat(wt.resolve("commondir")).hasContent("../..");
        checked(ws, m);
    }

    @Test
    void of_gitFile_isBoundReadOnly() throws Exception {
        Path ws = ws();
        Files.writeString(ws.resolve(".git"), "gitdir: /srv/main/.git/worktrees/feature\n");
        List<String> m = WorkspaceMounts.of(ws, WorkspaceProtection.DEFAULT, RUN);
        assertThat(joined(m)).isEqualTo("--ro-bind " + ws + "/.git /workspace/.git");
        checked(ws, m);
    }

    @Test
    void of_noRepository_orOptedOut_mountsNothing() throws Exception {
        Path ws = ws();
        assertThat(WorkspaceMounts.of(ws, WorkspaceProtection.DEFAULT, RUN)).isEmpty();
        Files.createDirectories(ws.resolve(".git/hooks"));
        assertThat(WorkspaceMounts.of(ws, new WorkspaceProtection(false, List.of()), RUN)).isEmpty();
    }

    @Test
    void of_submoduleGitDirectories_areProtectedToo() throws Exception {
        Path ws = ws();
        Files.createDirectories(ws.resolve(".git/hooks"));
        Files.writeString(ws.resolve(".git/config"), "");
        Path mod = Files.createDirectories(ws.resolve(".git/modules/lib/core"));
        Files.writeString(mod.resolve("HEAD"), "ref: refs/heads/main\n");
        Files.writeString(mod.resolve("config"), "");
        List<String> m = WorkspaceMounts.of(ws, WorkspaceProtection.DEFAULT, RUN);
        assertThat(joined(m)).contains("--ro-bind " + ws + "/.git/modules/lib/core/config /workspace/.git/modules/lib/core/config",
                "--ro-bind " + RUN + "/empty-dir /workspace/.git/modules/lib/core/hooks");
        checked(ws, m);
    }

    @Test
    void of_hooksIsALink_isRefusedWithAFix() throws Exception {
        Path ws = ws();
        Files.createDirectories(ws.resolve(".git"));
        Files.createSymbolicLink(ws.resolve(".git/hooks"), Files.createDirectories(tmp.resolve("user-ssh")));
        assertThatThrownBy(() -> WorkspaceMounts.of(ws, WorkspaceProtection.DEFAULT, RUN)).isInstanceOf(SandboxException.class)
                .hasMessageContaining("symbolic link").hasMessageContaining("writableGitConfig");
    }

    @Test
    void of_policyFilesInsideTheWorkspace_areBoundReadOnly_othersNot() throws Exception {
        Path ws = ws();
        Path policy = Files.writeString(ws.resolve("airlock.yaml"), "version: 1\n");
        Path outside = Files.writeString(tmp.resolve("org.yaml"), "version: 1\n");
        List<String> m = WorkspaceMounts.of(ws, new WorkspaceProtection(false, List.of(policy, outside, ws.resolve("absent.yaml"))), RUN);
        assertThat(joined(m)).isEqualTo("--ro-bind " + ws + "/airlock.yaml /workspace/airlock.yaml");
        checked(ws, m);
    }

    @Test
    void of_policyInASubdirectory_pinsEveryDirectoryAboveIt_first() throws Exception {
        Path ws = ws();
        Path policy = Files.createDirectories(ws.resolve("ops/airlock")).resolve("airlock.yaml");
        Files.writeString(policy, "version: 1\n");
        List<String> m = WorkspaceMounts.of(ws, new WorkspaceProtection(false, List.of(policy)), RUN);
        assertThat(joined(m)).isEqualTo("--bind " + ws + "/ops /workspace/ops --bind " + ws + "/ops/airlock /workspace/ops/airlock"
                + " --ro-bind " + ws + "/ops/airlock/airlock.yaml /workspace/ops/airlock/airlock.yaml");
        checked(ws, m);
    }

    @Test
    void of_policyReachedThroughALinkInTheWorkspace_isRefusedWithAFix() throws Exception {
        Path ws = ws();
        Path real = Files.writeString(Files.createDirectories(ws.resolve("conf")).resolve("x.yaml"), "version: 1\n");
        Path shared = Files.writeString(tmp.resolve("shared.yaml"), "version: 1\n");
        Path toInside = Files.createSymbolicLink(ws.resolve("airlock.yaml"), Path.of("conf/x.yaml"));
        Path toOutside = Files.createSymbolicLink(ws.resolve("org.yaml"), shared);
        Path viaDir = Files.createSymbolicLink(ws.resolve("ops"), ws.resolve("conf")).resolve("x.yaml");
        for (Path p : List.of(toInside, toOutside, viaDir)) {
            assertThatThrownBy(() -> WorkspaceMounts.of(ws, new WorkspaceProtection(false, List.of(p)), RUN)).as(p.toString())
                    .isInstanceOf(SandboxException.class).hasMessageContaining("symbolic link").hasMessageContaining("Fix:");
        }
        // the real path is accepted, and a link above the workspace is followed (the sandbox cannot change it)
        Path above = Files.createSymbolicLink(tmp.resolve("ws-link"), ws);
        assertThat(joined(WorkspaceMounts.of(ws, new WorkspaceProtection(false, List.of(real, above.resolve("conf/x.yaml"))), RUN)))
                .contains("--ro-bind " + ws + "/conf/x.yaml /workspace/conf/x.yaml");
    }

    @Test
    void check_refusesReadOnlyBindsThatAreNotTheWorkspaceOverItself() throws Exception {
        Path ws = ws();
        Files.createDirectories(ws.resolve("sub"));
        Files.createSymbolicLink(ws.resolve("link"), Path.of("/home"));
        for (List<String> bad : List.of(
                List.of("--ro-bind", "/home", "/workspace/.git/hooks"),                      // a host directory into the workspace
                List.of("--ro-bind", ws + "/sub", "/workspace/other"),                       // another part of the workspace
                List.of("--ro-bind", ws + "/link", "/workspace/link"),                       // through a link bubblewrap would follow
                List.of("--ro-bind", ws + "/../x", "/workspace/../x"),                       // out of the workspace
                List.of("--bind", "/home", "/workspace/.git"),                               // a second read-write bind of a host directory
                List.of("--bind", ws + "/sub", "/workspace/other"))) {                       // a read-write bind that is not a part over itself
            assertThatThrownBy(() -> checked(ws, bad)).as(bad.toString()).isInstanceOf(SandboxException.class);
        }
    }
}
