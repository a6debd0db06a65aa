package dev.airlock.sandbox;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Root's file work on a project's root layer (docs/images.md, "Setup as root"), run by the
 * privileged point only ({@link StepRunner}).
 *
 * <p>Why {@link #prepare}: the image's files are host root's (uid 0), which is not mapped in the
 * sandbox's user namespace, so root there has no right over them, and idmapped mounts are not
 * available here (util-linux 2.38, no {@code mount_setattr} from Java). Overlayfs gives a merged
 * directory the owner of its upper copy: with every directory of the image present, empty, in
 * the upper directory and owned by the sandbox uid, root of the namespace (that uid on the host)
 * may create, replace and delete entries anywhere. What it must change in place (dpkg's and apt's
 * databases and lock files) is copied into the upper directory, owned by the sandbox uid.
 *
 * <p>Why {@link #seal}: what the steps wrote is the sandbox uid's; as a layer every later sandbox
 * stacks, it must be as inert as the image itself ({@link ImageStore}'s step 4): root's, no
 * set-uid or set-gid bit, nothing writable by group or others, no device node but overlayfs's
 * whiteouts (character devices 0/0), which must stay for deletions to stay deleted.
 */
final class RootLayerFiles {

    private RootLayerFiles() {
    }

    /**
     * Makes the upper directory {@code layerUpper} from {@code image}: every directory, empty, with
     * its mode, and the {@link RootLayers#COPIED} trees, all owned by {@code uid:gid}. No link of the
     * image is followed (a link is copied as a link); the image is root's and trusted, the upper
     * directory reachable by root alone.
     */
    static void prepare(Path image, Path layerUpper, int uid, int gid) throws IOException {
        // Filled under a new name, then renamed: a preparation that failed half-way is never taken for a finished one.
        Path upper = layerUpper.resolveSibling("upper-new");
        if (Files.exists(upper, LinkOption.NOFOLLOW_LINKS)) {
            RootFiles.deleteTree(upper, false);
        }
        Files.createDirectory(upper);
        Files.walkFileTree(image, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                Path rel = image.relativize(dir);
                Path to = upper.resolve(rel.toString());
                if (!rel.toString().isEmpty()) {
                    Files.createDirectory(to);
                }
                own(dir, to, uid, gid);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Path rel = image.relativize(file);
                if (RootLayers.COPIED.stream().anyMatch(c -> rel.startsWith(c)) && (attrs.isRegularFile() || attrs.isSymbolicLink())) {
                    Path to = upper.resolve(rel.toString());
                    Files.copy(file, to, LinkOption.NOFOLLOW_LINKS, StandardCopyOption.COPY_ATTRIBUTES);
                    own(file, to, uid, gid);
                }
                return FileVisitResult.CONTINUE;
            }
        });
        Files.move(upper, layerUpper, StandardCopyOption.ATOMIC_MOVE);
    }

    private static void own(Path from, Path to, int uid, int gid) throws IOException {
        Files.setAttribute(to, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(to, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
        if (!Files.isSymbolicLink(to)) {
            int mode = (Integer) Files.getAttribute(from, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(to, "unix:mode", mode & 0777, LinkOption.NOFOLLOW_LINKS);
        }
    }

    /**
     * Makes {@code upper} inert (see the class comment), removes {@code work}, and renames the
     * upper directory to {@code layer}. No link is followed; a hard-linked file is refused (it could
     * be one the sandbox user also reaches elsewhere, which the chown would hand to root).
     */
    static void seal(Path upper, Path work, Path layer) throws IOException {
        InertTree.harden(upper, InertTree.Kind.LAYER);
        if (Files.exists(work, LinkOption.NOFOLLOW_LINKS)) {
            RootFiles.deleteTree(work, false);
        }
        Files.move(upper, layer, StandardCopyOption.ATOMIC_MOVE);
        Files.setAttribute(layer, "unix:mode", 0755, LinkOption.NOFOLLOW_LINKS);
    }
}
