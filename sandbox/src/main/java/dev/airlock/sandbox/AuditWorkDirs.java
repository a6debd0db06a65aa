package dev.airlock.sandbox;

import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The work directories of {@code airlock audit}: {@code <state>-audits/a-<8 hex>}, one per run,
 * holding the audited sandbox's workspace, a neighbour's and root's canaries. The sandbox writes
 * there (and plants links to test root's writes), so root re-owns and removes them only through
 * {@link KernelOp.ChownTree} and {@link KernelOp.DeleteTree}, whose privileged point checks this
 * shape again. They sit beside the state directory, never in it (a sandbox must never see
 * Airlock's state), like {@link MemberWorkspaces}.
 */
public final class AuditWorkDirs {

    private static final Pattern NAME = Pattern.compile("a-[0-9a-f]{8}");
    private static final int ATTEMPTS = 8;

    private AuditWorkDirs() {
    }

    /** {@code <state>-audits}: the root of the audits' work directories of the state directory {@code state}. */
    public static Path root(Path state) {
        Path s = state.toAbsolutePath().normalize();
        return s.resolveSibling(s.getFileName() + "-audits");
    }

    /**
     * A new, empty work directory (mode 0755: the sandbox user reaches its workspace in it), created
     * exclusively under {@link #root}, which is made searchable but not listable by others (0711).
     */
    public static Path create(Path state) throws IOException {
        for (int i = 0; ; i++) {
            try {
                return createOnce(state);
            } catch (NoSuchFileException e) {
                // the area was removed as empty by an audit that just ended (removeIfEmpty): make it again
                if (i + 1 >= ATTEMPTS) {
                    throw e;
                }
            }
        }
    }

    /**
     * Removes {@link #root} when no audit's directory is left in it, so that a finished audit leaves
     * nothing beside the state directory. Only an empty, real directory goes (rmdir: nothing to follow).
     */
    public static void removeIfEmpty(Path state) {
        Path root = root(state);
        if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            Files.delete(root);
        } catch (DirectoryNotEmptyException | NoSuchFileException e) {
            // another audit is at work here, or one just removed it: either way nothing to do
        } catch (IOException e) {
            // left for the next audit to reuse; never an error for the audit that ended
        }
    }

    private static Path createOnce(Path state) throws IOException {
        Path root = root(state);
        try {
            Files.createDirectory(root);
        } catch (FileAlreadyExistsException e) {
            // made by an earlier audit; checked below
        }
        // Root chmods it and works below it: it must be root's own directory, not a link planted there.
        UserPrincipal self = root.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(System.getProperty("user.name"));
        if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS) || !Files.getOwner(root, LinkOption.NOFOLLOW_LINKS).equals(self)) {
            throw new IOException(root + " is not a directory owned by " + self.getName() + ", which runs the audit"
                    + ". Fix: remove it (Airlock recreates it) or choose another state directory.");
        }
        Files.getFileAttributeView(root, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                .setPermissions(PosixFilePermissions.fromString("rwx--x--x"));
        for (int i = 0; ; i++) {
            Path dir = root.resolve("a-" + UUID.randomUUID().toString().substring(0, 8));
            try {
                Files.createDirectory(dir);
            } catch (FileAlreadyExistsException e) {
                if (i + 1 < ATTEMPTS) {
                    continue;
                }
                throw e;
            }
            Files.getFileAttributeView(dir, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                    .setPermissions(PosixFilePermissions.fromString("rwxr-xr-x"));
            return dir;
        }
    }

    /** Whether {@code dir} is an audit's work directory of {@code state}, or lies below one. */
    static boolean atOrBelowOne(Path state, Path dir) {
        Path root = root(state);
        Path d = dir.toAbsolutePath().normalize();
        return d.startsWith(root) && d.getNameCount() > root.getNameCount()
                && NAME.matcher(d.getName(root.getNameCount()).toString()).matches();
    }
}
