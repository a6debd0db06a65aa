package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Root's tree operations never cross a mount point: a tmpfs (named {@code alk-tree-test}) mounted
 * below the directory refuses the whole operation, and the mount keeps its files and owner. Real
 * mounts need root (with CI=true these fail rather than skip).
 */
class RootFileOpsIT {

    @TempDir
    Path tmp;

    @BeforeAll
    static void root() {
        KernelSupport.requireRoot();
    }

    private SystemKernelOps ops() {
        return FakeKernel.fileOps(tmp.resolve("run"), new CgroupLayout.Unified(FakeKernel.V2_ROOT));
    }

    @Test
    void deleteTree_aMountBelow_isRefused_andTheMountKeepsItsFiles() throws Exception {
        Path state = Files.createDirectories(tmp.resolve("state"));
        Path entry = Files.createDirectories(StateAreas.kept(state).resolve("alk0123abcd"));
        Path mnt = Files.createDirectories(entry.resolve("sub/mnt"));
        Files.writeString(entry.resolve("work.patch"), "x\n");
        KernelSupport.admin("mount", "-t", "tmpfs", "-o", "size=1m", "alk-tree-test", mnt.toString());
        try {
            Files.writeString(mnt.resolve("on-the-mount"), "stays\n");
            // positive control: the file on the mount is reachable through the tree
            assertThat(entry.resolve("sub/mnt/on-the-mount")).hasContent("stays");

            assertThatThrownBy(() -> ops().execute(new KernelOp.DeleteTree(state, entry)))
                    .isInstanceOf(SandboxException.class).hasMessageContaining("mount point");

            assertThat(mnt.resolve("on-the-mount")).hasContent("stays");
            assertThat(entry.resolve("work.patch")).as("refused as a whole: nothing removed").hasContent("x");
        } finally {
            KernelSupport.admin("umount", mnt.toString());
        }
        ops().execute(new KernelOp.DeleteTree(state, entry));
        assertThat(entry).as("once unmounted").doesNotExist();
    }

    @Test
    void chownTree_aMountBelow_isRefused_andTheMountKeepsItsOwner() throws Exception {
        Path state = Files.createDirectories(tmp.resolve("state"));
        Path tree = Files.createDirectories(state.resolve(Overlays.STAGING).resolve("demo-0123abcd/tree"));
        Path mnt = Files.createDirectories(tree.resolve("mnt"));
        KernelSupport.admin("mount", "-t", "tmpfs", "-o", "size=1m", "alk-tree-test", mnt.toString());
        try {
            Path onMount = Files.writeString(mnt.resolve("on-the-mount"), "root's\n");
            // positive control: a plain chown reaches the file on the mount through the tree
            Files.setAttribute(tree.resolve("mnt/on-the-mount"), "unix:uid", 1000);
            assertThat((Integer) Files.getAttribute(onMount, "unix:uid")).isEqualTo(1000);
            Files.setAttribute(onMount, "unix:uid", 0);

            assertThatThrownBy(() -> ops().execute(new KernelOp.ChownTree(state, tree, 1000, 1000)))
                    .isInstanceOf(SandboxException.class).hasMessageContaining("mount point");

            assertThat((Integer) Files.getAttribute(onMount, "unix:uid")).isZero();
            assertThat((Integer) Files.getAttribute(tree, "unix:uid")).as("refused as a whole").isZero();
        } finally {
            KernelSupport.admin("umount", mnt.toString());
        }
        ops().execute(new KernelOp.ChownTree(state, tree, 1000, 1000));
        assertThat((Integer) Files.getAttribute(tree.resolve("mnt"), "unix:uid")).as("once unmounted").isEqualTo(1000);
    }
}
