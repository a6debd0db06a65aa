package dev.airlock.gateway.audit;

import dev.airlock.policy.Printable;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.LongSupplier;

/**
 * The audit log: appends one hash-chained JSON line per {@link AuditEvent} to a file
 * (docs/audit-log.md has the format and the exact hash definition; {@link AuditCodec} implements it).
 *
 * <p>Design. Gateway threads call {@link #submit}, which only stamps the time and offers the event
 * to a bounded queue, so a slow disk never stalls the event loop for longer than
 * {@link Options#submitWait}. One writer thread owns everything after that: it collects records into
 * a batch and appends the batch whenever the queue drains or the batch is full, and forces the file
 * to disk at most once per {@link Options#forceInterval} (and on close). Submitters never wake it
 * while records come faster than it appends them: after an append of more than one record it
 * pauses a millisecond unsignalled, so under load one wake-up and one append carry what a
 * millisecond brought; after an append of one record, or a pause that brought nothing, it blocks
 * on the queue, and the next record wakes it.
 *
 * <p>Many writers, one chain. The daemon, cold runs, audits and template builds each run a log on
 * the same file at once. Each append therefore happens under {@link AppendLock}, which holds across
 * threads and processes: under it the writer learns the chain's head as it is in the file now (its
 * own last record unless someone else appended since, else the file's last line, which must verify),
 * only then assigns {@code seq} and {@code prev} to the batch, and writes it in one go. So seq and
 * prev are decided where no other writer can interleave, and the file holds one chain.
 *
 * <p>Failing closed. When a write or a force fails, the sink turns unhealthy for good: it prints one
 * line to stderr, every later {@link #submit} returns false (the gateway then denies, reason
 * {@code fail-closed}), and every record it had accepted but not handed to the OS is counted as
 * {@code failed}, never dropped silently. A full queue also makes {@link #submit} return false
 * (counted as {@code rejected}), and says so once per episode. A write that failed part-way is cut
 * back to where its append began. A last record that does not verify makes {@link #open} (and every
 * later append) refuse to extend the chain until an operator has moved the file aside, because a
 * chain must not continue from something it cannot check; a merely partial last line, which an
 * append killed mid-write leaves, is moved to {@code <log>.torn} instead (see FileStorage).
 *
 * <p>The file is created 0600 (parents 0700), never through a symbolic link. When it is moved away
 * (rotation), every writer starts the new file at its next append, with a new chain.
 */
public final class AuditLog implements AuditSink {

    /**
     * @param queueCapacity records that may wait for the writer; beyond it, submit returns false
     * @param submitWait    how long submit may wait for queue space; zero means not at all
     * @param forceInterval the least time between two forces (fsync) of the file
     */
    public record Options(int queueCapacity, Duration submitWait, Duration forceInterval) {

        /** 64 Ki records is seconds of peak traffic, a few tens of MiB at most: enough to ride out a slow disk. */
        public static final int DEFAULT_QUEUE_CAPACITY = 65_536;

        /**
         * Capacity 65536; submit never waits (the event loop must not block); force at most once a
         * second, which bounds what a power cut can lose without an fsync per connection.
         */
        public static final Options DEFAULTS = new Options(DEFAULT_QUEUE_CAPACITY, Duration.ZERO, Duration.ofSeconds(1));

        public Options {
            if (queueCapacity < 1) {
                throw new IllegalArgumentException("queueCapacity must be at least 1: " + queueCapacity);
            }
            if (submitWait.isNegative() || forceInterval.isNegative()) {
                throw new IllegalArgumentException("durations must not be negative");
            }
        }

        public Options withQueueCapacity(int capacity) {
            return new Options(capacity, submitWait, forceInterval);
        }

        public Options withSubmitWait(Duration wait) {
            return new Options(queueCapacity, wait, forceInterval);
        }

        public Options withForceInterval(Duration interval) {
            return new Options(queueCapacity, submitWait, interval);
        }
    }

    /**
     * What happened to the records submitted so far. Every accepted record ends up written or
     * failed; until then it is queued.
     *
     * @param written  handed to the OS (and forced to disk at the next force)
     * @param rejected refused by submit: queue full, sink failed or closed, or an invalid event
     * @param failed   accepted, then lost because the sink failed
     */
    public record Counts(long written, long rejected, long failed) {
    }

    /** Where the writer's records go: the file in production, a fake in tests. */
    interface Storage {
        /**
         * Appends one batch, holding the lock every writer of the log takes for an append: hands
         * {@code batch} the chain's head as it is now, and writes the lines it seals after that head.
         */
        void append(Batch batch) throws IOException;

        void force() throws IOException;

        void close() throws IOException;
    }

    /** Records waiting to be chained: sealed only under the append lock, after the head found there. */
    @FunctionalInterface
    interface Batch {
        Lines sealAfter(ChainHead head);
    }

    /** The bytes of sealed records, and the head they end in. */
    record Lines(byte[] bytes, ChainHead last) {
    }

    /** The 0600 file every record goes to; its lock file and torn-line file alike (only root reads audit state). */
    static final String FILE_MODE = "rw-------";
    /** Its parents, when the log creates them: only root reads audit state. */
    private static final String DIR_MODE = "rwx------";
    /**
     * At most this many records per append (about 64 KiB: records are 300 to 600 bytes), so that
     * under load one lock and one write system call carry many records, and no writer holds the
     * lock for long. A drain appends sooner.
     */
    static final int MAX_BATCH = 128;
    /** Marks the end of the queue for the writer; compared by identity. */
    private static final Pending STOP = new Pending(null, null, null, null);

    /** An event of this process (event, time), or a record another chain held first (forwarded, origin). */
    private record Pending(AuditEvent event, Instant time, AuditRecord forwarded, Origin origin) {
    }

    private final String path;
    private final Storage storage;
    private final Clock clock;
    private final Options options;
    private final PrintStream err;
    private final LongSupplier nanoTime;
    private final Pause pause;
    private final BlockingQueue<Pending> queue;
    /** Submitters hold the read side while they offer, so close() can fence them off before STOP. */
    private final ReentrantReadWriteLock gate = new ReentrantReadWriteLock();
    private volatile boolean closed;
    private final AtomicBoolean healthy = new AtomicBoolean(true);
    private final AtomicBoolean saturated = new AtomicBoolean();
    /** Records submit handed to the queue; each becomes written or failed. */
    private final AtomicLong accepted = new AtomicLong();
    /** Signalled whenever written or failed grows, for {@link #awaitWritten}. */
    private final Object settled = new Object();
    private final AtomicLong written = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private volatile ChainHead head;
    private final MeterRegistry registry;
    private final List<Meter> meters = new ArrayList<>();
    private final Thread writer;

    // Owned by the writer thread alone.
    private final List<Pending> batch = new ArrayList<>(MAX_BATCH);
    /** Records in the last append: more than one means they come faster than the writer wakes. */
    private int lastAppended;
    private final ByteArrayOutputStream batchBytes = new ByteArrayOutputStream(MAX_BATCH * 512);

    private AuditLog(String path, Storage storage, ChainHead start, Clock clock, Options options, MeterRegistry registry,
            PrintStream err, LongSupplier nanoTime, Pause pause) {
        this.path = path;
        this.storage = storage;
        this.clock = Objects.requireNonNull(clock, "clock");
        this.options = Objects.requireNonNull(options, "options");
        this.err = err;
        this.nanoTime = nanoTime;
        this.pause = pause;
        this.queue = new ArrayBlockingQueue<>(options.queueCapacity());
        this.head = start;
        this.registry = registry;
        this.writer = Thread.ofPlatform().name("airlock-audit-writer").daemon(true).unstarted(this::runWriter);
    }

    /** Opens (or creates) the log at {@code path} with the default options and no metrics. */
    public static AuditLog open(Path path, Clock clock) throws IOException {
        return open(path, clock, Options.DEFAULTS);
    }

    public static AuditLog open(Path path, Clock clock, Options options) throws IOException {
        return open(path, clock, options, Optional.empty());
    }

    /** As {@link #open(Path, Clock, Options)}, counting records in {@code registry}. */
    public static AuditLog open(Path path, Clock clock, Options options, MeterRegistry registry) throws IOException {
        return open(path, clock, options, Optional.of(registry));
    }

    private static AuditLog open(Path path, Clock clock, Options options, Optional<MeterRegistry> registry) throws IOException {
        FileStorage storage = FileStorage.open(path, clock, System.err);
        return start(path.toString(), storage, storage.openingHead(), clock, options, registry.orElse(null), System.err,
                System::nanoTime);
    }

    /** Starts a log over any storage; tests inject failing or blocking storage here. */
    static AuditLog start(String path, Storage storage, ChainHead start, Clock clock, Options options, MeterRegistry registry,
            PrintStream err, LongSupplier nanoTime) {
        return start(path, storage, start, clock, options, registry, err, nanoTime, Pause.PARK);
    }

    /** As above, with the writer's unsignalled wait injected. */
    static AuditLog start(String path, Storage storage, ChainHead start, Clock clock, Options options, MeterRegistry registry,
            PrintStream err, LongSupplier nanoTime, Pause pause) {
        AuditLog log = new AuditLog(path, storage, start, clock, options, registry, err, nanoTime, pause);
        if (registry != null) {
            log.registerMeters(registry);
        }
        log.writer.start();
        return log;
    }

    private void registerMeters(MeterRegistry r) {
        // Exposed as airlock_audit_records_total{result} and airlock_audit_sink_healthy (docs/audit-log.md).
        String records = "airlock.audit.records";
        String help = "Audit records by outcome: written to the file, rejected at submit, or failed after acceptance";
        meters.add(FunctionCounter.builder(records, written, AtomicLong::doubleValue).tag("result", "written").description(help).register(r));
        meters.add(FunctionCounter.builder(records, rejected, AtomicLong::doubleValue).tag("result", "rejected").description(help).register(r));
        meters.add(FunctionCounter.builder(records, failed, AtomicLong::doubleValue).tag("result", "failed").description(help).register(r));
        meters.add(Gauge.builder("airlock.audit.sink.healthy", healthy, h -> h.get() ? 1 : 0).strongReference(true)
                .description("1 while the audit log accepts records; 0 once it has failed (the gateway then fails closed)").register(r));
        meters.add(Gauge.builder("airlock.audit.queue.depth", queue, BlockingQueue::size).strongReference(true)
                .description("Audit records waiting for the writer").register(r));
    }

    // ---- the gateway's side -------------------------------------------------------------------------

    @Override
    public boolean submit(AuditEvent event) {
        if (!valid(event)) {
            rejected.incrementAndGet();
            return false;
        }
        return offer(event, null, null);
    }

    /**
     * Queues a record that another writer's chain held first (a gateway pod's, forwarded to the
     * daemon): appended to this chain with its own time and fields as written there, and its
     * {@code origin}. Same guarantees as {@link #submit}: false when it cannot be accepted, and an
     * accepted record ends up written or counted failed.
     */
    public boolean submitForwarded(AuditRecord record, Origin origin) {
        if (record == null || origin == null) {
            rejected.incrementAndGet();
            return false;
        }
        return offer(null, record, origin);
    }

    private boolean offer(AuditEvent event, AuditRecord forwarded, Origin origin) {
        ReentrantReadWriteLock.ReadLock lock = gate.readLock();
        if (!lock.tryLock()) { // close() holds the write side: we are closing
            rejected.incrementAndGet();
            return false;
        }
        try {
            if (closed || !healthy.get()) {
                rejected.incrementAndGet();
                return false;
            }
            Pending p = new Pending(event, clock.instant(), forwarded, origin);
            boolean offered = options.submitWait().isZero() ? queue.offer(p)
                    : queue.offer(p, options.submitWait().toNanos(), TimeUnit.NANOSECONDS);
            if (offered) {
                accepted.incrementAndGet();
            } else {
                rejected.incrementAndGet();
                if (saturated.compareAndSet(false, true)) {
                    err.println("airlock: audit log " + path + ": " + options.queueCapacity() + " records are waiting to be"
                            + " written; connections are denied until the writer catches up (fail-closed)");
                    err.flush();
                }
            }
            return offered;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            rejected.incrementAndGet();
            return false;
        } finally {
            lock.unlock();
        }
    }

    /** An event the writer could not encode would fail the whole sink; refuse it here instead. */
    private static boolean valid(AuditEvent e) {
        return e != null && e.event() != null && e.via() != null
                && e.decision() != null && e.reason() != null
                && e.port() >= 0 && e.port() <= 65535
                && e.bytesUp() >= 0 && e.bytesDown() >= 0 && e.durationMs() >= 0;
    }

    @Override
    public boolean healthy() {
        return healthy.get();
    }

    @Override
    public boolean awaitWritten(Duration timeout) throws InterruptedException {
        long target = accepted.get();
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (settled) {
            while (written.get() + failed.get() < target) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(settled, left);
            }
        }
        return true;
    }

    private void signalSettled() {
        synchronized (settled) {
            settled.notifyAll();
        }
    }

    public Counts counts() {
        return new Counts(written.get(), rejected.get(), failed.get());
    }

    /**
     * The last record this log handed to the OS (other writers of the file may have appended since):
     * publish it somewhere else to anchor the chain.
     */
    public ChainHead head() {
        return head;
    }

    /**
     * Stops accepting, writes and forces everything accepted so far, and closes the file. Blocks
     * until the writer is done; safe to call more than once.
     */
    @Override
    public void close() {
        boolean first;
        gate.writeLock().lock();
        try {
            first = !closed;
            closed = true;
        } finally {
            gate.writeLock().unlock();
        }
        boolean interrupted = false;
        if (first) {
            // The writer drains in every state (writing, or counting failures), so this put returns.
            while (true) {
                try {
                    queue.put(STOP);
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        while (true) {
            try {
                writer.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (first && registry != null) {
            meters.forEach(registry::remove);
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- the writer thread --------------------------------------------------------------------------

    private void runWriter() {
        try {
            writeUntilStopped();
            return;
        } catch (Throwable t) { // anything at all: fail closed rather than die quietly
            failed.addAndGet(batch.size());
            batch.clear();
            signalSettled();
            fail(t);
            try {
                storage.close();
            } catch (IOException | RuntimeException ignored) {
                // already failed and said so; the close error adds nothing
            }
        }
        countUntilStopped();
    }

    private void writeUntilStopped() throws IOException, InterruptedException {
        long forceNanos = options.forceInterval().toNanos();
        long lastForce = nanoTime.getAsLong();
        boolean unforced = false;
        while (true) {
            Pending p = queue.poll();
            if (p == null) {
                if (!batch.isEmpty()) { // the queue drained: let readers see everything so far
                    appendBatch();
                    unforced = true;
                }
                saturated.set(false);
                if (unforced && nanoTime.getAsLong() - lastForce >= forceNanos) {
                    storage.force();
                    unforced = false;
                    lastForce = nanoTime.getAsLong();
                    continue;
                }
                p = awaitNext(lastAppended > 1, unforced, lastForce + forceNanos);
                if (p == null) { // a force is due
                    continue;
                }
            }
            if (p == STOP) {
                break;
            }
            batch.add(p);
            if (batch.size() >= MAX_BATCH) {
                appendBatch();
                unforced = true;
            }
            if (nanoTime.getAsLong() - lastForce >= forceNanos) { // under steady load the queue may never drain
                appendBatch();
                storage.force();
                unforced = false;
                lastForce = nanoTime.getAsLong();
            }
        }
        appendBatch();
        storage.force();
        storage.close();
    }

    /**
     * Waits for the next record without being signalled for a short while, then blocks: under
     * load, records arrive within a millisecond, and the writer collects what came during each
     * pause into one append (one lock, one write) instead of being woken, and appending, once per
     * record (two per tunnel). That was the writer's cost, and a context switch, per record. Only
     * when {@code busy} (the last append carried more than one record, so records come faster than
     * the writer wakes): at a lower rate a pause would be a timer wake-up per record on top of the
     * record's own. Otherwise, or when a pause brought nothing, the writer blocks: with a force
     * pending only until it is due (null then), else until a record comes.
     */
    private Pending awaitNext(boolean busy, boolean unforced, long forceDue) throws InterruptedException {
        for (int i = 0; busy && i < IDLE_POLLS; i++) {
            pause.pause(IDLE_POLL_NANOS);
            Pending p = queue.poll();
            if (p != null) {
                return p;
            }
            if (unforced && nanoTime.getAsLong() - forceDue >= 0) {
                return null;
            }
        }
        if (!unforced) {
            return queue.take();
        }
        long wait = forceDue - nanoTime.getAsLong();
        return wait <= 0 ? null : queue.poll(wait, TimeUnit.NANOSECONDS);
    }

    /** How the writer waits unsignalled; tests hold it to see what one wake-up collects. */
    @FunctionalInterface
    interface Pause {
        /** Parks about {@code nanos}; throws when the thread was interrupted. */
        void pause(long nanos) throws InterruptedException;

        Pause PARK = nanos -> {
            java.util.concurrent.locks.LockSupport.parkNanos(nanos);
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
        };
    }

    /** 1 ms: well under any human-visible delay for a record to reach the file. */
    private static final long IDLE_POLL_NANOS = 1_000_000L;
    /**
     * One poll: a pause that brought nothing means records come slower than one a millisecond, and
     * then a wake-up per record costs less than a timer every millisecond; the writer blocks until
     * the next record (or a due force), so an idle gateway costs nothing.
     */
    private static final int IDLE_POLLS = 1;

    /** Appends the batch under the append lock; on failure the caller counts it as failed. */
    private void appendBatch() throws IOException {
        if (batch.isEmpty()) {
            return;
        }
        ChainHead[] last = new ChainHead[1];
        storage.append(after -> {
            last[0] = after;
            batchBytes.reset();
            for (Pending p : batch) {
                AuditCodec.Sealed sealed = p.forwarded() != null
                        ? AuditCodec.sealForwarded(last[0].seq() + 1, p.forwarded(), p.origin(), last[0].hash())
                        : AuditCodec.seal(last[0].seq() + 1, p.time(), p.event(), last[0].hash());
                batchBytes.writeBytes(sealed.line());
                last[0] = sealed.record().head();
            }
            return new Lines(batchBytes.toByteArray(), last[0]);
        });
        written.addAndGet(batch.size());
        lastAppended = batch.size();
        batch.clear();
        head = last[0];
        signalSettled();
    }

    private void fail(Throwable cause) {
        if (healthy.compareAndSet(true, false)) {
            String why = cause.getMessage() == null ? cause.getClass().getName() : cause.getMessage();
            err.println("airlock: audit log " + path + " failed: " + Printable.escape(why)
                    + "; the gateway now denies every connection (fail-closed)");
            err.flush();
        }
    }

    /** After a failure: keep taking what was accepted, count it as failed, until close(). */
    private void countUntilStopped() {
        while (true) {
            Pending p;
            try {
                p = queue.take();
            } catch (InterruptedException e) {
                continue;
            }
            if (p == STOP) {
                return;
            }
            failed.incrementAndGet();
            signalSettled();
        }
    }

    // ---- the file -----------------------------------------------------------------------------------

    /**
     * The log file: created 0600, never through a symbolic link, appended to under {@link AppendLock}.
     * Used by the writer thread alone (and by {@link #open} before it starts).
     */
    private static final class FileStorage implements Storage {
        private final Path path;
        private final AppendLock lock;
        /** Where records go: opened with O_APPEND, so the file may be marked append-only (chattr +a). */
        private FileChannel out;
        /** The same file, for reading its last line (a channel cannot both read and append). */
        private FileChannel in;
        /** Identifies the file both channels are on, to notice the path now names another file. */
        private Object fileKey;
        /** The file's size after this writer's last append, or -1: if it is still that, no one appended since. */
        private long knownEnd = -1;
        private ChainHead knownHead = ChainHead.EMPTY;

        private final Clock clock;
        private final PrintStream err;

        private FileStorage(Path path, AppendLock lock, Clock clock, PrintStream err) {
            this.path = path;
            this.lock = lock;
            this.clock = clock;
            this.err = err;
        }

        static FileStorage open(Path path, Clock clock, PrintStream err) throws IOException {
            Path parent = path.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(DIR_MODE)));
            }
            refuseOddFile(path);
            FileStorage s = new FileStorage(path, AppendLock.forWriting(path), clock, err);
            try {
                // Check where the chain continues now, so that a log that cannot be extended is refused at start.
                s.lock.holding(() -> {
                    s.followPath();
                    return s.headNow();
                });
                return s;
            } catch (IOException | RuntimeException e) {
                s.closeQuietly();
                throw e;
            }
        }

        /** The head when the log opened. */
        ChainHead openingHead() {
            return knownHead;
        }

        @Override
        public void append(Batch batch) throws IOException {
            lock.holding(() -> {
                followPath();
                ChainHead head = headNow();
                long end = out.size();
                Lines lines = batch.sealAfter(head);
                ByteBuffer buf = ByteBuffer.wrap(lines.bytes());
                try {
                    while (buf.hasRemaining()) {
                        out.write(buf);
                    }
                } catch (IOException e) {
                    cutBack(end, e);
                    throw e;
                }
                knownEnd = end + lines.bytes().length;
                knownHead = lines.last();
                return null;
            });
        }

        /**
         * After a write that failed part-way (disk full, file too large), cuts the file back to where
         * this append began, still under the lock: other writers then continue from a whole last
         * line instead of failing on a torn one. This writer fails closed all the same. On an
         * append-only file ({@code chattr +a}) the cut is refused, and the torn line stays for
         * {@code verify} to report.
         */
        private void cutBack(long end, IOException cause) {
            try {
                out.truncate(end);
            } catch (IOException | RuntimeException e) {
                cause.addSuppressed(e);
            }
        }

        /**
         * Makes sure the channels are on the file the path names now: at the first append, and after
         * an operator moved the log away (rotation), when the next append starts a new file and chain.
         */
        private void followPath() throws IOException {
            if (out != null && fileKey != null && fileKey.equals(refuseOddFile(path))) {
                return;
            }
            closeChannels();
            Object before = refuseOddFile(path);
            FileChannel o = openForAppend(path);
            FileChannel i;
            try {
                i = FileChannel.open(path, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
            } catch (IOException | RuntimeException e) {
                o.close();
                throw e;
            }
            Object after = refuseOddFile(path);
            if (after == null || (before != null && !before.equals(after))) {
                o.close();
                i.close();
                throw new IOException("audit log " + path + " was replaced while it was being opened; fix: try again");
            }
            out = o;
            in = i;
            fileKey = after;
            knownEnd = -1;
        }

        /** The chain's head in the file now; re-read (and checked) only when someone else appended. */
        private ChainHead headNow() throws IOException {
            long size = out.size();
            if (size == knownEnd) {
                return knownHead;
            }
            if (size > 0 && AuditLogReader.readFully(in, size - 1, 1)[0] != '\n') {
                size = moveTornLineAside(size);
            }
            Optional<AuditLogReader.Line> last = AuditLogReader.lastLine(in);
            ChainHead head;
            if (last.isEmpty()) {
                head = ChainHead.EMPTY;
            } else {
                String why = switch (last.get()) {
                    case AuditLogReader.Unreadable u -> u.why();
                    case AuditLogReader.Entry e -> e.hashMatches() ? null : "hash mismatch: the record was changed after it was written";
                };
                if (why != null) {
                    throw new IOException("audit log " + path + " cannot be continued: its last line is not a valid record (" + why
                            + "), and Airlock does not extend a chain it cannot check; fix: run 'airlock log verify --file " + path
                            + "', move the file aside (mv " + path + " " + path + ".broken) and start again: a new file starts a new chain");
                }
                head = ((AuditLogReader.Entry) last.get()).record().head();
            }
            knownEnd = size;
            knownHead = head;
            return head;
        }

        /**
         * The file ends in a partial line, and no live writer is appending (we hold the lock): an
         * append was cut short by {@code kill -9} (the kernel ends a write at a page boundary when
         * a fatal signal is pending), a crash or a power cut. Such a line was never a record, and
         * its records are lost like those still queued in the process that died. Left in place it
         * would stop every writer, so the line is copied to {@code <log>.torn} (0600), cut off, and
         * said so on stderr; the chain continues from the last whole record, which must verify as
         * always. Where the cut is refused (an append-only file), the log stays refused as before.
         *
         * @return the file's new size
         */
        private long moveTornLineAside(long size) throws IOException {
            long start = size;
            while (start > 0 && size - start <= AuditLogReader.MAX_LINE_BYTES) {
                int n = (int) Math.min(4096, start);
                byte[] chunk = AuditLogReader.readFully(in, start - n, n);
                int i = n - 1;
                while (i >= 0 && chunk[i] != '\n') {
                    i--;
                }
                if (i >= 0) {
                    start = start - n + i + 1;
                    break;
                }
                start -= n;
            }
            if (size - start > AuditLogReader.MAX_LINE_BYTES) {
                return size; // not a torn record but junk: left for the check that follows to refuse
            }
            byte[] torn = AuditLogReader.readFully(in, start, (int) (size - start));
            Path aside = AuditLogReader.tornFileOf(path);
            try (FileChannel t = openForAppend(aside)) {
                String header = "# " + AuditCodec.formatTime(clock.instant()) + ": " + torn.length + " bytes cut from the end of " + path + " at offset "
                        + start + "\n";
                ByteBuffer b = ByteBuffer.wrap((header + new String(torn, java.nio.charset.StandardCharsets.ISO_8859_1) + "\n")
                        .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
                while (b.hasRemaining()) {
                    t.write(b);
                }
                t.force(true);
            }
            try {
                out.truncate(start);
            } catch (IOException e) {
                return size; // refused (chattr +a): the check that follows refuses the partial line as before
            }
            err.println("airlock: audit log " + path + ": its last line was partial (" + torn.length + " bytes: an append cut"
                    + " short by kill -9, a crash or a power cut); moved it to " + aside + " and continued the chain");
            err.flush();
            return start;
        }

        /** Opens {@code path} (the log or its .torn file) to append: created 0600, never through a symbolic link. */
        private static FileChannel openForAppend(Path path) throws IOException {
            try {
                // APPEND keeps working when an operator marks the file append-only (chattr +a).
                return FileChannel.open(path,
                        Set.<OpenOption>of(StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND,
                                LinkOption.NOFOLLOW_LINKS),
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(FILE_MODE)));
            } catch (IOException e) {
                // A link (ELOOP comes as a plain IOException, not a FileSystemException) or another odd file: say which.
                refuseOddFile(path);
                throw e;
            }
        }

        /**
         * The file key (device and inode) of the regular file at {@code path}, or null if there is
         * none; refuses a symbolic link or anything else that is not a regular file.
         */
        private static Object refuseOddFile(Path path) throws IOException {
            BasicFileAttributes a;
            try {
                a = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            } catch (NoSuchFileException e) {
                return null;
            }
            if (a.isSymbolicLink()) {
                throw new IOException("refusing audit log " + path + ": it is a symbolic link, and the log is never written"
                        + " through one; fix: configure the path of the real file");
            }
            if (!a.isRegularFile()) {
                throw new IOException("refusing audit log " + path + ": it is not a regular file; fix: configure a file path");
            }
            return a.fileKey();
        }

        @Override
        public void force() throws IOException {
            if (out != null) {
                out.force(true);
            }
        }

        @Override
        public void close() throws IOException {
            try {
                closeChannels();
            } finally {
                lock.close();
            }
        }

        private void closeChannels() throws IOException {
            FileChannel o = out;
            FileChannel i = in;
            out = null;
            in = null;
            fileKey = null;
            try {
                if (o != null) {
                    o.close();
                }
            } finally {
                if (i != null) {
                    i.close();
                }
            }
        }

        private void closeQuietly() {
            try {
                close();
            } catch (IOException | RuntimeException ignored) {
                // already failing with the cause that matters
            }
        }
    }
}
