package dev.airlock.gateway.audit;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The lock every writer of one audit log holds for each append, in this process and in every other:
 * the daemon, cold runs, audits and template builds all append to the same file, each re-reading the
 * chain's head under this lock (docs/audit-log.md, "Many writers, one chain").
 *
 * <p>Design. The kernel lock is a POSIX record lock ({@link FileChannel#lock}), which has two traps:
 * it belongs to the <em>process</em> and vanishes as soon as the process closes <em>any</em>
 * descriptor of the locked file, and the JVM refuses a second lock on a file it already locks
 * ({@code OverlappingFileLockException}). So the lock is not taken on the log, which readers open and
 * close all the time, but on a file of its own, {@code <log>.lock}, which only this class opens: once
 * per process and log, kept open while anyone in the process uses it. Threads of one process first
 * take turns on a {@link ReentrantLock}, then take the file lock, with {@code tryLock} only (see
 * {@link #take}). A process that dies loses its lock with it, so a crash never leaves the log locked.
 */
final class AppendLock implements Closeable {

    /** The lock files this process has open, by real path, with how many users each has. */
    private static final ConcurrentHashMap<Path, Shared> OPEN = new ConcurrentHashMap<>();

    private static final class Shared {
        final FileChannel channel;
        final ReentrantLock turn = new ReentrantLock();
        int users;

        Shared(FileChannel channel) {
            this.channel = channel;
        }
    }

    /** Work done under the lock. */
    @FunctionalInterface
    interface Locked<T> {
        T run() throws IOException;
    }

    private final Path key;
    private final Shared shared;
    private boolean closed;

    private AppendLock(Path key, Shared shared) {
        this.key = key;
        this.shared = shared;
    }

    /** The lock file of {@code log}: beside it, named {@code <log>.lock}. */
    static Path fileOf(Path log) {
        return log.resolveSibling(log.getFileName() + ".lock");
    }

    /**
     * Joins this process's users of the lock of {@code log}, creating the lock file (0600 like the log, never
     * through a symbolic link) if needed. Close it when done.
     */
    static AppendLock forWriting(Path log) throws IOException {
        return join(log, true).orElseThrow();
    }

    /**
     * As {@link #forWriting}, but only if the lock file exists and can be opened: a reader of a copied
     * or read-only log, or of a log no writer has ever locked, reads it without the lock.
     */
    static Optional<AppendLock> forReading(Path log) {
        try {
            return join(log, false);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static Optional<AppendLock> join(Path log, boolean create) throws IOException {
        Path file = fileOf(log.toAbsolutePath().normalize());
        Path parent = file.getParent();
        // One key per real directory, so two spellings of one path share one channel (and one POSIX lock).
        Path key = (parent == null ? file : parent.toRealPath().resolve(file.getFileName())).normalize();
        if (!create && !Files.exists(key, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        try {
            Shared s = OPEN.compute(key, (k, existing) -> {
                Shared joined = existing != null ? existing : new Shared(openChannel(k, create));
                joined.users++;
                return joined;
            });
            return Optional.of(new AppendLock(key, s));
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    private static FileChannel openChannel(Path file, boolean create) {
        Set<OpenOption> options = new HashSet<>(List.of(StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS));
        if (create) {
            options.add(StandardOpenOption.CREATE);
        }
        try {
            return FileChannel.open(file, options, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(AuditLog.FILE_MODE)));
        } catch (IOException e) {
            throw new UncheckedIOException(Files.isSymbolicLink(file)
                    ? new IOException("refusing audit lock file " + file + ": it is a symbolic link, and Airlock never"
                            + " opens one there; fix: remove the link, Airlock creates the file itself")
                    : e);
        }
    }

    /**
     * Runs {@code work} while holding the lock against every other holder, in this process or not.
     * Waits until the lock is free; holders keep it for one append, microseconds to a millisecond.
     */
    <T> T holding(Locked<T> work) throws IOException {
        FileLock lock = acquire(Long.MAX_VALUE); // never null without a limit
        try {
            return work.run();
        } finally {
            release(lock);
        }
    }

    /**
     * As {@link #holding(Locked)}, but gives up after {@code patienceNanos} without the lock and
     * returns empty, for readers, which must not hang behind a writer that was stopped mid-append.
     */
    <T> Optional<T> holding(long patienceNanos, Locked<T> work) throws IOException {
        FileLock lock = acquire(patienceNanos);
        if (lock == null) {
            return Optional.empty();
        }
        try {
            return Optional.ofNullable(work.run());
        } finally {
            release(lock);
        }
    }

    /** This process's turn, then the file lock; null (holding neither) after {@code patienceNanos}. */
    private FileLock acquire(long patienceNanos) throws IOException {
        long start = System.nanoTime();
        if (!takeTurn(patienceNanos)) {
            return null;
        }
        try {
            FileLock lock = take(shared.channel, start, patienceNanos);
            if (lock == null) {
                shared.turn.unlock();
            }
            return lock;
        } catch (IOException | RuntimeException e) {
            shared.turn.unlock();
            throw e;
        }
    }

    private void release(FileLock lock) throws IOException {
        try {
            lock.release();
        } finally {
            shared.turn.unlock();
        }
    }

    /** Whether another thread of this process waits for its turn at this lock now. */
    boolean othersWaiting() {
        return shared.turn.hasQueuedThreads();
    }

    /** Waits its turn among this process's threads; never interruptibly (see {@link #take}). */
    private boolean takeTurn(long patienceNanos) {
        if (patienceNanos == Long.MAX_VALUE) {
            shared.turn.lock();
            return true;
        }
        boolean interrupted = Thread.interrupted();
        try {
            long deadline = System.nanoTime() + patienceNanos;
            while (true) {
                try {
                    return shared.turn.tryLock(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The first waits are short: another process's append is usually over within them. */
    private static final long FIRST_WAIT_NANOS = 20_000L;
    /** The longest wait between two tries: a writer behind a long append loses at most this. */
    private static final long LONGEST_WAIT_NANOS = 1_000_000L;

    /**
     * Tries, and waits between tries, instead of {@link FileChannel#lock()}: a blocking lock is
     * interruptible, and an interrupt (or one already pending on the calling thread) would close the
     * channel, and with it the lock of every user in the process. {@code tryLock} never does.
     * Returns null once {@code patienceNanos} have passed since {@code start}.
     */
    private static FileLock take(FileChannel channel, long start, long patienceNanos) throws IOException {
        long wait = FIRST_WAIT_NANOS;
        while (true) {
            FileLock lock = channel.tryLock();
            if (lock != null) {
                return lock;
            }
            if (System.nanoTime() - start >= patienceNanos) {
                return null;
            }
            LockSupport.parkNanos(wait);
            wait = Math.min(wait * 2, LONGEST_WAIT_NANOS);
        }
    }

    /** Leaves; the last user in the process closes the lock file, which no one here locks then. */
    @Override
    public void close() throws IOException {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        IOException[] failure = new IOException[1];
        OPEN.computeIfPresent(key, (k, s) -> {
            if (--s.users > 0) {
                return s;
            }
            try {
                s.channel.close();
            } catch (IOException e) {
                failure[0] = e;
            }
            return null;
        });
        if (failure[0] != null) {
            throw failure[0];
        }
    }
}
