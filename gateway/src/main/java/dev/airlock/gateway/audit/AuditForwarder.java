package dev.airlock.gateway.audit;

import dev.airlock.policy.Printable;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Ships a gateway's audit log to the daemon's one chain (Kubernetes: each gateway pod's log, see
 * docs/audit-log.md, "Forwarding"). Push, not pull: the gateway knows when it has records, it needs
 * no listener the daemon could be pointed at, and the daemon needs no access into pods.
 *
 * <p>Design. The local log stays the buffer: the forwarder never holds a record the file does not
 * hold, so a crash or {@code kill -9} loses nothing that was written. One thread reads whole lines
 * after the {@link ForwardCursor}, at most {@link #MAX_BATCH} at a time, in order, and sends them
 * with their own seq and hash; the daemon answers with the last record of this source it holds,
 * and only then does the cursor move (and get written). A daemon that is away or refuses is retried
 * with backoff up to {@link #MAX_BACKOFF}, for ever: records are never skipped, and the file grows
 * meanwhile. If the file's volume fills, the log itself fails and the gateway denies every
 * connection (fail-closed), so no decision goes unrecorded. Every failure is counted
 * ({@code airlock_audit_forward_failures_total}) and said on stderr once per episode (and again when
 * its cause changes), and
 * {@code airlock_audit_forward_pending} says how many records wait.
 */
public final class AuditForwarder implements AutoCloseable {

    /** Records per request: about 64 KiB, a small request even on a slow link. */
    static final int MAX_BATCH = 128;
    /** The first retry comes soon: a daemon restart is the common case. */
    static final Duration FIRST_BACKOFF = Duration.ofMillis(250);
    /** The longest wait between two tries: a daemon back after an outage gets the records within this. */
    static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
    /** How often an idle forwarder looks for new lines: records reach the daemon within about this. */
    static final Duration POLL = Duration.ofMillis(200);

    /** The outcome of one round. */
    sealed interface Round permits Idle, Sent, Failed {
    }

    /** Nothing new in the log. */
    record Idle() implements Round {
    }

    /** {@code count} records acknowledged; the cursor moved to {@code cursor}. */
    record Sent(int count, ForwardCursor cursor) implements Round {
    }

    /** Nothing moved: {@code why}, and whether the daemon answered ({@code refused}) or not. */
    record Failed(String why, String reason) implements Round {
    }

    private final Path log;
    private final Path cursorFile;
    private final String source;
    private final IngestClient client;
    private final LongSupplier localHead;
    private final PrintStream err;
    private ForwardCursor cursor;
    private final AtomicLong acked = new AtomicLong();
    private final AtomicLong failing = new AtomicLong();
    private String lastFailure;
    private Counter sent;
    private final java.util.Map<String, Counter> failures = new java.util.HashMap<>();
    private final List<io.micrometer.core.instrument.Meter> meters = new ArrayList<>();
    private MeterRegistry registry;
    private final CountDownLatch stop = new CountDownLatch(1);
    private Thread thread;

    /**
     * @param localHead the seq of the log's last written record (for the pending gauge)
     */
    AuditForwarder(Path log, String source, IngestClient client, LongSupplier localHead, PrintStream err) throws IOException {
        this.log = log;
        this.cursorFile = ForwardCursor.fileOf(log);
        if (source == null || source.isEmpty() || !source.equals(Printable.escape(source))) {
            throw new IllegalArgumentException("the source name must be printable ASCII and not empty: " + source);
        }
        this.source = source;
        this.client = client;
        this.localHead = localHead;
        this.err = err;
        this.cursor = ForwardCursor.read(cursorFile);
        this.acked.set(cursor.acked().seq());
    }

    /** Starts forwarding {@code log} on its own thread, counting in {@code registry}. */
    public static AuditForwarder start(Path log, String source, IngestClient client, AuditLog local, MeterRegistry registry, PrintStream err)
            throws IOException {
        AuditForwarder f = new AuditForwarder(log, source, client, () -> local.head().seq(), err);
        f.registerMeters(registry);
        f.thread = Thread.ofPlatform().name("airlock-audit-forward").daemon(true).start(f::run);
        return f;
    }

    private void registerMeters(MeterRegistry r) {
        this.registry = r;
        // airlock_audit_forward_records_total, airlock_audit_forward_failures_total{reason}, airlock_audit_forward_pending,
        // airlock_audit_forward_healthy (docs/audit-log.md, "Forwarding")
        sent = Counter.builder("airlock.audit.forward.records").description("Audit records the daemon acknowledged").register(r);
        meters.add(sent);
        for (String reason : List.of("unreachable", "refused", "unreadable", "tls")) {
            Counter c = Counter.builder("airlock.audit.forward.failures").tag("reason", reason)
                    .description("Forwarding attempts that failed; the records stay in the local log and are sent again").register(r);
            failures.put(reason, c);
            meters.add(c);
        }
        meters.add(Gauge.builder("airlock.audit.forward.pending", this, f -> Math.max(0, f.localHead.getAsLong() - f.acked.get()))
                .strongReference(true).description("Audit records in the local log that the daemon has not acknowledged yet").register(r));
        meters.add(Gauge.builder("airlock.audit.forward.healthy", failing, n -> n.get() == 0 ? 1 : 0).strongReference(true)
                .description("1 while the daemon acknowledges; 0 while forwarding fails (the records wait in the local log)").register(r));
    }

    private void count(String reason) {
        Counter c = failures.get(reason);
        if (c != null) {
            c.increment();
        }
    }

    private void run() {
        int failures = 0;
        try {
            while (stop.getCount() > 0) {
                Round r = forwardOnce();
                Duration wait = switch (r) {
                    case Idle i -> POLL;
                    case Sent s -> Duration.ZERO;
                    case Failed f -> backoff(++failures);
                };
                if (r instanceof Sent) {
                    failures = 0;
                }
                if (!wait.isZero() && stop.await(wait.toMillis(), TimeUnit.MILLISECONDS)) {
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The wait after the {@code failures}-th failure in a row: doubling from {@link #FIRST_BACKOFF} up to {@link #MAX_BACKOFF}. */
    static Duration backoff(int failures) {
        int doublings = Math.min(Math.max(failures, 1) - 1, 16);
        Duration d = FIRST_BACKOFF.multipliedBy(1L << doublings);
        return d.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : d;
    }

    /** A whole line read from the log: its text, its record's head, and where the next line starts. */
    private record Read(String text, ChainHead head, long end) {
    }

    /** Reads the next batch after the cursor and sends it; one round of the thread's loop (tests call it directly). */
    Round forwardOnce() {
        List<Read> batch;
        try {
            batch = readBatch();
        } catch (BadLine e) {
            return failed("unreadable", e.getMessage());
        } catch (IOException e) {
            return failed("unreadable", "cannot read " + log + ": " + e.getMessage());
        }
        if (batch.isEmpty()) {
            return new Idle();
        }
        ChainHead ack;
        try {
            ack = client.send(source, batch.stream().map(Read::text).toList());
        } catch (IngestClient.Refused e) {
            return failed("refused", client + " refused the records: " + e.getMessage());
        } catch (IngestClient.Untrusted e) {
            return failed("tls", e.getMessage());
        } catch (IOException e) {
            return failed("unreachable", client + " does not answer: " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
        }
        int n = 0;
        ForwardCursor next = cursor;
        for (Read r : batch) {
            if (r.head().seq() > ack.seq()) {
                break;
            }
            next = new ForwardCursor(r.head(), r.end());
            n++;
        }
        if (n == 0) {
            return failed("refused", client + " acknowledged " + ack + ", before the batch it was sent (from " + batch.get(0).head().seq() + ")");
        }
        try {
            next.write(cursorFile);
        } catch (IOException e) {
            // The daemon holds them; without the cursor they are sent again after a restart, and skipped there.
            err.println("airlock: cannot write the forwarding cursor " + cursorFile + ": " + e.getMessage() + "; records may be sent again after a restart (the daemon skips them)");
        }
        cursor = next;
        acked.set(next.acked().seq());
        if (sent != null) {
            sent.increment(n);
        }
        lastFailure = null;
        if (failing.getAndSet(0) > 0) {
            err.println("airlock: audit forwarding to " + client + " works again: the daemon holds every record up to " + next.acked().seq());
            err.flush();
        }
        return new Sent(n, next);
    }

    private Failed failed(String reason, String why) {
        count(reason);
        // said once per episode, and again when the cause changes (a CA fixed, then a wrong token shows)
        boolean changed = !reason.equals(lastFailure);
        lastFailure = reason;
        if (failing.getAndIncrement() == 0 || changed) {
            err.println("airlock: audit forwarding failed: " + Printable.escape(why) + "; the records stay in " + log
                    + " and are sent when the daemon takes them (retrying every " + MAX_BACKOFF.toSeconds() + " s at most; "
                    + "airlock_audit_forward_pending counts them)");
            err.flush();
        }
        return new Failed(why, reason);
    }

    /** A line after the cursor that is not a record: forwarding stops there rather than skip it. */
    private static final class BadLine extends Exception {
        BadLine(String why) {
            super(why);
        }
    }

    /**
     * Up to {@link #MAX_BATCH} whole lines after the cursor, each an intact record that continues
     * the chain from the cursor's head. A partial last line (an append in progress) is left for the
     * next round. Anything else stops forwarding at that line, said and counted, rather than skip
     * a record: a broken line, or a log that no longer continues what was forwarded (replaced
     * under the gateway: with forwarding, a gateway's log is not rotated).
     */
    private List<Read> readBatch() throws IOException, BadLine {
        List<Read> out = new ArrayList<>();
        FileChannel ch;
        try {
            ch = FileChannel.open(log, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            return out;
        }
        try (ch) {
            long size = ch.size();
            if (size < cursor.offset()) {
                throw new BadLine(log + " is shorter than what was already forwarded (byte " + cursor.offset() + "): it was replaced,"
                        + " and forwarding stops rather than send a second chain under the same source. Fix: restart the gateway pod"
                        + " (a new pod is a new source)");
            }
            ChainHead expected = cursor.acked();
            long at = cursor.offset();
            long lineStart = at;
            ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
            java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream(1024);
            read:
            while (out.size() < MAX_BATCH && at < size) {
                buf.clear();
                int got = ch.read(buf, at);
                if (got <= 0) {
                    break;
                }
                buf.flip();
                while (buf.hasRemaining()) {
                    byte b = buf.get();
                    at++;
                    if (b != '\n') {
                        line.write(b);
                        if (line.size() > AuditLogReader.MAX_LINE_BYTES) {
                            throw new BadLine(log + ": the line at byte " + lineStart + " is not a record (too long); forwarding stops there."
                                    + " Fix: airlock log verify --file " + log);
                        }
                        continue;
                    }
                    byte[] bytes = line.toByteArray();
                    line.reset();
                    if (!(AuditLogReader.parseLine(0, bytes) instanceof AuditLogReader.Entry e) || !e.hashMatches()) {
                        if (!out.isEmpty()) {
                            break read; // send the records before it; the next round stops at it
                        }
                        throw new BadLine(log + ": the line at byte " + lineStart + " is not an intact record; forwarding stops there"
                                + " rather than skip it. Fix: airlock log verify --file " + log);
                    }
                    if (e.record().seq() != expected.seq() + 1 || !e.record().prev().equals(expected.hash())) {
                        if (!out.isEmpty()) {
                            break read;
                        }
                        throw new BadLine(log + ": the record at byte " + lineStart + " (seq " + e.record().seq() + ") does not continue the"
                                + " forwarded chain after " + expected + "; forwarding stops there. Fix: airlock log verify --file " + log);
                    }
                    expected = e.record().head();
                    out.add(new Read(e.text(), expected, at));
                    lineStart = at;
                    if (out.size() == MAX_BATCH) {
                        break read;
                    }
                }
            }
        }
        return out;
    }

    @Override
    public void close() {
        stop.countDown();
        if (thread != null) {
            try {
                thread.join(TimeUnit.SECONDS.toMillis(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (registry != null) {
            meters.forEach(registry::remove);
        }
    }
}
