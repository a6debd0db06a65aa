package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Removing a member workspace never crosses into another file system: a mount below it (here a
 * tmpfs named {@code alk-ws-test}) keeps its files, is reported, and the rest goes. Real mounts need root.
 */
class MemberWorkspacesIT {

    @TempDir
    Path tmp;

    @BeforeAll
    static void root() {
        KernelSupport.requireRoot();
    }

    @Test
    void delete_stopsAtAMountPoint_removesTheRest_andReportsIt() throws Exception {
        Path state = Files.createDirectories(tmp.resolve("state"));
        Path ws = MemberWorkspaces.newPath(state, "demo", MemberWorkspaces.randomName());
        Path mnt = Files.createDirectories(ws.resolve("sub/mnt"));
        Files.writeString(ws.resolve("sub/file"), "gone\n");
        KernelSupport.admin("mount", "-t", "tmpfs", "-o", "size=1m", "alk-ws-test", mnt.toString());
        try {
            Files.writeString(mnt.resolve("on-the-mount"), "stays\n");
            // positive control: the file on the mount is reachable through the workspace
            assertThat(ws.resolve("sub/mnt/on-the-mount")).hasContent("stays");

            List<String> failures = delete(state, ws);

            assertThat(mnt.resolve("on-the-mount")).as("a file on another file system").hasContent("stays");
            assertThat(ws.resolve("sub/file")).doesNotExist();
            assertThat(failures).anySatisfy(f -> assertThat(f).startsWith(mnt.toString()).contains("mount point"));
        } finally {
            KernelSupport.admin("umount", mnt.toString());
        }
        assertThat(delete(state, ws)).as("once unmounted").isEmpty();
        assertThat(ws).doesNotExist();
    }

    /** Removes {@code ws} through the kernel operation; returns its failure, if any, as the launcher reports it. */
    private List<String> delete(Path state, Path ws) {
        try {
            FakeKernel.fileOps(tmp.resolve("run"), new CgroupLayout.Unified(FakeKernel.V2_ROOT)).execute(new KernelOp.DeleteTree(state, ws));
            return List.of();
        } catch (SandboxException e) {
            return List.of(e.getMessage());
        }
    }
}
