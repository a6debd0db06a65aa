package dev.airlock.sandbox;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
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
    /** How old a directory without a lease must be before gc takes its audit for gone (audits take minutes). */
    static final Duration UNLEASED_GRACE = Duration.ofHours(1);

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

    /**
     * Marks {@code dir} (from {@link #create}) as in use for as long as this process holds the
     * returned lease: a lock on {@code a-<hex>.lease} beside it, in root's area where no sandbox
     * writes. The kernel drops the lock when the process dies, however it dies, which is how
     * {@link #abandoned} tells a killed audit's directory from a running one.
     */
    public static Lease hold(Path dir) throws IOException {
        Path file = leaseFile(dir);
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
        try {
            channel.lock();
        } catch (IOException | RuntimeException e) {
            channel.close();
            Files.deleteIfExists(file);
            throw e;
        }
        return new Lease(file, channel);
    }

    /**
     * The work directories under {@link #root} whose audit is gone: their lease is held by no
     * process, or they have none (made by an audit before leases, or killed between making the
     * directory and taking the lease) and were last changed over an hour before {@code now}.
     * Links and other entries are never listed.
     */
    public static List<Path> abandoned(Path state, Instant now) throws IOException {
        Path root = root(state);
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
            return out;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(root, "a-*")) {
            for (Path dir : entries) {
                if (!NAME.matcher(dir.getFileName().toString()).matches()) {
                    continue;
                }
                BasicFileAttributes a = Files.readAttributes(dir, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (a.isDirectory() && !inUse(dir, a, now)) {
                    out.add(dir);
                }
            }
        }
        return out;
    }

    /** Removes the lease file of an abandoned directory, once the directory itself is gone. */
    public static void dropLease(Path dir) throws IOException {
        Files.deleteIfExists(leaseFile(dir));
    }

    private static boolean inUse(Path dir, BasicFileAttributes a, Instant now) throws IOException {
        Path file = leaseFile(dir);
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            return a.lastModifiedTime().toInstant().plus(UNLEASED_GRACE).isAfter(now);
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
            return channel.tryLock() == null;
        } catch (OverlappingFileLockException e) {
            return true; // held by this very process
        }
    }

    private static Path leaseFile(Path dir) {
        return dir.resolveSibling(dir.getFileName() + ".lease");
    }

    /** A running audit's claim on its work directory ({@link #hold}); closing it removes the lease. */
    public static final class Lease implements AutoCloseable {

        private final Path file;
        private final FileChannel channel;

        private Lease(Path file, FileChannel channel) {
            this.file = file;
            this.channel = channel;
        }

        @Override
        public void close() throws IOException {
            try {
                Files.deleteIfExists(file);
            } finally {
                channel.close();
            }
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
