package dev.airlock.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Where a project's root layers and the roots mounted from them live, derived from the state
 * directory, the project, the layer's name and the sandbox id alone, so that the privileged point
 * recomputes every path itself ({@link KernelAuthorizer}):
 * <ul>
 *   <li>{@code <state>/templates/<project>/root-<name>/upper} and {@code …/work}: the writable
 *       overlay's upper and work directories while {@code root: true} steps run (below the
 *       templates' 0700 directories: nothing but root and the kernel reach them from the host);</li>
 *   <li>{@code …/root-<name>/layer}: the upper directory once sealed, root's and inert;</li>
 *   <li>{@code <state>/setup-roots/<id>}: the writable root of setup sandbox {@code id}, bound at
 *       {@code /} with {@code --uid 0};</li>
 *   <li>{@code <state>/roots/<id>}: the read-only root of sandbox {@code id}, a sealed layer over the
 *       image. Both mount directories are mode 0711 and root's, like the workspace overlays'.</li>
 * </ul>
 */
final class RootLayers {

    static final String SETUP_MOUNTS = "setup-roots";
    static final String STACKED_MOUNTS = "roots";
    static final String PREFIX = "root-";

    /**
     * What the writable upper directory gets copied from the image before the first root step: the
     * package databases, whose files dpkg and apt change in place (a lock file, the status file),
     * which root of the namespace could not do to the image's root-owned files.
     */
    static final List<String> COPIED = List.of("var/lib/dpkg", "var/lib/apt", "var/cache/apt", "var/cache/debconf");

    private RootLayers() {
    }

    static Path dir(Path state, String project, String name) {
        return Overlays.templates(state).resolve(project).resolve(PREFIX + name);
    }

    static Path upper(Path state, String project, String name) {
        return dir(state, project, name).resolve("upper");
    }

    static Path work(Path state, String project, String name) {
        return dir(state, project, name).resolve("work");
    }

    static Path sealed(Path state, String project, String name) {
        return dir(state, project, name).resolve("layer");
    }

    static Path setupMount(Path state, String id) {
        return state.resolve(SETUP_MOUNTS).resolve(id);
    }

    static Path stackedMount(Path state, String id) {
        return state.resolve(STACKED_MOUNTS).resolve(id);
    }

    /** The sandbox id whose root is mounted at {@code mountPoint}, when it is one of {@code state}'s root mount points. */
    static Optional<String> idOfMount(Path state, Path mountPoint) {
        Path parent = mountPoint.getParent();
        if (parent == null || !(parent.equals(state.resolve(SETUP_MOUNTS)) || parent.equals(state.resolve(STACKED_MOUNTS)))) {
            return Optional.empty();
        }
        String name = mountPoint.getFileName().toString();
        return Names.isId(name) ? Optional.of(name) : Optional.empty();
    }

    /**
     * At the privileged point: {@code source} is the root mount point of sandbox {@code id} in the
     * directory {@code kind} ({@link #SETUP_MOUNTS} or {@link #STACKED_MOUNTS}) of some state
     * directory, reached without links, its directory root's and writable by no one else (only the
     * privileged point mounts there), and an overlay is mounted on it.
     */
    static boolean isRootMount(String source, String id, String kind, java.util.Set<Path> overlayMounts) {
        Path p = Path.of(source);
        if (!p.isAbsolute() || !p.normalize().equals(p) || p.getParent() == null || !Names.isId(id)
                || !p.getFileName().toString().equals(id) || p.getParent().getFileName() == null
                || !p.getParent().getFileName().toString().equals(kind)) {
            return false;
        }
        try {
            if (!p.toRealPath().equals(p)) {
                return false;
            }
            Path q = p.getParent();
            if (!Files.isDirectory(q, LinkOption.NOFOLLOW_LINKS) || (Integer) Files.getAttribute(q, "unix:uid", LinkOption.NOFOLLOW_LINKS) != 0
                    || ((Integer) Files.getAttribute(q, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 022) != 0) {
                return false;
            }
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
        return overlayMounts.contains(p);
    }
}
