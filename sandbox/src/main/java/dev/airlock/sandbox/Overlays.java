package dev.airlock.sandbox;

import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Where a sandbox's copy-on-write workspace lives, derived from one Airlock state directory and
 * the sandbox id, so that the privileged point ({@link SystemKernelOps}) can recompute every path
 * itself instead of trusting the caller's:
 * <ul>
 *   <li>{@code <state>/overlays/<id>}: the merged mount point (the name is the sandbox id, with the
 *       {@code alk} prefix); bubblewrap binds it at {@code /workspace}. Its parent is mode 0711, so
 *       the sandbox user can reach the mount point to bind it, but cannot list the others.</li>
 *   <li>{@code <state>/sandboxes/<id>/upper} and {@code .../work}: the overlay's upper and work
 *       directories, under the records directory (0700, root): nothing but the kernel and root
 *       reach them from the host.</li>
 *   <li>the lower directory, a template tree: somewhere under {@code <state>/templates/<project>/},
 *       whose directories are 0700 root, so the tree is visible only through the overlay.</li>
 * </ul>
 */
public final class Overlays {

    static final String MOUNTS = "overlays";
    static final String COW = "sandboxes";
    static final String TEMPLATES = "templates";
    /**
     * Where a template tree is built and its setup runs, as a plain writable workspace, before it
     * moves under {@link #TEMPLATES}: the one place inside the state directory a workspace may be.
     */
    public static final String STAGING = "staging";
    /**
     * The characters a path handed to {@code mount -o lowerdir=…} may hold: overlayfs splits its
     * options at commas and its lower directories at colons, and a backslash escapes both. A path
     * outside this set is refused rather than escaped.
     */
    static final Pattern SAFE_PATH = Pattern.compile("/[A-Za-z0-9._/+@-]*");

    private Overlays() {
    }

    static Path mountPoint(Path state, String id) {
        return state.resolve(MOUNTS).resolve(id);
    }

    static Path cowDir(Path state, String id) {
        return state.resolve(COW).resolve(id);
    }

    static Path upper(Path state, String id) {
        return cowDir(state, id).resolve("upper");
    }

    static Path work(Path state, String id) {
        return cowDir(state, id).resolve("work");
    }

    static Path templates(Path state) {
        return state.resolve(TEMPLATES);
    }

    /** The sandbox id whose overlay is mounted at {@code mountPoint}, when it is {@code <state>/overlays/<alk id>}. */
    static Optional<String> idOfMount(Path state, Path mountPoint) {
        if (mountPoint.getParent() == null || !mountPoint.getParent().equals(state.resolve(MOUNTS))) {
            return Optional.empty();
        }
        String name = mountPoint.getFileName().toString();
        return Names.isId(name) ? Optional.of(name) : Optional.empty();
    }

    /** The project whose template {@code lower} is, when it sits at {@code <state>/templates/<project>/…} (two levels or more down). */
    static Optional<String> projectOf(Path state, Path lower) {
        Path t = templates(state);
        if (!lower.startsWith(t) || lower.getNameCount() < t.getNameCount() + 2) {
            return Optional.empty();
        }
        return Optional.of(lower.getName(t.getNameCount()).toString());
    }
}
