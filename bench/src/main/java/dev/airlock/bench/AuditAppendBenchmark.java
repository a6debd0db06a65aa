package dev.airlock.bench;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.audit.AuditLog;
import dev.airlock.policy.Reason;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * How long the audit log takes to write {@value #RECORDS} records per writer to one file, from the
 * first submit until every record is written and forced (close), with 1, 2 or 4 logs on the same
 * file at once, each fed by its own thread (issue 17: many writers append under one lock). Divide
 * {@code writers × RECORDS} by the score for records per second.
 *
 * <p>Run (from the repository root; about 2 minutes on 2 cores):
 * <pre>
 * JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 ./mvnw -q -pl bench -am package -DskipTests
 * /usr/lib/jvm/temurin-25-jdk-amd64/bin/java -jar bench/target/benchmarks.jar AuditAppendBenchmark -f 1 -wi 5 -i 10
 * </pre>
 * Set {@code AIRLOCK_BENCH_DIR} to put the files on another file system than /tmp.
 *
 * <p>Design: each invocation starts from an empty file in a fresh directory (trial setup makes it,
 * invocation setup empties it), so the chain's length never changes the work. The queue holds every
 * record, so submit never refuses one and the score is the writer's, not the submitters' back-off.
 * Times come from the system clock and are not part of the work (records are stamped once each).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5)
@Measurement(iterations = 10)
@Fork(1)
public class AuditAppendBenchmark {

    /** Enough for batches to fill and for the force interval to pass at least once under load. */
    static final int RECORDS = 100_000;

    @Param({"1", "2", "4"})
    public int writers;

    private Path dir;
    private Path file;
    private AuditEvent[] events;

    @Setup(Level.Trial)
    public void trial() throws IOException {
        String base = System.getenv("AIRLOCK_BENCH_DIR");
        dir = base == null ? Files.createTempDirectory("audit-bench") : Files.createTempDirectory(Path.of(base), "audit-bench");
        file = dir.resolve("audit.log");
        events = new AuditEvent[RECORDS];
        for (int i = 0; i < RECORDS; i++) {
            events[i] = new AuditEvent(i % 2 == 0 ? AuditEvent.Event.DECISION : AuditEvent.Event.CLOSE, "alk0123abcd", "payments",
                    AuditEvent.Via.TRANSPARENT, "10.201.0.2:" + (40000 + i % 20000), "svc-" + (i % 997) + ".example.com", 443,
                    List.of("198.18." + (i % 200) + ".10"), AuditEvent.Decision.ALLOW, "preset github: github.com", Reason.ALLOWED,
                    i % 2 == 0 ? 0 : 1200, i % 2 == 0 ? 0 : 56000, i % 2 == 0 ? 0 : 850);
        }
    }

    @Setup(Level.Invocation)
    public void emptyFile() throws IOException {
        Files.deleteIfExists(file);
    }

    @Benchmark
    public long writeAndClose() throws Exception {
        AuditLog.Options options = AuditLog.Options.DEFAULTS.withQueueCapacity(RECORDS);
        List<AuditLog> logs = new ArrayList<>();
        List<Thread> feeders = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
            AuditLog log = AuditLog.open(file, Clock.systemUTC(), options);
            logs.add(log);
            feeders.add(Thread.ofPlatform().start(() -> {
                for (AuditEvent e : events) {
                    if (!log.submit(e)) {
                        throw new IllegalStateException("a record was refused");
                    }
                }
            }));
        }
        for (Thread t : feeders) {
            t.join();
        }
        long written = 0;
        for (AuditLog log : logs) {
            log.close();
            written += log.counts().written();
        }
        if (written != (long) writers * RECORDS) {
            throw new IllegalStateException("written " + written);
        }
        return written;
    }

    @TearDown(Level.Trial)
    public void removeDir() throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
