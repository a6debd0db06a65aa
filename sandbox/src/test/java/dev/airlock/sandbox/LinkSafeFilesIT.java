package dev.airlock.sandbox;

import static dev.airlock.sandbox.KernelSupport.admin;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The root-only halves of {@link LinkSafeFiles}: owner changes through a planted symbolic link or
 * hard link to a root-owned file, and a removal over a mount. Each with its positive control (the
 * naive operation does reach the root-owned file, or empties the mount). Needs root; with
 * {@code CI=true} a machine without it fails, elsewhere the class is skipped.
 */
class LinkSafeFilesIT {

    private static final int UID = 4242;

    @TempDir
    Path tmp;

    @BeforeAll
    static void root() {
        KernelSupport.requireRoot("mount", "umount");
    }

    private Path rootOwned(String name) throws IOException {
        Path f = Files.writeString(tmp.resolve(name), "root's\n");
        Files.setAttribute(f, "unix:uid", 0);
        return f;
    }

    private static int owner(Path p) throws IOException {
        return (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
    }

    /** What TemplateStore.chownTree did before: a tree walk that sets the owner of each entry by path. */
    private static void naiveChown(Path dir) throws IOException {
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public java.nio.file.FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
                Files.setAttribute(f, "unix:uid", UID);
                return java.nio.file.FileVisitResult.CONTINUE;
            }
        });
    }

    @Test
    void chownTree_symlinkToARootFile_leavesTheRootFile() throws IOException {
        Path control = Files.createDirectories(tmp.resolve("control"));
        Path controlTarget = rootOwned("control-shadow");
        Files.createSymbolicLink(control.resolve("link"), controlTarget);
        naiveChown(control);
        assertThat(owner(controlTarget)).as("positive control: a path-based chown follows the link").isEqualTo(UID);

        Path tree = Files.createDirectories(tmp.resolve("tree"));
        Path target = rootOwned("shadow");
        Files.writeString(tree.resolve("own.txt"), "x");
        Files.createSymbolicLink(tree.resolve("link"), target);
        LinkSafeFiles.chownTree(tree, UID, UID);
        assertThat(owner(target)).isZero();
        assertThat(owner(tree)).isEqualTo(UID);
        assertThat(owner(tree.resolve("own.txt"))).isEqualTo(UID);
    }

    @Test
    void chownTree_hardLinkToARootFile_isRefused() throws IOException {
        Path control = Files.createDirectories(tmp.resolve("control"));
        Path controlTarget = rootOwned("control-shadow");
        Files.createLink(control.resolve("hard"), controlTarget);
        naiveChown(control);
        assertThat(owner(controlTarget)).as("positive control: chown of a hard link is chown of the root file").isEqualTo(UID);

        Path tree = Files.createDirectories(tmp.resolve("tree"));
        Path target = rootOwned("shadow");
        Files.createLink(tree.resolve("hard"), target);
        assertThatThrownBy(() -> LinkSafeFiles.chownTree(tree, UID, UID)).isInstanceOf(IOException.class).hasMessageContaining("hard link");
        assertThat(owner(target)).isZero();
    }

    @Test
    void deleteTree_aMountBelow_isRefusedAndTheMountKeepsItsFiles() throws IOException {
        Path tree = Files.createDirectories(tmp.resolve("w-tree"));
        Path mnt = Files.createDirectories(tree.resolve("alkmnt"));
        admin("mount", "-t", "tmpfs", "-o", "size=1m", "alk-linksafe", mnt.toString());
        try {
            Files.writeString(mnt.resolve("keep.txt"), "on another file system\n");
            assertThatThrownBy(() -> LinkSafeFiles.deleteTree(tree)).isInstanceOf(IOException.class).hasMessageContaining("mount point");
            assertThat(mnt.resolve("keep.txt")).exists();

            // Positive control: a tree walk that does not look at mounts empties it.
            try (var s = Files.walk(tree)) {
                for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    if (!p.equals(mnt) && !p.equals(tree)) {
                        Files.deleteIfExists(p);
                    }
                }
            }
            assertThat(mnt.resolve("keep.txt")).doesNotExist();
        } finally {
            admin("umount", mnt.toString());
        }
        LinkSafeFiles.deleteTree(tree);
        assertThat(tree).doesNotExist();
    }
}
