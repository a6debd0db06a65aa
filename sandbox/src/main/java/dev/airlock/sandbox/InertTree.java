package dev.airlock.sandbox;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Makes a tree that sandboxes will see read-only root's and inert for the host: owner 0:0, no
 * set-uid or set-gid bit, nothing writable but by root, no device node (a sandbox gets its own
 * /dev). No link is followed. The chown also drops file capabilities ({@code security.capability},
 * as {@code setcap} sets on ping): the kernel removes them whenever root changes a file's owner,
 * which matters as much as set-uid for a tree any host user can reach. Used for unpacked images
 * ({@link ImageStore}) and sealed root layers ({@link RootLayerFiles}).
 */
final class InertTree {

    /** What the tree is: an unpacked image, or an overlay layer (whose whiteouts must stay, and which holds no hard link). */
    enum Kind { IMAGE, LAYER }

    private static final int TYPE = 0170000;
    private static final int CHARACTER_DEVICE = 0020000;
    private static final int BLOCK_DEVICE = 0060000;

    private InertTree() {
    }

    static void harden(Path root, Kind kind) throws IOException {
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                own(dir, true);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                int type = (Integer) Files.getAttribute(file, "unix:mode", LinkOption.NOFOLLOW_LINKS) & TYPE;
                if (kind == Kind.LAYER && type == CHARACTER_DEVICE
                        && (Long) Files.getAttribute(file, "unix:rdev", LinkOption.NOFOLLOW_LINKS) == 0L) {
                    own(file, true); // an overlayfs whiteout: a deletion the layer keeps
                    return FileVisitResult.CONTINUE;
                }
                if (type == CHARACTER_DEVICE || type == BLOCK_DEVICE) {
                    Files.delete(file);
                    return FileVisitResult.CONTINUE;
                }
                if (kind == Kind.LAYER && attrs.isRegularFile()
                        && (Integer) Files.getAttribute(file, "unix:nlink", LinkOption.NOFOLLOW_LINKS) > 1) {
                    // it could be a file the sandbox user also reaches elsewhere, which the chown would hand to root
                    throw new IOException("refused to seal " + file + ": it is hard-linked; a root step's layer holds no hard links."
                            + " Fix: rebuild the template");
                }
                own(file, !attrs.isSymbolicLink());
                return FileVisitResult.CONTINUE;
            }
        });
    }

    private static void own(Path p, boolean chmod) throws IOException {
        Files.setAttribute(p, "unix:uid", 0, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(p, "unix:gid", 0, LinkOption.NOFOLLOW_LINKS);
        if (chmod) {
            int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            int safe = mode & 01755;
            if (safe != (mode & 07777)) {
                Files.setAttribute(p, "unix:mode", safe, LinkOption.NOFOLLOW_LINKS);
            }
        }
    }
}
