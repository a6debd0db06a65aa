package dev.airlock.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

/**
 * The file steps of the tree operations ({@link KernelOp.DeleteTree}, {@link KernelOp.ChownTree},
 * {@link KernelOp.CreateWorkspace}), run once the operation passed its checks: by the real host,
 * and by the tests' fake kernel on its temporary files. Every one goes through
 * {@link LinkSafeFiles} or works on a name without following it.
 */
final class RootFiles {

    private RootFiles() {
    }

    /** Removes {@code dir}; with {@code keepMounts} a mount below it is left and the rest removed, else a mount refuses all. */
    static void deleteTree(Path dir, boolean keepMounts) throws IOException {
        if (!keepMounts) {
            LinkSafeFiles.deleteTree(dir);
            return;
        }
        List<String> left = LinkSafeFiles.deleteTreeKeepingMounts(dir);
        if (!left.isEmpty()) {
            throw new IOException(String.join("; ", left));
        }
    }

    /** Re-owns {@code dir}'s tree; refused (nothing changed) when a mount point is at or below it. */
    static void chownTree(Path dir, int uid, int gid) throws IOException {
        List<Path> mounts = LinkSafeFiles.mountsAtOrBelow(dir.toRealPath(LinkOption.NOFOLLOW_LINKS));
        if (!mounts.isEmpty()) {
            throw new IOException(mounts.get(0) + " is a mount point; the owner of " + dir + " was not changed");
        }
        LinkSafeFiles.chownTree(dir, uid, gid);
    }

    /** {@code mkdir dir} (fails on any existing name), then 0700 and {@code uid:gid} on the new directory, not following a link. */
    static void createWorkspace(Path dir, int uid, int gid) throws IOException {
        Files.createDirectory(dir);
        PosixFileAttributeView view = Files.getFileAttributeView(dir, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
        view.setPermissions(PosixFilePermissions.fromString("rwx------"));
        Files.setAttribute(dir, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(dir, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
    }
}
