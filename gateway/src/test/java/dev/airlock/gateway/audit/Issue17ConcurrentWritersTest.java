package dev.airlock.gateway.audit;

import static dev.airlock.gateway.audit.AuditFixtures.allow;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 17, item 2: two writers at once broke the chain. A cold run and the daemon each open the
 * log; the old lock was a POSIX record lock on the log itself, which the kernel drops as soon as the
 * process closes <em>any</em> descriptor of that file (here: reading the log, as the audit battery
 * does), after which a second process wrote the same seq numbers.
 */
class Issue17ConcurrentWritersTest {

    private static final int RECORDS = 2_000;

    @TempDir
    Path dir;

    @Test
    void twoProcesses_whileOneOfThemReadsTheLog_keepOneIntactChainWithEveryRecord() throws Exception {
        Path file = dir.resolve("audit.log");
        try (AuditLog here = AuditLog.open(file, Clock.systemUTC())) {
            assertThat(here.submit(allow("here-first.example"))).isTrue();
            try (Stream<AuditLogReader.Line> lines = AuditLogReader.lines(file)) {
                lines.count(); // a reader in the writer's process opens and closes the log
            }
            Process other = AuditWriterProcess.start(file, "other", RECORDS, dir.resolve("other.out"));
            for (int i = 0; i < RECORDS; i++) {
                while (!here.submit(allow("here-" + i + ".example"))) {
                    assertThat(here.healthy()).as("the in-process writer failed").isTrue();
                    Thread.sleep(1);
                }
            }
            assertThat(AuditWriterProcess.await(other)).as(Files.readString(dir.resolve("other.out"))).isZero();
        }
        AuditLogReader.Verification v = AuditLogReader.verify(file);
        assertThat(v.firstBreak()).isEmpty();
        assertThat(v.records()).isEqualTo(2L * RECORDS + 1);
    }

    @Test
    void twoLogsInOneProcess_bothWriteIntoOneChain() throws IOException {
        Path file = dir.resolve("audit.log");
        try (AuditLog daemon = AuditLog.open(file, Clock.systemUTC());
                AuditLog coldRun = AuditLog.open(file, Clock.systemUTC())) {
            for (int i = 0; i < 100; i++) {
                assertThat(daemon.submit(allow("daemon-" + i + ".example"))).isTrue();
                assertThat(coldRun.submit(allow("cold-" + i + ".example"))).isTrue();
            }
        }
        AuditLogReader.Verification v = AuditLogReader.verify(file);
        assertThat(v.firstBreak()).isEmpty();
        assertThat(v.records()).isEqualTo(200);
    }

    /**
     * The stress test: 3 writer processes and 4 logs in this process fed by 2 threads each, all on
     * one file, while a reader verifies the file over and over. Every verification along the way is
     * intact (a reader never sees half an append), and at the end every record is there exactly once.
     */
    @Test
    void manyWritersInThreadsAndProcesses_everyRecordExactlyOnceAndEveryVerificationIntact() throws Exception {
        Path file = dir.resolve("audit.log");
        int processes = 3;
        int perProcess = 3_000;
        int logs = 4;
        int threadsPerLog = 2;
        int perThread = 1_500;
        List<Process> children = new ArrayList<>();
        for (int p = 0; p < processes; p++) {
            children.add(AuditWriterProcess.start(file, "proc" + p, perProcess, dir.resolve("proc" + p + ".out")));
        }
        AtomicBoolean writing = new AtomicBoolean(true);
        List<String> brokenViews = new CopyOnWriteArrayList<>();
        AtomicInteger verifications = new AtomicInteger();
        Thread reader = Thread.ofPlatform().start(() -> {
            while (writing.get()) {
                try {
                    if (Files.exists(file)) {
                        AuditLogReader.Verification v = AuditLogReader.verify(file);
                        v.firstBreak().ifPresent(b -> brokenViews.add(b.toString()));
                        verifications.incrementAndGet();
                    }
                } catch (IOException e) {
                    brokenViews.add(e.toString());
                }
            }
        });
        ExecutorService pool = Executors.newFixedThreadPool(logs * threadsPerLog);
        List<AuditLog> open = new ArrayList<>();
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int l = 0; l < logs; l++) {
                AuditLog log = AuditLog.open(file, Clock.systemUTC());
                open.add(log);
                for (int t = 0; t < threadsPerLog; t++) {
                    String tag = "log" + l + "t" + t;
                    done.add(pool.submit(() -> {
                        for (int i = 0; i < perThread; i++) {
                            while (!log.submit(allow(tag + "-" + i + ".example"))) {
                                if (!log.healthy()) {
                                    throw new AssertionError("log " + tag + " failed");
                                }
                                LockSupport.parkNanos(1_000_000);
                            }
                        }
                        return null;
                    }));
                }
            }
            for (Future<?> f : done) {
                f.get(AuditFixtures.GUARD_SECONDS * 4, TimeUnit.SECONDS);
            }
        } finally {
            open.forEach(AuditLog::close);
            pool.shutdownNow();
        }
        for (int p = 0; p < processes; p++) {
            assertThat(AuditWriterProcess.await(children.get(p))).as(Files.readString(dir.resolve("proc" + p + ".out"))).isZero();
        }
        writing.set(false);
        reader.join();

        assertThat(brokenViews).as("what the reader saw while the writers wrote").isEmpty();
        assertThat(verifications.get()).isPositive();
        AuditLogReader.Verification v = AuditLogReader.verify(file);
        assertThat(v.firstBreak()).isEmpty();
        Map<String, Long> names;
        try (Stream<AuditLogReader.Line> lines = AuditLogReader.lines(file)) {
            names = lines.map(l -> ((AuditLogReader.Entry) l).record().name())
                    .collect(Collectors.groupingBy(n -> n, Collectors.counting()));
        }
        Set<String> expected = new HashSet<>();
        for (int p = 0; p < processes; p++) {
            for (int i = 0; i < perProcess; i++) {
                expected.add("proc" + p + "-" + i + ".example");
            }
        }
        for (int l = 0; l < logs; l++) {
            for (int t = 0; t < threadsPerLog; t++) {
                for (int i = 0; i < perThread; i++) {
                    expected.add("log" + l + "t" + t + "-" + i + ".example");
                }
            }
        }
        assertThat(names.keySet()).isEqualTo(expected);
        assertThat(names.values()).allMatch(n -> n == 1L);
        assertThat(v.records()).isEqualTo(expected.size());
    }

    @Test
    void tamperedMiddleRecord_afterConcurrentWriters_isStillDetectedAndLaterAppendsDoNotHideIt() throws Exception {
        Path file = dir.resolve("audit.log");
        try (AuditLog a = AuditLog.open(file, Clock.systemUTC()); AuditLog b = AuditLog.open(file, Clock.systemUTC())) {
            for (int i = 0; i < 50; i++) {
                a.submit(allow("a-" + i + ".example"));
                b.submit(allow("b-" + i + ".example"));
            }
        }
        assertThat(AuditLogReader.verify(file).intact()).isTrue(); // control: the untouched log verifies
        List<String> lines = Files.readAllLines(file, StandardCharsets.US_ASCII);
        int tampered = 37; // 1-based line number
        String line = lines.get(tampered - 1);
        lines.set(tampered - 1, line.replace("\"decision\":\"allow\"", "\"decision\":\"deny\""));
        assertThat(lines.get(tampered - 1)).isNotEqualTo(line);
        Files.write(file, lines, StandardCharsets.US_ASCII);

        AuditLogReader.Verification v = AuditLogReader.verify(file);
        assertThat(v.firstBreak()).hasValueSatisfying(br -> {
            assertThat(br.line()).isEqualTo(tampered);
            assertThat(br.why()).startsWith("hash mismatch");
        });
        try (AuditLog later = AuditLog.open(file, Clock.systemUTC())) { // extends from the (intact) last line
            assertThat(later.submit(allow("later.example"))).isTrue();
        }
        assertThat(AuditLogReader.verify(file).firstBreak()).hasValueSatisfying(br -> assertThat(br.line()).isEqualTo(tampered));
    }

    @Test
    void append_afterSomeoneElseWroteAForgedLastLine_failsClosedInsteadOfExtendingIt() throws Exception {
        Path file = dir.resolve("audit.log");
        try (AuditLog log = AuditLog.open(file, Clock.systemUTC())) {
            assertThat(log.submit(allow("first.example"))).isTrue();
            while (log.counts().written() < 1) {
                LockSupport.parkNanos(1_000_000);
            }
            String last = Files.readAllLines(file, StandardCharsets.US_ASCII).get(0);
            String forged = last.replace("\"seq\":1,", "\"seq\":2,").replace("first.example", "forged.example");
            Files.writeString(file, forged + "\n", StandardCharsets.US_ASCII, StandardOpenOption.APPEND);

            assertThat(log.submit(allow("second.example"))).isTrue(); // accepted; the writer finds the forgery
            while (log.healthy()) {
                LockSupport.parkNanos(1_000_000);
            }
            assertThat(log.submit(allow("third.example"))).isFalse();
        }
        assertThat(Files.readString(file)).doesNotContain("second.example");
        assertThat(AuditLogReader.verify(file).firstBreak()).hasValueSatisfying(br -> assertThat(br.line()).isEqualTo(2));
    }

    /**
     * The daemon's threads get interrupted (an executor shutting down, a cancelled audit). A reader
     * that takes the append lock on such a thread must not close the lock file the process's writers
     * share (a blocking lock on an interruptible channel would), or every writer would fail.
     */
    @Test
    void verify_onAnInterruptedThread_leavesTheWritersOfTheProcessWorking() throws Exception {
        Path file = dir.resolve("audit.log");
        try (AuditLog log = AuditLog.open(file, Clock.systemUTC())) {
            assertThat(log.submit(allow("before.example"))).isTrue();
            Thread reader = Thread.ofPlatform().unstarted(() -> {
                Thread.currentThread().interrupt();
                try {
                    AuditLogReader.verify(file); // may fail itself: Java I/O on an interrupted thread does
                } catch (IOException e) {
                    // not what this test is about
                }
            });
            reader.start();
            reader.join();
            for (int i = 0; i < 10; i++) {
                assertThat(log.submit(allow("after-" + i + ".example"))).isTrue();
            }
            while (log.counts().written() < 11 && log.healthy()) {
                LockSupport.parkNanos(1_000_000);
            }
            assertThat(log.healthy()).isTrue();
        }
        assertThat(AuditLogReader.verify(file).records()).isEqualTo(11);
    }

    /** Written by the single-writer log of commit 612f092 (three records, no lock file beside it). */
    private static final String BEFORE = "before-issue17.log";

    @Test
    void logWrittenBeforeIssue17_verifiesAndConcurrentWritersContinueItsChain() throws Exception {
        Path file = dir.resolve("audit.log");
        try (var in = Issue17ConcurrentWritersTest.class.getResourceAsStream(BEFORE)) {
            Files.copy(in, file);
        }
        byte[] before = Files.readAllBytes(file);
        AuditLogReader.Verification old = AuditLogReader.verify(file);
        assertThat(old.firstBreak()).isEmpty();
        assertThat(old.records()).isEqualTo(3);

        try (AuditLog a = AuditLog.open(file, Clock.systemUTC()); AuditLog b = AuditLog.open(file, Clock.systemUTC())) {
            assertThat(a.submit(allow("a.example"))).isTrue();
            assertThat(b.submit(allow("b.example"))).isTrue();
        }
        AuditLogReader.Verification v = AuditLogReader.verify(file, Optional.of(old.head())); // the old head is an anchor
        assertThat(v.firstBreak()).isEmpty();
        assertThat(v.records()).isEqualTo(5);
        assertThat(Arrays.copyOf(Files.readAllBytes(file), before.length)).isEqualTo(before);
    }

    @Test
    void append_thatFailsPartWay_isCutBackSoTheOtherWritersContinueTheChain() throws Exception {
        Path file = dir.resolve("audit.log");
        int limitKib = 256;
        Process limited = AuditWriterProcess.startWithFileSizeLimit(limitKib, file, "limited", 2_000, dir.resolve("limited.out"));
        assertThat(AuditWriterProcess.await(limited)).as("the limited writer fails closed").isEqualTo(1);
        assertThat(Files.readString(dir.resolve("limited.out"))).contains("failed");
        assertThat(Files.size(file)).isLessThanOrEqualTo(limitKib * 1024L);

        AuditLogReader.Verification cut = AuditLogReader.verify(file); // no torn line at the end
        assertThat(cut.firstBreak()).isEmpty();
        assertThat(cut.records()).isPositive();
        try (AuditLog next = AuditLog.open(file, Clock.systemUTC())) {
            assertThat(next.submit(allow("next.example"))).isTrue();
        }
        AuditLogReader.Verification v = AuditLogReader.verify(file);
        assertThat(v.firstBreak()).isEmpty();
        assertThat(v.records()).isEqualTo(cut.records() + 1);
    }

    @Test
    void verify_whileAWriterIsStoppedHoldingTheLock_readsWithoutItInsteadOfHanging() throws Exception {
        Path file = dir.resolve("audit.log");
        try (AuditLog log = AuditLog.open(file, Clock.systemUTC())) {
            assertThat(log.submit(allow("a.example"))).isTrue();
        }
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Thread stopped = Thread.ofPlatform().start(() -> {
            try (AppendLock lock = AppendLock.forWriting(file)) {
                lock.holding(() -> {
                    holding.countDown();
                    try {
                        release.await(); // a writer stopped in the middle of an append
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return null;
                });
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        AuditFixtures.await(holding);
        try {
            AuditLogReader.Verification v = AuditLogReader.verify(file);
            assertThat(v.firstBreak()).isEmpty();
            assertThat(v.records()).isEqualTo(1);
        } finally {
            release.countDown();
            stopped.join();
        }
    }

    /**
     * {@code kill -9} of a writer: the kernel may end its write at a page boundary, leaving a
     * partial last line. Whatever the kill left, the next writer continues one intact chain instead
     * of failing closed, and every record of the writer that was not killed is there.
     */
    @Test
    void writersKilledMidRun_neverStopTheOthersAndTheChainStaysIntact() throws Exception {
        Path file = dir.resolve("audit.log");
        int survivorRecords = 3_000;
        Process survivor = AuditWriterProcess.start(file, "survivor", survivorRecords, dir.resolve("survivor.out"));
        for (int k = 0; k < 3; k++) {
            Process victim = AuditWriterProcess.start(file, "victim" + k, 50_000, dir.resolve("victim" + k + ".out"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(AuditFixtures.GUARD_SECONDS);
            while (!Files.exists(file) || !Files.readString(file, StandardCharsets.ISO_8859_1).contains("victim" + k + "-")) {
                assertThat(System.nanoTime()).as("victim " + k + " never wrote (test guard)").isLessThan(deadline);
                LockSupport.parkNanos(1_000_000);
            }
            victim.destroyForcibly(); // SIGKILL, while it appends
            victim.waitFor();
        }
        assertThat(AuditWriterProcess.await(survivor)).as(Files.readString(dir.resolve("survivor.out"))).isZero();
        try (AuditLog last = AuditLog.open(file, Clock.systemUTC())) {
            assertThat(last.submit(allow("last.example"))).isTrue();
        }
        AuditLogReader.Verification v = AuditLogReader.verify(file);
        assertThat(v.firstBreak()).isEmpty();
        Map<String, Long> survivors;
        try (Stream<AuditLogReader.Line> lines = AuditLogReader.lines(file)) {
            survivors = lines.map(l -> ((AuditLogReader.Entry) l).record().name()).filter(n -> n.startsWith("survivor-"))
                    .collect(Collectors.groupingBy(n -> n, Collectors.counting()));
        }
        assertThat(survivors).hasSize(survivorRecords);
        assertThat(survivors.values()).allMatch(n -> n == 1L);
    }
}
