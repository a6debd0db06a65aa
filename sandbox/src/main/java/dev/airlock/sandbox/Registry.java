package dev.airlock.sandbox;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;

/**
 * The machine-wide registry in {@link KernelOps#runDir()}: one lock, one lease per sandbox, and
 * each sandbox's generated files.
 *
 * <p>Design: every launcher on the host (the daemon, an {@code airlock run}, a test JVM), whatever
 * its state directory, allocates /30s, decides who owns an {@code alk} object, and adds or removes
 * the shared TPROXY rule under the same lock, an {@code flock} on {@code <runDir>/lock} (the kernel
 * drops it when the holder dies, even by kill -9), with a JVM-wide lock in front of it because one
 * JVM cannot hold two locks on one file. A lease is written before the sandbox's first object and
 * removed after its last: an {@code alk} object without a lease naming a live process is an
 * orphan, and any launcher's reaper may remove it.
 */
final class Registry {

    private static final ConcurrentHashMap<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();
    private static final Set<PosixFilePermission> DIR_MODE = PosixFilePermissions.fromString("rwxr-xr-x");
    private static final Set<PosixFilePermission> FILE_MODE = PosixFilePermissions.fromString("rw-r--r--");

    private final Path dir;

    Registry(Path dir) {
        this.dir = dir.toAbsolutePath().normalize();
    }

    Path dir() {
        return dir;
    }

    interface Locked<T> {
        T run() throws SandboxException;
    }

    /** Runs {@code body} holding the machine-wide lock. */
    @SuppressWarnings("try") // the lock is held for the body; the variable itself is unused
    <T> T locked(Locked<T> body) throws SandboxException {
        ReentrantLock jvm = JVM_LOCKS.computeIfAbsent(dir, k -> new ReentrantLock());
        jvm.lock();
        try {
            if (jvm.getHoldCount() > 1) {
                return body.run();
            }
            ensureDir();
            try (FileChannel ch = FileChannel.open(dir.resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                    FileLock ignored = ch.lock()) {
                return body.run();
            } catch (IOException e) {
                throw new SandboxException("cannot lock " + dir.resolve("lock") + ": " + e + ". Fix: run as root; /run must be writable.", e);
            }
        } finally {
            jvm.unlock();
        }
    }

    /**
     * Creates the directory (mode 0755: the sandbox user must reach its generated /etc files), and
     * refuses one that someone other than its owner could write: a lease planted there could make
     * the reaper spare, or a lock file make it wait on, anything.
     */
    private void ensureDir() throws SandboxException {
        try {
            if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                // Each missing level 0755 whatever the umask: the sandbox user passes through them.
                Path missing = dir;
                while (missing.getParent() != null && !Files.exists(missing.getParent())) {
                    missing = missing.getParent();
                }
                for (Path p = missing; ; p = p.resolve(dir.getName(p.getNameCount()))) {
                    if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                        try {
                            Files.createDirectory(p);
                            Files.setPosixFilePermissions(p, DIR_MODE);
                        } catch (java.nio.file.FileAlreadyExistsException raced) {
                            // another launcher created it first
                        }
                    }
                    if (p.equals(dir)) {
                        break;
                    }
                }
            }
            Set<PosixFilePermission> mode = Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS);
            if (mode.contains(PosixFilePermission.GROUP_WRITE) || mode.contains(PosixFilePermission.OTHERS_WRITE)) {
                throw new SandboxException(dir + " is writable by group or others (" + PosixFilePermissions.toString(mode)
                        + "); the launcher refuses to trust its leases. Fix: chmod 755 " + dir);
            }
        } catch (IOException e) {
            throw new SandboxException("cannot create " + dir + ": " + e + ". Fix: run as root.", e);
        }
    }

    /** A lease: the record, or empty when the file is unreadable (a crash mid-write; reaped as dead). */
    record Lease(String id, Optional<SandboxRecord> record) {
    }

    /** Every lease, by id. */
    Map<String, Lease> leases() {
        Map<String, Lease> out = new LinkedHashMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.sorted().toList()) {
                String name = p.getFileName().toString();
                if (!name.endsWith(".json") || !Names.isId(name.substring(0, name.length() - 5))) {
                    continue;
                }
                String id = name.substring(0, name.length() - 5);
                out.put(id, new Lease(id, read(p)));
            }
        } catch (IOException e) {
            // no directory yet: no leases
        }
        return out;
    }

    static Optional<SandboxRecord> read(Path p) {
        try {
            return Optional.of(SandboxRecord.fromJson(Files.readString(p)));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    void writeLease(SandboxRecord r) throws SandboxException {
        ensureDir();
        writeAtomically(dir.resolve(r.id() + ".json"), r.toJson(), FILE_MODE);
    }

    void deleteLease(String id) throws SandboxException {
        Path p = dir.resolve(Names.netns(id) + ".json");
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new SandboxException("cannot remove lease " + p + ": " + e + ". Fix: run as root.", e);
        }
    }

    /** The directory of sandbox {@code id}'s generated files (its /etc). */
    Path files(String id) {
        return dir.resolve(Names.netns(id));
    }

    /** The ids of the per-sandbox directories present (for the reaper). */
    Set<String> fileDirs() {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)).map(p -> p.getFileName().toString())
                    .filter(Names::isId).collect(java.util.stream.Collectors.toCollection(java.util.TreeSet::new));
        } catch (IOException e) {
            return Set.of();
        }
    }

    /** Removes sandbox {@code id}'s generated files: only a directory of the exact id shape inside this registry. */
    void deleteFiles(String id) throws IOException {
        Path d = files(id);
        if (!d.getParent().equals(dir) || !Names.isId(d.getFileName().toString()) || !Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        // link-safe: the sandbox user's home (BwrapArgs.HOME_DIR) is in there, with whatever names it made
        LinkSafeFiles.deleteTree(d);
    }

    /** Writes {@code text} to {@code target} through a temporary file and an atomic rename. */
    static void writeAtomically(Path target, String text, Set<PosixFilePermission> mode) throws SandboxException {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.setPosixFilePermissions(tmp, mode);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new SandboxException("cannot write " + target + ": " + e + ". Fix: check that the directory is writable (run as root).", e);
        }
    }
}
