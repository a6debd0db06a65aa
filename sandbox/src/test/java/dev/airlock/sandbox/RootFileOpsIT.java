package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Root's tree operations never cross a mount point: a tmpfs (named {@code alk-tree-test}) mounted
 * below the directory refuses the whole operation and keeps its files and owner, except below a
 * member workspace, where the mount is left and reported and the rest goes. Real mounts need root
 * (with CI=true these fail rather than skip).
 */
class RootFileOpsIT {

    @TempDir
    Path tmp;
    Path state;
    SystemKernelOps ops;

    @BeforeAll
    static void root() {
        KernelSupport.requireRoot();
    }

    @BeforeEach
    void setUp() throws Exception {
        state = Files.createDirectories(tmp.resolve("state"));
        ops = FakeKernel.fileOps(tmp.resolve("run"), new CgroupLayout.Unified(FakeKernel.V2_ROOT));
    }

    private interface WhileMounted {
        void run(Path mnt) throws Exception;
    }

    /** Mounts a small tmpfs at {@code tree/mnt} holding root's file {@code on-the-mount}, runs {@code body}, unmounts. */
    private static void withMountBelow(Path tree, WhileMounted body) throws Exception {
        Path mnt = Files.createDirectories(tree.resolve("sub/mnt"));
        KernelSupport.admin("mount", "-t", "tmpfs", "-o", "size=1m", "alk-tree-test", mnt.toString());
        try {
            Files.writeString(mnt.resolve("on-the-mount"), "stays\n");
            // positive control: the file on the mount is reachable through the tree
            assertThat(tree.resolve("sub/mnt/on-the-mount")).hasContent("stays");
            body.run(mnt);
        } finally {
            KernelSupport.admin("umount", mnt.toString());
        }
    }

    @Test
    void deleteTree_aMountBelow_isRefused_andTheMountKeepsItsFiles() throws Exception {
        Path entry = Files.createDirectories(StateAreas.kept(state).resolve("alk0123abcd"));
        Files.writeString(entry.resolve("work.patch"), "x\n");
        withMountBelow(entry, mnt -> {
            assertThatThrownBy(() -> ops.execute(new KernelOp.DeleteTree(state, entry)))
                    .isInstanceOf(SandboxException.class).hasMessageContaining("mount point");
            assertThat(mnt.resolve("on-the-mount")).hasContent("stays");
            assertThat(entry.resolve("work.patch")).as("refused as a whole: nothing removed").hasContent("x");
        });
        ops.execute(new KernelOp.DeleteTree(state, entry));
        assertThat(entry).as("once unmounted").doesNotExist();
    }

    @Test
    void deleteTree_aMemberWorkspace_stopsAtAMountPoint_removesTheRest_andReportsIt() throws Exception {
        Path ws = MemberWorkspaces.newPath(state, "demo", MemberWorkspaces.randomName());
        Files.createDirectories(ws.resolve("sub"));
        Files.writeString(ws.resolve("sub/file"), "gone\n");
        withMountBelow(ws, mnt -> {
            assertThatThrownBy(() -> ops.execute(new KernelOp.DeleteTree(state, ws)))
                    .isInstanceOf(SandboxException.class).message().startsWith(mnt.toString()).contains("mount point");
            assertThat(mnt.resolve("on-the-mount")).as("a file on another file system").hasContent("stays");
            assertThat(ws.resolve("sub/file")).doesNotExist();
        });
        ops.execute(new KernelOp.DeleteTree(state, ws));
        assertThat(ws).as("once unmounted").doesNotExist();
    }

    @Test
    void chownTree_aMountBelow_isRefused_andTheMountKeepsItsOwner() throws Exception {
        Path tree = Files.createDirectories(state.resolve(Overlays.STAGING).resolve("demo-0123abcd/tree"));
        withMountBelow(tree, mnt -> {
            Path onMount = mnt.resolve("on-the-mount");
            // positive control: a plain chown reaches the file on the mount through the tree
            Files.setAttribute(tree.resolve("sub/mnt/on-the-mount"), "unix:uid", 1000);
            assertThat((Integer) Files.getAttribute(onMount, "unix:uid")).isEqualTo(1000);
            Files.setAttribute(onMount, "unix:uid", 0);

            assertThatThrownBy(() -> ops.execute(new KernelOp.ChownTree(state, tree, 1000, 1000)))
                    .isInstanceOf(SandboxException.class).hasMessageContaining("mount point");
            assertThat((Integer) Files.getAttribute(onMount, "unix:uid")).isZero();
            assertThat((Integer) Files.getAttribute(tree, "unix:uid")).as("refused as a whole").isZero();
        });
        ops.execute(new KernelOp.ChownTree(state, tree, 1000, 1000));
        assertThat((Integer) Files.getAttribute(tree.resolve("sub/mnt"), "unix:uid")).as("once unmounted").isEqualTo(1000);
    }
    @Test
    void deleteTree_anAuditsWorkDirectoryWithAMountBelow_isRefused_andTheMountKeepsItsFiles() throws Exception {
        Path work = AuditWorkDirs.create(state);
        Path ws = Files.createDirectories(work.resolve("workspace"));
        Files.writeString(ws.resolve("agent.sh"), "x\n");
        withMountBelow(ws, mnt -> {
            assertThatThrownBy(() -> ops.execute(new KernelOp.DeleteTree(state, work)))
                    .isInstanceOf(SandboxException.class).hasMessageContaining("mount point");
            assertThat(mnt.resolve("on-the-mount")).hasContent("stays");
            assertThat(ws.resolve("agent.sh")).as("refused as a whole: nothing removed").hasContent("x");
        });
        ops.execute(new KernelOp.DeleteTree(state, work));
        assertThat(work).as("once unmounted").doesNotExist();
    }

    @Test
    void chownTree_inAnAuditsWorkDirectoryWithAMountBelow_isRefused_andTheMountKeepsItsOwner() throws Exception {
        Path git = Files.createDirectories(AuditWorkDirs.create(state).resolve("workspace/.git"));
        withMountBelow(git, mnt -> {
            Path onMount = mnt.resolve("on-the-mount");
            assertThatThrownBy(() -> ops.execute(new KernelOp.ChownTree(state, git, 1000, 1000)))
                    .isInstanceOf(SandboxException.class).hasMessageContaining("mount point");
            assertThat((Integer) Files.getAttribute(onMount, "unix:uid")).isZero();
        });
        ops.execute(new KernelOp.ChownTree(state, git, 1000, 1000));
        assertThat((Integer) Files.getAttribute(git, "unix:uid")).as("once unmounted, the positive control").isEqualTo(1000);
    }
}
