package dev.airlock.gateway.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gateway's side of forwarding: batches in order, the cursor, retries, and never a skipped record. */
class AuditForwarderTest {

    @TempDir
    Path dir;

    /** A daemon in memory: holds one source's records, skips those it has, can be away or refuse. */
    static final class FakeDaemon implements IngestClient {
        final List<AuditRecord> held = new ArrayList<>();
        final List<Integer> batchSizes = new ArrayList<>();
        volatile boolean away;
        volatile boolean refusing;

        @Override
        public synchronized ChainHead send(String source, List<String> lines) throws IOException, Refused {
            if (away) {
                throw new java.net.ConnectException("Connection refused");
            }
            if (refusing) {
                throw new Refused(401, "HTTP 401: no project's audit token");
            }
            batchSizes.add(lines.size());
            for (String l : lines) {
                AuditRecord r = ((AuditLogReader.Entry) AuditLogReader.parseLine(0, l.getBytes(StandardCharsets.US_ASCII))).record();
                if (r.seq() > head().seq()) {
                    held.add(r);
                }
            }
            return head();
        }

        synchronized ChainHead head() {
            return held.isEmpty() ? ChainHead.EMPTY : held.get(held.size() - 1).head();
        }

        List<Long> seqs() {
            return held.stream().map(AuditRecord::seq).toList();
        }
    }

    private Path writeLog(int n) throws IOException {
        Path log = dir.resolve("audit.log");
        AuditLog a = AuditLog.open(log, new AuditFixtures.TickingClock(AuditFixtures.T0));
        for (int i = 1; i <= n; i++) {
            assertThat(a.submit(AuditFixtures.allow("host" + i + ".example"))).isTrue();
        }
        a.close();
        return log;
    }

    private AuditForwarder forwarder(Path log, FakeDaemon daemon, AuditFixtures.Stderr err) throws IOException {
        return new AuditForwarder(log, "airlock-p-gateway-1", daemon, () -> 0, err.stream);
    }

    private static List<Long> range(long from, long to) {
        List<Long> out = new ArrayList<>();
        for (long i = from; i <= to; i++) {
            out.add(i);
        }
        return out;
    }

    @Test
    void forwardOnce_sendsEveryRecordInOrderInBatchesOf128() throws Exception {
        Path log = writeLog(300);
        FakeDaemon daemon = new FakeDaemon();
        AuditForwarder f = forwarder(log, daemon, new AuditFixtures.Stderr());

        while (f.forwardOnce() instanceof AuditForwarder.Sent) {
            // until idle
        }

        assertThat(daemon.batchSizes).containsExactly(128, 128, 44);
        assertThat(daemon.seqs()).isEqualTo(range(1, 300));
        assertThat(f.forwardOnce()).isInstanceOf(AuditForwarder.Idle.class);
    }

    @Test
    void forwardOnce_daemonAway_movesNothingThenSendsEverythingWhenBack() throws Exception {
        Path log = writeLog(10);
        FakeDaemon daemon = new FakeDaemon();
        AuditFixtures.Stderr err = new AuditFixtures.Stderr();
        AuditForwarder f = forwarder(log, daemon, err);
        daemon.away = true;

        assertThat(f.forwardOnce()).isInstanceOf(AuditForwarder.Failed.class);
        assertThat(f.forwardOnce()).isInstanceOf(AuditForwarder.Failed.class);
        assertThat(Files.exists(ForwardCursor.fileOf(log))).isFalse();
        assertThat(err.lines()).hasSize(1).first().asString().contains("audit forwarding failed").contains("stay in " + log);

        daemon.away = false;
        assertThat(f.forwardOnce()).isInstanceOf(AuditForwarder.Sent.class);
        assertThat(daemon.seqs()).isEqualTo(range(1, 10));
        assertThat(err.lines()).hasSize(2).last().asString().contains("works again");
    }

    @Test
    void forwardOnce_refused_keepsTheRecordsAndSaysWhy() throws Exception {
        Path log = writeLog(3);
        FakeDaemon daemon = new FakeDaemon();
        daemon.refusing = true;
        AuditFixtures.Stderr err = new AuditFixtures.Stderr();
        AuditForwarder f = forwarder(log, daemon, err);

        assertThat(f.forwardOnce()).isInstanceOfSatisfying(AuditForwarder.Failed.class, x -> assertThat(x.reason()).isEqualTo("refused"));
        assertThat(err.lines().get(0)).contains("HTTP 401");

        daemon.refusing = false; // control: the same records go once the daemon takes them
        assertThat(f.forwardOnce()).isInstanceOf(AuditForwarder.Sent.class);
        assertThat(daemon.seqs()).isEqualTo(range(1, 3));
    }

    @Test
    void restart_resumesAfterTheLastAcknowledgedRecord() throws Exception {
        Path log = writeLog(200);
        FakeDaemon daemon = new FakeDaemon();
        assertThat(forwarder(log, daemon, new AuditFixtures.Stderr()).forwardOnce()).isInstanceOf(AuditForwarder.Sent.class);
        assertThat(ForwardCursor.read(ForwardCursor.fileOf(log)).acked().seq()).isEqualTo(128);

        AuditForwarder restarted = forwarder(log, daemon, new AuditFixtures.Stderr());
        assertThat(restarted.forwardOnce()).isInstanceOf(AuditForwarder.Sent.class);

        assertThat(daemon.batchSizes).containsExactly(128, 72); // nothing sent twice
        assertThat(daemon.seqs()).isEqualTo(range(1, 200));
    }

    @Test
    void restart_withoutCursor_sendsAgainAndTheDaemonSkipsWhatItHolds() throws Exception {
        Path log = writeLog(20);
        FakeDaemon daemon = new FakeDaemon();
        forwarder(log, daemon, new AuditFixtures.Stderr()).forwardOnce();
        Files.delete(ForwardCursor.fileOf(log));

        AuditForwarder restarted = forwarder(log, daemon, new AuditFixtures.Stderr());
        assertThat(restarted.forwardOnce()).isInstanceOf(AuditForwarder.Sent.class);

        assertThat(daemon.seqs()).isEqualTo(range(1, 20));
        assertThat(ForwardCursor.read(ForwardCursor.fileOf(log)).acked().seq()).isEqualTo(20);
    }

    @Test
    void forwardOnce_newRecordsAfterAnEarlierRound_areSentNext() throws Exception {
        Path log = writeLog(5);
        FakeDaemon daemon = new FakeDaemon();
        AuditForwarder f = forwarder(log, daemon, new AuditFixtures.Stderr());
        f.forwardOnce();
        AuditLog more = AuditLog.open(log, new AuditFixtures.TickingClock(AuditFixtures.T0.plusSeconds(60)));
        more.submit(AuditFixtures.deny("late.example"));
        more.close();

        assertThat(f.forwardOnce()).isInstanceOf(AuditForwarder.Sent.class);
        assertThat(daemon.seqs()).isEqualTo(range(1, 6));
        assertThat(daemon.held.get(5).name()).isEqualTo("late.example");
    }

    @Test
    void forwardOnce_editedRecord_stopsThereInsteadOfSkippingIt() throws Exception {
        Path log = writeLog(3);
        String text = Files.readString(log).replace("host2.example", "hostX.example");
        Files.writeString(log, text);
        FakeDaemon daemon = new FakeDaemon();
        AuditForwarder f = forwarder(log, daemon, new AuditFixtures.Stderr());

        assertThat(f.forwardOnce()).isInstanceOf(AuditForwarder.Sent.class); // the record before it
        assertThat(f.forwardOnce()).isInstanceOfSatisfying(AuditForwarder.Failed.class, x -> assertThat(x.reason()).isEqualTo("unreadable"));
        assertThat(f.forwardOnce()).isInstanceOf(AuditForwarder.Failed.class);
        assertThat(daemon.seqs()).containsExactly(1L); // record 3 waits behind the broken one: never skipped
    }

    @Test
    void forwardOnce_partialLastLine_waitsForItsEnd() throws Exception {
        Path log = writeLog(2);
        byte[] whole = Files.readAllBytes(log);
        Files.write(log, java.util.Arrays.copyOf(whole, whole.length - 10)); // an append still in progress
        FakeDaemon daemon = new FakeDaemon();
        AuditForwarder f = forwarder(log, daemon, new AuditFixtures.Stderr());

        f.forwardOnce();
        assertThat(daemon.seqs()).containsExactly(1L);

        Files.write(log, whole);
        f.forwardOnce();
        assertThat(daemon.seqs()).containsExactly(1L, 2L);
    }

    @Test
    void start_countsFailuresAndPendingRecordsInMetrics_untilTheDaemonTakesThem() throws Exception {
        Path log = dir.resolve("audit.log");
        AuditLog local = AuditLog.open(log, new AuditFixtures.TickingClock(AuditFixtures.T0));
        for (int i = 0; i < 3; i++) {
            local.submit(AuditFixtures.deny("host" + i + ".example"));
        }
        assertThat(local.awaitWritten(Duration.ofSeconds(AuditFixtures.GUARD_SECONDS))).isTrue();
        io.micrometer.core.instrument.simple.SimpleMeterRegistry meters = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        FakeDaemon daemon = new FakeDaemon();
        daemon.away = true;
        try (AuditForwarder f = AuditForwarder.start(log, "airlock-p-gateway-1", daemon, local, meters, new AuditFixtures.Stderr().stream)) {
            await(() -> meters.get("airlock.audit.forward.failures").tag("reason", "unreachable").counter().count() >= 2);
            assertThat(meters.get("airlock.audit.forward.pending").gauge().value()).isEqualTo(3);
            assertThat(meters.get("airlock.audit.forward.healthy").gauge().value()).isZero();

            daemon.away = false;
            await(() -> meters.get("airlock.audit.forward.healthy").gauge().value() == 1);
            assertThat(meters.get("airlock.audit.forward.pending").gauge().value()).isZero();
            assertThat(meters.get("airlock.audit.forward.records").counter().count()).isEqualTo(3);
            assertThat(daemon.seqs()).isEqualTo(range(1, 3));
        } finally {
            local.close();
        }
    }

    private static void await(java.util.function.BooleanSupplier condition) throws InterruptedException {
        for (int i = 0; i < AuditFixtures.GUARD_SECONDS * 20; i++) { // a guard against a hang, not a timing claim
            if (condition.getAsBoolean()) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("not within the test guard");
    }

    @Test
    void backoff_doublesFromAQuarterSecondUpToThirtySeconds() {
        assertThat(AuditForwarder.backoff(1)).isEqualTo(Duration.ofMillis(250));
        assertThat(AuditForwarder.backoff(2)).isEqualTo(Duration.ofMillis(500));
        assertThat(AuditForwarder.backoff(7)).isEqualTo(Duration.ofSeconds(16));
        assertThat(AuditForwarder.backoff(8)).isEqualTo(Duration.ofSeconds(30)); // 32 s, capped
        assertThat(AuditForwarder.backoff(1000)).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void submitForwarded_recordKeepsItsFieldsAndOriginAndVerifies() throws Exception {
        Path gw = writeLog(2);
        List<AuditRecord> sent = new ArrayList<>();
        try (var lines = AuditLogReader.lines(gw)) {
            lines.forEach(l -> sent.add(((AuditLogReader.Entry) l).record()));
        }
        Path daemonLog = dir.resolve("daemon.log");
        AuditLog daemon = AuditLog.open(daemonLog, java.time.Clock.systemUTC());
        daemon.submit(AuditFixtures.deny("local.example")); // the daemon's own record first: one chain for both
        for (AuditRecord r : sent) {
            assertThat(daemon.submitForwarded(r, new Origin("airlock-p-gateway-1", r.seq(), r.hash()))).isTrue();
        }
        daemon.close();

        assertThat(AuditLogReader.verify(daemonLog).intact()).isTrue();
        List<AuditRecord> got = new ArrayList<>();
        try (var lines = AuditLogReader.lines(daemonLog)) {
            lines.forEach(l -> got.add(((AuditLogReader.Entry) l).record()));
        }
        assertThat(got).hasSize(3);
        assertThat(got.get(0).origin()).isEmpty();
        assertThat(got.get(2).seq()).isEqualTo(3);
        assertThat(got.get(2).name()).isEqualTo(sent.get(1).name());
        assertThat(got.get(2).time()).isEqualTo(sent.get(1).time());
        assertThat(got.get(2).origin()).contains(new Origin("airlock-p-gateway-1", 2, sent.get(1).hash()));
        assertThat(Files.readAllLines(daemonLog).get(2)).contains("\"durationMs\":0,\"source\":\"airlock-p-gateway-1\",\"sourceSeq\":2,\"sourceHash\":\"");

        // the origin is under the hash: changing it breaks the chain
        Files.writeString(daemonLog, Files.readString(daemonLog).replace("\"sourceSeq\":2", "\"sourceSeq\":9"));
        assertThat(AuditLogReader.verify(daemonLog).intact()).isFalse();
    }
}
