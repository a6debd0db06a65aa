package dev.airlock.gateway.audit;

import static dev.airlock.gateway.audit.AuditFixtures.T0;
import static dev.airlock.gateway.audit.AuditFixtures.allow;
import static dev.airlock.gateway.audit.AuditFixtures.await;
import static dev.airlock.gateway.audit.AuditFixtures.close;
import static dev.airlock.gateway.audit.AuditFixtures.deny;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.airlock.gateway.audit.AuditFixtures.MemoryStorage;
import dev.airlock.gateway.audit.AuditFixtures.Stderr;
import dev.airlock.gateway.audit.AuditFixtures.TickingClock;
import dev.airlock.policy.Reason;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The writer: format, hash, file handling, escaping, flushing, failure and back-pressure. */
class AuditLogTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Clock FIXED = Clock.fixed(T0, ZoneOffset.UTC);

    @TempDir
    Path dir;

    private static AuditLog memoryLog(MemoryStorage storage, AuditLog.Options options, Stderr err) {
        return AuditLog.start("mem/audit.log", storage, ChainHead.EMPTY, FIXED, options, null, err.stream, System::nanoTime);
    }

    private static List<String> lines(Path file) throws IOException {
        return Files.readAllLines(file, StandardCharsets.US_ASCII);
    }

    // ---- the record ------------------------------------------------------------------------------

    @Test
    void submit_writesOneLinePerRecordWithTheContractFieldsInOrder() throws IOException {
        Path file = dir.resolve("audit.log");
        try (AuditLog log = AuditLog.open(file, FIXED)) {
            assertThat(log.submit(deny("evil.example"))).isTrue();
            assertThat(log.submit(close("github.com"))).isTrue();
        }
        List<String> lines = lines(file);
        assertThat(lines).hasSize(2);
        JsonNode first = JSON.readTree(lines.get(0));
        List<String> names = new ArrayList<>();
        first.fieldNames().forEachRemaining(names::add);
        assertThat(names).containsExactly("seq", "time", "event", "sandbox", "project", "via", "client", "name", "port",
                "addresses", "decision", "rule", "reason", "bytesUp", "bytesDown", "durationMs", "prev", "hash");
        assertThat(first.get("seq").asLong()).isEqualTo(1);
        assertThat(first.get("time").asText()).isEqualTo("2025-06-01T12:00:00.123Z");
        assertThat(first.get("event").asText()).isEqualTo("decision");
        assertThat(first.get("via").asText()).isEqualTo("explicit");
        assertThat(first.get("decision").asText()).isEqualTo("deny");
        assertThat(first.get("reason").asText()).isEqualTo("no-rule");
        assertThat(first.get("prev").asText()).isEqualTo("0".repeat(64));
        JsonNode second = JSON.readTree(lines.get(1));
        assertThat(second.get("seq").asLong()).isEqualTo(2);
        assertThat(second.get("event").asText()).isEqualTo("close");
        assertThat(second.get("addresses")).hasSize(2);
        assertThat(second.get("bytesDown").asLong()).isEqualTo(56000);
        assertThat(second.get("durationMs").asLong()).isEqualTo(850);
        assertThat(second.get("prev").asText()).isEqualTo(first.get("hash").asText());
    }

    /** docs/audit-log.md defines the hash; this rebuilds it by hand, without the codec or Jackson. */
    @Test
    void hash_isSha256OfTheExactLineWithoutItsHashField() throws Exception {
        Path file = dir.resolve("audit.log");
        try (AuditLog log = AuditLog.open(file, FIXED)) {
            log.submit(new AuditEvent(AuditEvent.Event.DECISION, "sb-7", "demo", AuditEvent.Via.DNS, "10.201.0.2:5353",
                    "a\"b\\c.example", 53, List.of(), AuditEvent.Decision.DENY, "-", Reason.DNS_FAILURE, 0, 0, 0));
        }
        String body = "{\"seq\":1,\"time\":\"2025-06-01T12:00:00.123Z\",\"event\":\"decision\",\"sandbox\":\"sb-7\","
                + "\"project\":\"demo\",\"via\":\"dns\",\"client\":\"10.201.0.2:5353\","
                // Printable turns \ into \\, then JSON escapes " and each \ once more.
                + "\"name\":\"a\\\"b\\\\\\\\c.example\",\"port\":53,\"addresses\":[],\"decision\":\"deny\",\"rule\":\"-\","
                + "\"reason\":\"dns-failure\",\"bytesUp\":0,\"bytesDown\":0,\"durationMs\":0,\"prev\":\"" + "0".repeat(64) + "\"}";
        String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body.getBytes(StandardCharsets.US_ASCII)));
        String expected = body.substring(0, body.length() - 1) + ",\"hash\":\"" + hash + "\"}";
        assertThat(Files.readString(file, StandardCharsets.US_ASCII)).isEqualTo(expected + "\n");
        assertThat(JSON.readTree(expected).get("name").asText()).isEqualTo("a\"b\\\\c.example");
    }

    @Test
    void submit_timeIsTheInjectedClockInUtcWithMillis() throws IOException {
        Path file = dir.resolve("audit.log");
        Clock clock = Clock.fixed(Instant.parse("2031-02-03T04:05:06.789999Z"), ZoneOffset.ofHours(5));
        try (AuditLog log = AuditLog.open(file, clock)) {
            log.submit(allow("github.com"));
        }
        assertThat(JSON.readTree(lines(file).get(0)).get("time").asText()).isEqualTo("2031-02-03T04:05:06.789Z");
    }

    // ---- the file ------------------------------------------------------------------------------------

    @Test
    void open_newFile_isCreatedMode0600WithItsParents() throws IOException {
        Path file = dir.resolve("state/nested/audit.log");
        try (AuditLog log = AuditLog.open(file, FIXED)) {
            log.submit(allow("github.com"));
        }
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file.getParent()))).isEqualTo("rwx------");
        assertThat(AuditLogReader.verify(file).records()).isEqualTo(1);
    }

    @Test
    void open_symbolicLink_isRefused() throws IOException {
        Path target = Files.createFile(dir.resolve("elsewhere"));
        Path link = Files.createSymbolicLink(dir.resolve("audit.log"), target);
        assertThatThrownBy(() -> AuditLog.open(link, FIXED))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("refusing audit log " + link + ": it is a symbolic link");
        assertThat(Files.size(target)).isZero();
    }

    @Test
    void open_directory_isRefused() throws IOException {
        Path d = Files.createDirectory(dir.resolve("audit.log"));
        assertThatThrownBy(() -> AuditLog.open(d, FIXED)).hasMessageContaining("is not a regular file");
    }

    @Test
    void open_fileAnotherLogHasOpen_bothAppendToOneChain() throws IOException {
        Path file = dir.resolve("audit.log");
        try (AuditLog first = AuditLog.open(file, FIXED); AuditLog second = AuditLog.open(file, FIXED)) {
            assertThat(first.submit(allow("first.example"))).isTrue();
            assertThat(second.submit(allow("second.example"))).isTrue();
        }
        AuditLogReader.Verification v = AuditLogReader.verify(file);
        assertThat(v.intact()).isTrue();
        assertThat(v.records()).isEqualTo(2);
    }

    @Test
    void open_createsTheLockFileBesideTheLog0600() throws IOException {
        Path file = dir.resolve("audit.log");
        AuditLog.open(file, FIXED).close();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("audit.log.lock"))))
                .isEqualTo("rw-------");
    }

    @Test
    void open_lockFileIsASymbolicLink_isRefused() throws IOException {
        Path target = Files.writeString(dir.resolve("elsewhere"), "");
        Files.createSymbolicLink(dir.resolve("audit.log.lock"), target);
        assertThatThrownBy(() -> AuditLog.open(dir.resolve("audit.log"), FIXED))
                .hasMessageContaining("audit lock file").hasMessageContaining("symbolic link");
    }

    @Test
    void append_afterTheLogWasMovedAway_startsANewChainInANewFile() throws IOException {
        Path file = dir.resolve("audit.log");
        try (AuditLog log = AuditLog.open(file, FIXED)) {
            log.submit(allow("old.example"));
            awaitRecords(file, 1);
            Files.move(file, dir.resolve("audit.log.1"));
            log.submit(allow("new.example"));
        }
        assertThat(AuditLogReader.verify(dir.resolve("audit.log.1")).records()).isEqualTo(1);
        AuditLogReader.Verification v = AuditLogReader.verify(file);
        assertThat(v.intact()).isTrue();
        assertThat(v.records()).isEqualTo(1);
        assertThat(lines(file).get(0)).contains("new.example").contains("\"seq\":1,");
    }

    /** Waits until the writer has appended {@code n} records (the queue drains within milliseconds). */
    private static void awaitRecords(Path file, int n) throws IOException {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(AuditFixtures.GUARD_SECONDS);
        while (Files.size(file) == 0 || lines(file).size() < n) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the writer never appended (test guard)");
            }
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
        }
    }

    @Test
    void open_existingLog_continuesSeqAndPrev() throws IOException {
        Path file = dir.resolve("audit.log");
        try (AuditLog log = AuditLog.open(file, FIXED)) {
            log.submit(allow("a.example"));
            log.submit(deny("b.example"));
        }
        ChainHead before = AuditLogReader.verify(file).head();
        try (AuditLog log = AuditLog.open(file, FIXED)) {
            assertThat(log.head()).isEqualTo(before);
            log.submit(allow("c.example"));
        }
        List<String> lines = lines(file);
        assertThat(lines).hasSize(3);
        JsonNode third = JSON.readTree(lines.get(2));
        assertThat(third.get("seq").asLong()).isEqualTo(3);
        assertThat(third.get("prev").asText()).isEqualTo(before.hash());
        AuditLogReader.Verification v = AuditLogReader.verify(file);
        assertThat(v.intact()).isTrue();
        assertThat(v.head().seq()).isEqualTo(3);
    }

    @Test
    void open_logEndingInAPartialLine_movesItToTheTornFileAndContinuesTheChain() throws IOException {
        Path file = dir.resolve("audit.log");
        try (AuditLog log = AuditLog.open(file, FIXED)) {
            log.submit(allow("a.example"));
        }
        String partial = "{\"seq\":2,\"ti";
        Files.writeString(file, partial, java.nio.file.StandardOpenOption.APPEND);
        assertThat(AuditLogReader.verify(file).firstBreak()).hasValueSatisfying(b -> assertThat(b.why()).startsWith("truncated"));
        try (AuditLog log = AuditLog.open(file, FIXED)) {
            log.submit(allow("b.example"));
        }
        AuditLogReader.Verification v = AuditLogReader.verify(file);
        assertThat(v.firstBreak()).isEmpty();
        assertThat(v.records()).isEqualTo(2);
        Path torn = dir.resolve("audit.log.torn");
        assertThat(Files.readString(torn)).startsWith("# 2025-06-01T12:00:00.123Z: " + partial.length() + " bytes cut from the end of "
                + file + " at offset ").endsWith("\n" + partial + "\n");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(torn))).isEqualTo("rw-------");
        assertThat(AuditLogReader.tornLines(file)).as("what verify and the evidence bundle report")
                .hasValue(new AuditLogReader.TornLines(torn, 1));
    }

    @Test
    void open_partialLineWhileTheTornFileIsASymbolicLink_isRefusedAndTheLinkTargetUntouched() throws IOException {
        Path file = dir.resolve("audit.log");
        try (AuditLog log = AuditLog.open(file, FIXED)) {
            log.submit(allow("a.example"));
        }
        Files.writeString(file, "{\"seq\":2,\"ti", java.nio.file.StandardOpenOption.APPEND);
        Path target = Files.writeString(dir.resolve("elsewhere"), "untouched\n");
        Files.createSymbolicLink(dir.resolve("audit.log.torn"), target);
        assertThatThrownBy(() -> AuditLog.open(file, FIXED))
                .hasMessageContaining(dir.resolve("audit.log.torn") + ": it is a symbolic link");
        assertThat(target).hasContent("untouched");
        assertThat(Files.readString(file)).as("the partial line stays for verify to report").endsWith("{\"seq\":2,\"ti");
    }

    @Test
    void open_logEndingInAPartialLineAfterAnEditedRecord_isStillRefused() throws IOException {
        Path file = dir.resolve("audit.log");
        try (AuditLog log = AuditLog.open(file, FIXED)) {
            log.submit(allow("a.example"));
        }
        Files.writeString(file, Files.readString(file).replace("a.example", "b.example") + "{\"seq\":2,\"ti");
        assertThatThrownBy(() -> AuditLog.open(file, FIXED))
                .hasMessageContaining("audit log " + file + " cannot be continued")
                .hasMessageContaining("hash mismatch")
                .hasMessageContaining("airlock log verify --file " + file)
                .hasMessageContaining("mv " + file);
    }

    @Test
    void open_lastRecordEdited_isRefused() throws IOException {
        Path file = dir.resolve("audit.log");
        try (AuditLog log = AuditLog.open(file, FIXED)) {
            log.submit(allow("a.example"));
        }
        Files.writeString(file, Files.readString(file).replace("a.example", "b.example"));
        assertThatThrownBy(() -> AuditLog.open(file, FIXED)).hasMessageContaining("hash mismatch");
    }

    @Test
    void open_lastLineLongerThanOneReadChunk_isFound() throws IOException {
        Path file = dir.resolve("audit.log");
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 5000; i++) {
            many.add("2001:db8::" + Integer.toHexString(i));
        }
        AuditEvent big = new AuditEvent(AuditEvent.Event.DECISION, "sb-1", "p", AuditEvent.Via.TRANSPARENT, "c", "n.example",
                443, many, AuditEvent.Decision.DENY, "-", Reason.PROTECTED_ADDRESS, 0, 0, 0);
        try (AuditLog log = AuditLog.open(file, FIXED)) {
            log.submit(allow("a.example"));
            log.submit(big);
        }
        try (AuditLog log = AuditLog.open(file, FIXED)) {
            assertThat(log.head().seq()).isEqualTo(2);
        }
    }

    // ---- escaping ------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
        "evil.example\r\nX-Injected: 1",
        "\u001b[31mred\u001b[0m.example",
        "nul\u0000byte.example",
        "bell\u0007\u007fdel.example",
        "b\u00fccher.example",
        "quote\"and\\backslash.example",
        "line\u2028separator.example",
    })
    void submit_hostileName_isEscapedAndTheRecordStaysOneLine(String name) throws IOException {
        Path file = dir.resolve("audit.log");
        try (AuditLog log = AuditLog.open(file, FIXED)) {
            log.submit(deny(name));
            log.submit(allow("next.example"));
        }
        byte[] bytes = Files.readAllBytes(file);
        for (byte b : bytes) {
            assertThat(b == '\n' || (b >= 0x20 && b < 0x7F)).as("byte 0x%02x", b).isTrue();
        }
        List<String> lines = lines(file);
        assertThat(lines).hasSize(2);
        assertThat(JSON.readTree(lines.get(0)).get("name").asText()).isEqualTo(dev.airlock.policy.Printable.escape(name));
        assertThat(AuditLogReader.verify(file).intact()).isTrue();
    }

    @Test
    void submit_tenThousandCharacterName_isCutAndMarked() throws IOException {
        Path file = dir.resolve("audit.log");
        String name = "a".repeat(10_000);
        try (AuditLog log = AuditLog.open(file, FIXED)) {
            log.submit(deny(name));
        }
        String logged = JSON.readTree(lines(file).get(0)).get("name").asText();
        assertThat(logged).startsWith("aaa").endsWith("...(10000 chars)").hasSizeLessThan(400);
    }

    @Test
    void submit_everyNetworkStringIsEscaped() throws IOException {
        Path file = dir.resolve("audit.log");
        try (AuditLog log = AuditLog.open(file, FIXED)) {
            log.submit(new AuditEvent(AuditEvent.Event.DECISION, "sb\n1", "p\r", AuditEvent.Via.EXPLICIT, "c\u001b", "n",
                    443, List.of("x\u0000"), AuditEvent.Decision.DENY, "r\n", Reason.BAD_REQUEST, 0, 0, 0));
        }
        assertThat(Files.readString(file)).doesNotContain("\r", "\u001b", "\u0000", "\u0007").containsOnlyOnce("\n")
                .contains("sb\\\\x0a1");
    }

    // ---- flushing and forcing ------------------------------------------------------------------------

    @Test
    void close_drainsEveryAcceptedRecord() throws IOException {
        Path file = dir.resolve("audit.log");
        int n = 5_000;
        AuditLog log = AuditLog.open(file, new TickingClock(T0));
        for (int i = 0; i < n; i++) {
            assertThat(log.submit(allow("host" + i + ".example"))).isTrue();
        }
        log.close();
        assertThat(log.counts()).isEqualTo(new AuditLog.Counts(n, 0, 0));
        assertThat(log.head().seq()).isEqualTo(n);
        AuditLogReader.Verification v = AuditLogReader.verify(file);
        assertThat(v.intact()).isTrue();
        assertThat(v.records()).isEqualTo(n);
    }

    @Test
    void submit_afterClose_returnsFalse() {
        AuditLog log = memoryLog(new MemoryStorage(), AuditLog.Options.DEFAULTS, new Stderr());
        log.close();
        log.close(); // a second close is harmless
        assertThat(log.submit(allow("late.example"))).isFalse();
        assertThat(log.counts().rejected()).isEqualTo(1);
    }

    @Test
    void submit_invalidEvent_isRejectedAndTheSinkStaysHealthy() {
        MemoryStorage storage = new MemoryStorage();
        AuditLog log = memoryLog(storage, AuditLog.Options.DEFAULTS, new Stderr());
        assertThat(log.submit(null)).isFalse();
        assertThat(log.submit(AuditFixtures.decision("x.example", null, Reason.ALLOWED))).isFalse();
        assertThat(log.submit(AuditFixtures.decision("x.example", AuditEvent.Decision.DENY, null))).as("no reason").isFalse();
        assertThat(log.submit(new AuditEvent(null, "s", "p", AuditEvent.Via.DNS, "c", "n", 53, List.of(), AuditEvent.Decision.DENY, "-", Reason.NO_RULE, 0, 0, 0)))
                .isFalse();
        assertThat(log.submit(allow("ok.example"))).isTrue();
        log.close();
        assertThat(log.healthy()).isTrue();
        assertThat(log.counts()).isEqualTo(new AuditLog.Counts(1, 4, 0));
    }

    @Test
    void force_neverMoreOftenThanTheIntervalButAlwaysOnClose() throws InterruptedException {
        MemoryStorage storage = new MemoryStorage();
        // A frozen ticker: the interval never elapses, so only close() may force.
        AuditLog log = AuditLog.start("mem", storage, ChainHead.EMPTY, FIXED,
                AuditLog.Options.DEFAULTS.withForceInterval(Duration.ofHours(1)), null, new Stderr().stream, () -> 0L);
        for (int round = 0; round < 3; round++) {
            storage.flushed = new CountDownLatch(1);
            log.submit(allow("r" + round + ".example"));
            await(storage.flushed); // the queue drained and the buffer went to the OS
        }
        assertThat(storage.text().lines()).hasSize(3);
        assertThat(storage.forces.get()).isZero();
        log.close();
        assertThat(storage.forces.get()).isEqualTo(1);
        assertThat(storage.closed).isTrue();
    }

    @Test
    void force_zeroInterval_forcesWhenTheQueueDrains() throws InterruptedException {
        MemoryStorage storage = new MemoryStorage();
        AuditLog log = memoryLog(storage, AuditLog.Options.DEFAULTS.withForceInterval(Duration.ZERO), new Stderr());
        log.submit(allow("a.example"));
        await(storage.forced);
        assertThat(storage.text()).contains("a.example");
        log.close();
    }

    @Test
    void submit_whileTheWriterPausesAfterABusyAppend_doesNotWakeItAndTheRecordsGoOutInOneAppend() throws InterruptedException {
        MemoryStorage storage = new MemoryStorage(true); // the first append waits for storage.release
        java.util.concurrent.Semaphore paused = new java.util.concurrent.Semaphore(0);
        java.util.concurrent.Semaphore resume = new java.util.concurrent.Semaphore(0);
        AuditLog.Pause held = nanos -> {
            paused.release();
            resume.tryAcquire(AuditFixtures.GUARD_SECONDS, java.util.concurrent.TimeUnit.SECONDS);
        };
        // A frozen ticker: no force falls due, so only records move the writer.
        AuditLog log = AuditLog.start("mem", storage, ChainHead.EMPTY, FIXED,
                AuditLog.Options.DEFAULTS.withForceInterval(Duration.ofHours(1)), null, new Stderr().stream, () -> 0L, held);
        try {
            log.submit(allow("first.example"));
            await(storage.writerInside);
            // Two records come while the writer appends the first: its next append carries both, so it is busy.
            log.submit(allow("second.example"));
            log.submit(allow("third.example"));
            storage.release.countDown();
            // After an append of more than one record the writer pauses unsignalled rather than waiting on the queue.
            assertThat(paused.tryAcquire(AuditFixtures.GUARD_SECONDS, java.util.concurrent.TimeUnit.SECONDS))
                    .as("the writer pauses after its busy append").isTrue();
            assertThat(storage.flushes.get()).isEqualTo(2);
            storage.flushed = new CountDownLatch(1);
            for (int i = 0; i < 3; i++) {
                assertThat(log.submit(allow("burst" + i + ".example"))).isTrue();
            }
            assertThat(storage.flushes.get()).as("no record woke the writer").isEqualTo(2);
            resume.release();
            await(storage.flushed);
            assertThat(storage.flushes.get()).as("one append carries the burst").isEqualTo(3);
            assertThat(storage.text().lines()).hasSize(6);
        } finally {
            resume.release(1_000);
            log.close();
        }
    }

    @Test
    void submit_afterAnAppendOfOneRecord_theWriterWaitsOnTheQueueWithoutPausing() throws InterruptedException {
        MemoryStorage storage = new MemoryStorage();
        java.util.concurrent.Semaphore paused = new java.util.concurrent.Semaphore(0);
        AuditLog.Pause counted = nanos -> paused.release();
        AuditLog log = AuditLog.start("mem", storage, ChainHead.EMPTY, FIXED,
                AuditLog.Options.DEFAULTS.withForceInterval(Duration.ofHours(1)), null, new Stderr().stream, () -> 0L, counted);
        try {
            // Records one at a time (a quiet gateway): each wakes the writer, and no timer wakes it in between.
            for (int i = 0; i < 3; i++) {
                storage.flushed = new CountDownLatch(1);
                log.submit(allow("r" + i + ".example"));
                await(storage.flushed);
            }
            assertThat(paused.tryAcquire(200, java.util.concurrent.TimeUnit.MILLISECONDS)).as("no pause after single-record appends").isFalse();
            assertThat(storage.text().lines()).hasSize(3);
        } finally {
            log.close();
        }
    }

    // ---- a run's end waits for its records ----------------------------------------------------------

    @Test
    void awaitWritten_returnsOnlyOnceEveryRecordAcceptedBeforeItIsInTheStorage() throws InterruptedException {
        MemoryStorage storage = new MemoryStorage(true);
        AuditLog log = memoryLog(storage, AuditLog.Options.DEFAULTS, new Stderr());
        assertThat(log.submit(deny("prod.example"))).isTrue();
        await(storage.writerInside); // the writer holds the record in a write that has not happened
        assertThat(log.awaitWritten(Duration.ofMillis(50))).as("while the record is still queued").isFalse();
        assertThat(storage.text()).isEmpty();
        Thread releaser = new Thread(() -> {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            storage.release.countDown();
        });
        releaser.start();
        assertThat(log.awaitWritten(Duration.ofSeconds(30))).isTrue();
        assertThat(storage.text()).contains("prod.example"); // written before awaitWritten returned
        releaser.join();
        log.close();
    }

    @Test
    void awaitWritten_afterTheSinkFailed_returnsOnceTheRecordsAreCountedAsFailed() throws InterruptedException {
        MemoryStorage storage = new MemoryStorage();
        storage.failWrites = true;
        Stderr err = new Stderr();
        AuditLog log = memoryLog(storage, AuditLog.Options.DEFAULTS, err);
        assertThat(log.submit(deny("prod.example"))).isTrue();
        assertThat(log.awaitWritten(Duration.ofSeconds(30))).isTrue();
        assertThat(log.counts().failed()).isEqualTo(1);
        log.close();
    }

    // ---- failure and back-pressure -------------------------------------------------------------------

    @Test
    void submit_writeFails_sinkTurnsUnhealthySaysSoOnceAndCountsEveryAcceptedRecord() throws InterruptedException {
        MemoryStorage storage = new MemoryStorage(true);
        storage.failWrites = true;
        Stderr err = new Stderr();
        AuditLog log = memoryLog(storage, AuditLog.Options.DEFAULTS, err);
        assertThat(log.submit(allow("first.example"))).isTrue();
        await(storage.writerInside); // the writer holds record 1 in a write that is about to fail
        for (int i = 0; i < 4; i++) {
            assertThat(log.submit(allow("queued" + i + ".example"))).isTrue();
        }
        storage.release.countDown();
        await(err.printed);
        assertThat(log.healthy()).isFalse();
        assertThat(log.submit(allow("after.example"))).isFalse();
        assertThat(log.submit(allow("after2.example"))).isFalse();
        log.close();
        // 5 accepted: none written, all counted failed; 2 refused after the failure.
        assertThat(log.counts()).isEqualTo(new AuditLog.Counts(0, 2, 5));
        assertThat(err.lines()).containsExactly("airlock: audit log mem/audit.log failed: No space left on device;"
                + " the gateway now denies every connection (fail-closed)");
        assertThat(storage.closed).isTrue();
    }

    @Test
    void submit_forceFails_sinkTurnsUnhealthyAndRecordsAlreadyWrittenStayCounted() throws InterruptedException {
        MemoryStorage storage = new MemoryStorage();
        storage.failForce = true;
        Stderr err = new Stderr();
        AuditLog log = memoryLog(storage, AuditLog.Options.DEFAULTS.withForceInterval(Duration.ZERO), err);
        assertThat(log.submit(allow("a.example"))).isTrue();
        await(err.printed);
        assertThat(log.healthy()).isFalse();
        assertThat(log.submit(allow("b.example"))).isFalse();
        log.close();
        assertThat(log.counts()).isEqualTo(new AuditLog.Counts(1, 1, 0));
        assertThat(err.lines()).singleElement().asString().contains("failed: Input/output error").endsWith("(fail-closed)");
    }

    @Test
    void submit_queueFull_returnsFalseSaysSoOnceAndLosesNothingAccepted() throws InterruptedException {
        MemoryStorage storage = new MemoryStorage(true);
        Stderr err = new Stderr();
        AuditLog log = memoryLog(storage, AuditLog.Options.DEFAULTS.withQueueCapacity(2), err);
        assertThat(log.submit(allow("held.example"))).isTrue();
        await(storage.writerInside); // record 1 is out of the queue, held in the write
        assertThat(log.submit(allow("q1.example"))).isTrue();
        assertThat(log.submit(allow("q2.example"))).isTrue();
        assertThat(log.submit(allow("over1.example"))).isFalse();
        assertThat(log.submit(allow("over2.example"))).isFalse();
        assertThat(log.healthy()).isTrue();
        assertThat(err.lines()).singleElement().asString().contains("2 records are waiting").endsWith("(fail-closed)");
        storage.release.countDown();
        log.close();
        assertThat(log.counts()).isEqualTo(new AuditLog.Counts(3, 2, 0));
        assertThat(storage.text()).contains("held.example", "q1.example", "q2.example").doesNotContain("over");
    }

    @Test
    void submit_boundedWait_waitsForSpaceThenAccepts() throws InterruptedException {
        MemoryStorage storage = new MemoryStorage(true);
        AuditLog log = memoryLog(storage, new AuditLog.Options(1, Duration.ofSeconds(AuditFixtures.GUARD_SECONDS),
                Duration.ofSeconds(1)), new Stderr());
        log.submit(allow("held.example"));
        await(storage.writerInside);
        assertThat(log.submit(allow("q1.example"))).isTrue();
        Thread releaser = new Thread(storage.release::countDown);
        releaser.start();
        assertThat(log.submit(allow("waited.example"))).isTrue(); // waits until the writer takes q1
        releaser.join();
        log.close();
        assertThat(log.counts()).isEqualTo(new AuditLog.Counts(3, 0, 0));
    }

    // ---- metrics -------------------------------------------------------------------------------------

    @Test
    void metrics_countWrittenRejectedFailedAndHealth() throws InterruptedException {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        MemoryStorage storage = new MemoryStorage();
        Stderr err = new Stderr();
        AuditLog log = AuditLog.start("mem", storage, ChainHead.EMPTY, FIXED, AuditLog.Options.DEFAULTS, registry,
                err.stream, System::nanoTime);
        log.submit(allow("a.example"));
        await(storage.flushed);
        log.submit(null);
        storage.flushed = new CountDownLatch(1);
        log.submit(allow("b.example"));
        await(storage.flushed);
        storage.failWrites = true;
        log.submit(allow("c.example"));
        await(err.printed);
        String scrape = registry.scrape();
        assertThat(scrape)
                .contains("airlock_audit_records_total{result=\"written\"} 2.0")
                .contains("airlock_audit_records_total{result=\"rejected\"} 1.0")
                .contains("airlock_audit_records_total{result=\"failed\"} 1.0")
                .contains("airlock_audit_sink_healthy 0.0")
                .contains("airlock_audit_queue_depth 0.0");
        log.close();
        assertThat(registry.scrape()).doesNotContain("airlock_audit");
    }

    @Test
    void metrics_optional_countsStillAvailable() throws IOException {
        AuditLog log = AuditLog.open(dir.resolve("audit.log"), FIXED, AuditLog.Options.DEFAULTS);
        log.submit(allow("a.example"));
        log.close();
        assertThat(log.counts().written()).isEqualTo(1);
    }

    @Test
    void head_isTheLastRecordHandedToTheOs() throws IOException {
        Path file = dir.resolve("audit.log");
        AuditLog log = AuditLog.open(file, FIXED);
        assertThat(log.head()).isEqualTo(ChainHead.EMPTY);
        log.submit(allow("a.example"));
        log.close();
        Iterator<AuditLogReader.Line> it = AuditLogReader.lines(file).iterator();
        AuditLogReader.Entry e = (AuditLogReader.Entry) it.next();
        assertThat(log.head()).isEqualTo(e.record().head());
        assertThat(AuditLogReader.verify(file, Optional.of(log.head())).intact()).isTrue();
    }
}
