package dev.airlock.gateway.audit;

import dev.airlock.policy.Reason;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** Events, clocks and storage fakes shared by the audit tests. */
final class AuditFixtures {

    static final Instant T0 = Instant.parse("2025-06-01T12:00:00.123Z");
    /** Only a guard against a hung test; no test asserts on how long anything takes. */
    static final long GUARD_SECONDS = 30;

    private AuditFixtures() {
    }

    static AuditEvent decision(String name, AuditEvent.Decision decision, Reason reason) {
        return new AuditEvent(AuditEvent.Event.DECISION, "sb-1", "payments", AuditEvent.Via.EXPLICIT, "10.201.0.2:40000",
                name, 443, List.of("198.18.0.10"), decision, decision == AuditEvent.Decision.ALLOW ? "preset github: github.com" : "-",
                reason, 0, 0, 0);
    }

    static AuditEvent allow(String name) {
        return decision(name, AuditEvent.Decision.ALLOW, Reason.ALLOWED);
    }

    static AuditEvent deny(String name) {
        return decision(name, AuditEvent.Decision.DENY, Reason.NO_RULE);
    }

    static AuditEvent close(String name) {
        return new AuditEvent(AuditEvent.Event.CLOSE, "sb-1", "payments", AuditEvent.Via.TRANSPARENT, "10.201.0.2:40001",
                name, 443, List.of("198.18.0.10", "2001:db8::10"), AuditEvent.Decision.ALLOW, "preset github: github.com", Reason.ALLOWED, 1200,
                56000, 850);
    }

    /** A log of {@code n} records, seq 1..n, record i naming host{i}.example, written by the real writer. */
    static byte[] chain(int n) {
        MemoryStorage storage = new MemoryStorage();
        AuditLog log = AuditLog.start("mem", storage, ChainHead.EMPTY, new TickingClock(T0),
                AuditLog.Options.DEFAULTS.withQueueCapacity(Math.max(1, n)), null, new Stderr().stream, System::nanoTime);
        for (int i = 1; i <= n; i++) {
            AuditEvent e = switch (i % 3) {
                case 0 -> deny("host" + i + ".example");
                case 1 -> allow("host" + i + ".example");
                default -> close("host" + i + ".example");
            };
            if (!log.submit(e)) {
                throw new AssertionError("record " + i + " was not accepted");
            }
        }
        log.close();
        return storage.content();
    }

    static void await(CountDownLatch latch) throws InterruptedException {
        if (!latch.await(GUARD_SECONDS, TimeUnit.SECONDS)) {
            throw new AssertionError("the writer never got there (test guard)");
        }
    }

    /** A clock that moves one millisecond per reading, so records get distinct, increasing times. */
    static final class TickingClock extends Clock {
        private final AtomicInteger ticks = new AtomicInteger();
        private final Instant start;

        TickingClock(Instant start) {
            this.start = start;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Instant instant() {
            return start.plus(Duration.ofMillis(ticks.getAndIncrement()));
        }
    }

    /** Captures what the log prints to stderr; {@link #printed} opens on the first line. */
    static final class Stderr {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final CountDownLatch printed = new CountDownLatch(1);
        final PrintStream stream = new PrintStream(bytes, true, StandardCharsets.UTF_8) {
            @Override
            public void println(String x) {
                super.println(x);
                printed.countDown();
            }
        };

        List<String> lines() {
            String s = bytes.toString(StandardCharsets.UTF_8);
            return s.isEmpty() ? List.of() : List.of(s.split("\n"));
        }
    }

    /**
     * Storage in memory. It can hold the writer inside its first append until released, fail every
     * append or every force, and counts appends (as flushes) and forces.
     */
    static final class MemoryStorage implements AuditLog.Storage {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final CountDownLatch writerInside = new CountDownLatch(1);
        final CountDownLatch release;
        final AtomicInteger flushes = new AtomicInteger();
        final AtomicInteger forces = new AtomicInteger();
        volatile CountDownLatch flushed = new CountDownLatch(1);
        volatile CountDownLatch forced = new CountDownLatch(1);
        volatile boolean failWrites;
        volatile boolean failForce;
        volatile boolean closed;

        MemoryStorage() {
            this(false);
        }

        /** @param hold true to hold the writer in its first write until {@link #release} opens */
        MemoryStorage(boolean hold) {
            this.release = new CountDownLatch(hold ? 1 : 0);
        }

        private ChainHead head = ChainHead.EMPTY;

        /** Like the file: seals after the head it holds, and takes the lines in one write. */
        @Override
        public void append(AuditLog.Batch batch) throws IOException {
            writerInside.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            if (failWrites) {
                throw new IOException("No space left on device");
            }
            AuditLog.Lines lines = batch.sealAfter(head);
            synchronized (bytes) {
                bytes.writeBytes(lines.bytes());
            }
            head = lines.last();
            flushes.incrementAndGet();
            flushed.countDown();
        }

        @Override
        public void force() throws IOException {
            if (failForce) {
                throw new IOException("Input/output error");
            }
            forces.incrementAndGet();
            forced.countDown();
        }

        @Override
        public void close() {
            closed = true;
        }

        byte[] content() {
            synchronized (bytes) {
                return bytes.toByteArray();
            }
        }

        String text() {
            return new String(content(), StandardCharsets.US_ASCII);
        }
    }
}
