package dev.airlock.gateway.audit;

import static dev.airlock.gateway.audit.AuditFixtures.chain;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Verification: each way of breaking a chain, reported at the first line it breaks, with why. */
class AuditLogReaderTest {

    /** Ten records; line i holds seq i, naming host{i}.example. */
    private static final String TEN = new String(chain(10), StandardCharsets.US_ASCII);

    @TempDir
    Path dir;

    private static AuditLogReader.Verification verify(String text) throws IOException {
        return verify(text, Optional.empty());
    }

    private static AuditLogReader.Verification verify(String text, Optional<ChainHead> anchor) throws IOException {
        return AuditLogReader.verify(new ByteArrayInputStream(text.getBytes(StandardCharsets.ISO_8859_1)), anchor);
    }

    /** Applies {@code edit} to the ten lines (index 0 is line 1) and joins them again, each ending in \n. */
    private static String lines(UnaryOperator<List<String>> edit) {
        List<String> l = edit.apply(new ArrayList<>(TEN.lines().toList()));
        return String.join("\n", l) + "\n";
    }

    private static String line(int number) {
        return TEN.lines().toList().get(number - 1);
    }

    private static AuditRecord record(int number) {
        return ((AuditCodec.Parsed) AuditCodec.parse(line(number).getBytes(StandardCharsets.US_ASCII))).record();
    }

    @Test
    void verify_logRotatedWhileTheReaderWaitsForTheLock_readsTheFileThePathNamedAtTheCall() throws Exception {
        Path log = dir.resolve("audit.log");
        Files.write(log, chain(5));
        try (AppendLock writer = AppendLock.forWriting(log)) {
            CompletableFuture<AuditLogReader.Verification> read = new CompletableFuture<>();
            writer.holding(() -> {
                // Started only now that the lock is held, so it must wait for it.
                Thread reader = Thread.ofPlatform().daemon().start(() -> {
                    try {
                        read.complete(AuditLogReader.verify(log));
                    } catch (Throwable t) {
                        read.completeExceptionally(t);
                    }
                });
                awaitWaitingForTheLock(writer, read, reader);
                // The operator's rotation: the old file moves away, a new one (another chain, longer) takes its name.
                Files.move(log, dir.resolve("audit.log.1"));
                Files.write(log, chain(8));
                return null;
            });
            AuditLogReader.Verification v = read.get(30, TimeUnit.SECONDS);
            assertThat(v.intact()).as(v.firstBreak().toString()).isTrue();
            assertThat(v.records()).as("the file the path named when the read began, whole").isEqualTo(5);
        }
        assertThat(AuditLogReader.verify(log).records()).as("control: the new file is read by a later call").isEqualTo(8);
    }

    /** Until {@code reader} waits for its turn at the append lock the test thread holds. */
    private static void awaitWaitingForTheLock(AppendLock lock, CompletableFuture<?> read, Thread reader) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!lock.othersWaiting()) {
            assertThat(read).as("the reader finished without waiting for the append lock").isNotDone();
            assertThat(System.nanoTime()).as("the reader never waited for the append lock: " + Arrays.toString(reader.getStackTrace()))
                    .isLessThan(deadline);
            Thread.onSpinWait();
        }
    }

    @Test
    void tornLines_noTornFile_isEmpty() throws IOException {
        Files.write(dir.resolve("audit.log"), chain(2));
        assertThat(AuditLogReader.tornLines(dir.resolve("audit.log"))).isEmpty();
    }

    @Test
    void tornLines_countsTheWritersHeaders_notPartialLinesThatLookLikeOne() throws IOException {
        Path log = dir.resolve("audit.log");
        Path torn = dir.resolve("audit.log.torn");
        Files.writeString(torn, "# 2025-06-01T12:00:00.123Z: 12 bytes cut from the end of " + log + " at offset 300\n{\"seq\":2,\"ti\n"
                + "# 2025-06-01T12:00:01.000Z: 9 bytes cut from the end of " + log + " at offset 600\n# junk\r#\n");
        assertThat(AuditLogReader.tornLines(log)).hasValue(new AuditLogReader.TornLines(torn, 2));
    }

    @Test
    void tornLines_aSymbolicLink_isNotFollowed() throws IOException {
        Path elsewhere = Files.writeString(dir.resolve("elsewhere"), "# 1 bytes cut\nx\n");
        Files.createSymbolicLink(dir.resolve("audit.log.torn"), elsewhere);
        assertThat(AuditLogReader.tornLines(dir.resolve("audit.log"))).isEmpty();
    }

    @Test
    void verify_chainOfAThousandRecords_isIntact() throws IOException {
        AuditLogReader.Verification v = AuditLogReader.verify(new ByteArrayInputStream(chain(1000)), Optional.empty());
        assertThat(v.intact()).isTrue();
        assertThat(v.records()).isEqualTo(1000);
        assertThat(v.head().seq()).isEqualTo(1000);
    }

    @Test
    void verify_emptyLog_isIntactWithNoRecords() throws IOException {
        AuditLogReader.Verification v = verify("");
        assertThat(v.intact()).isTrue();
        assertThat(v.head()).isEqualTo(ChainHead.EMPTY);
    }

    static Stream<Arguments> breaks() {
        return Stream.of(
            Arguments.of("a byte of record 4's name changed", lines(l -> set(l, 4, line(4).replace("host4.", "hosx4."))),
                4, "hash mismatch: the record was changed after it was written"),
            Arguments.of("a digit of record 4's hash changed", lines(l -> set(l, 4, flipLastHashDigit(line(4)))),
                4, "hash mismatch"),
            Arguments.of("record 4's prev changed", lines(l -> set(l, 4, line(4).replace(record(4).prev(), record(2).hash()))),
                4, "hash mismatch"),
            Arguments.of("record 4 deleted", lines(l -> remove(l, 4)),
                4, "seq jumps from 3 to 5: records were removed or reordered"),
            Arguments.of("records 4 and 7 swapped", lines(l -> swap(l, 4, 7)),
                4, "seq jumps from 3 to 7"),
            Arguments.of("record 4 duplicated", lines(l -> insert(l, 5, line(4))),
                5, "seq 4 follows seq 4: lines were reordered or duplicated"),
            Arguments.of("the first record deleted", lines(l -> remove(l, 1)),
                1, "the log starts at seq 2, not 1: records were removed from the start"),
            Arguments.of("record 4 replaced by a re-sealed record with a valid hash", lines(l -> set(l, 4, resealed(4))),
                5, "prev does not match the hash of line 4: a record was replaced"),
            Arguments.of("the last line cut in the middle", TEN.substring(0, TEN.length() - 40),
                10, "truncated: the last line has no newline at its end"),
            Arguments.of("the last newline removed", TEN.substring(0, TEN.length() - 1),
                10, "truncated"),
            Arguments.of("a forged record appended without a real hash", TEN + forged(line(10)) + "\n",
                11, "hash mismatch"),
            Arguments.of("a copy of the last record appended", TEN + line(10) + "\n",
                11, "seq 10 follows seq 10"),
            Arguments.of("spaces added between fields", lines(l -> set(l, 4, line(4).replace(",\"port\":", ", \"port\":"))),
                4, "not in the exact form the writer produces"),
            Arguments.of("an ANSI escape written as a JSON escape", lines(l -> set(l, 4, line(4).replace("host4.", "host4\\u001b[31m."))),
                4, "field 'name' contains a control or non-ASCII character (U+001B)"),
            Arguments.of("a field added", lines(l -> set(l, 4, line(4).replace("\"}", "\",\"note\":1}"))),
                4, "unexpected field 'note' after 'hash'"),
            Arguments.of("a field removed", lines(l -> set(l, 4, line(4).replaceFirst("\"rule\":\"[^\"]*\",", ""))),
                4, "expected field 'rule' at position 12, found 'reason'"),
            Arguments.of("an empty line inserted", lines(l -> insert(l, 4, "")),
                4, "empty line"),
            Arguments.of("a line that is not JSON", lines(l -> insert(l, 4, "GET / HTTP/1.1")),
                4, "not valid JSON"),
            Arguments.of("a decision that is neither allow nor deny", lines(l -> set(l, 4, line(4).replace("\"decision\":\"allow\"", "\"decision\":\"maybe\""))),
                4, "field 'decision' is \"maybe\", not allow or deny"),
            Arguments.of("an event that is neither decision nor close", lines(l -> set(l, 4, line(4).replace("\"event\":\"decision\"", "\"event\":\"open\""))),
                4, "field 'event' is \"open\", not decision or close"),
            Arguments.of("a path that is none of transparent, explicit, dns", lines(l -> set(l, 4, line(4).replaceFirst("\"via\":\"[a-z]+\"", "\"via\":\"socks\""))),
                4, "field 'via' is \"socks\", not transparent, explicit or dns")
        );
    }

    @ParameterizedTest(name = "{0} → line {2}")
    @MethodSource("breaks")
    void verify_brokenChain_reportsTheFirstBrokenLineAndWhy(String what, String text, int line, String why) throws IOException {
        AuditLogReader.Verification v = verify(text);
        assertThat(v.intact()).as(what).isFalse();
        assertThat(v.firstBreak().orElseThrow().line()).as(what).isEqualTo(line);
        assertThat(v.firstBreak().orElseThrow().why()).as(what).contains(why);
        assertThat(v.records()).isEqualTo(line - 1);
    }

    @Test
    void verify_anchor_detectsRecordsRemovedFromTheEnd() throws IOException {
        ChainHead head = verify(TEN).head();
        String cut = lines(l -> l.subList(0, 8));
        assertThat(verify(cut).intact()).as("without an anchor a shorter chain is still a chain").isTrue();
        AuditLogReader.Verification v = verify(cut, Optional.of(head));
        assertThat(v.firstBreak().orElseThrow().line()).isEqualTo(9);
        assertThat(v.firstBreak().orElseThrow().why())
                .isEqualTo("the log ends at seq 8, but the anchor shows seq 10 was written: records were removed from the end");
    }

    @Test
    void verify_anchor_detectsAChainRewrittenWithValidHashes() throws IOException {
        ChainHead anchor = record(6).head();
        // Rewrite from record 4 onwards, re-sealing each record so that every hash and prev is valid.
        List<String> l = new ArrayList<>(TEN.lines().toList());
        String prev = record(3).hash();
        for (int i = 4; i <= 10; i++) {
            AuditRecord r = record(i);
            AuditEvent e = new AuditEvent(r.event(), r.sandbox(), r.project(), r.via(), r.client(), "rewritten.example",
                    r.port(), r.addresses(), r.decision(), r.rule(), r.reason().known().orElseThrow(), r.bytesUp(), r.bytesDown(), r.durationMs());
            AuditCodec.Sealed sealed = AuditCodec.seal(i, r.time(), e, prev);
            l.set(i - 1, new String(sealed.line(), StandardCharsets.US_ASCII).strip());
            prev = sealed.record().hash();
        }
        String rewritten = String.join("\n", l) + "\n";
        assertThat(verify(rewritten).intact()).as("a forger who recomputes every hash is not caught by the chain alone").isTrue();
        AuditLogReader.Verification v = verify(rewritten, Optional.of(anchor));
        assertThat(v.firstBreak().orElseThrow().line()).isEqualTo(6);
        assertThat(v.firstBreak().orElseThrow().why()).contains("differs from the anchor 6:");
    }

    @Test
    void verify_matchingAnchor_isIntact() throws IOException {
        assertThat(verify(TEN, Optional.of(record(7).head())).intact()).isTrue();
        assertThat(verify(TEN, Optional.of(ChainHead.EMPTY)).intact()).isTrue();
    }

    @Test
    void lines_streamsRecordsAndSaysWhyOtherLinesAreNot() throws IOException {
        Path file = dir.resolve("audit.log");
        Files.writeString(file, line(1) + "\nnot a record\n" + line(2).substring(0, 30));
        List<AuditLogReader.Line> lines;
        try (Stream<AuditLogReader.Line> s = AuditLogReader.lines(file)) {
            lines = s.toList();
        }
        assertThat(lines).hasSize(3);
        AuditLogReader.Entry first = (AuditLogReader.Entry) lines.get(0);
        assertThat(first.number()).isEqualTo(1);
        assertThat(first.text()).isEqualTo(line(1));
        assertThat(first.record().name()).isEqualTo("host1.example");
        assertThat(first.record().time()).isEqualTo(Instant.parse("2025-06-01T12:00:00.123Z"));
        assertThat(lines.get(1)).isInstanceOfSatisfying(AuditLogReader.Unreadable.class,
                u -> assertThat(u.why()).startsWith("not valid JSON"));
        assertThat(lines.get(2)).isInstanceOfSatisfying(AuditLogReader.Unreadable.class,
                u -> assertThat(u.why()).startsWith("truncated"));
    }

    @Test
    void lines_lineLongerThanTheLimit_isUnreadableAndReadingGoesOn() throws IOException {
        String text = line(1) + "\n" + "x".repeat(AuditLogReader.MAX_LINE_BYTES + 10) + "\n" + line(2) + "\n";
        List<AuditLogReader.Line> lines;
        try (Stream<AuditLogReader.Line> s = AuditLogReader.lines(new ByteArrayInputStream(text.getBytes(StandardCharsets.US_ASCII)))) {
            lines = s.toList();
        }
        assertThat(lines).hasSize(3);
        assertThat(((AuditLogReader.Unreadable) lines.get(1)).why()).startsWith("longer than");
        assertThat(((AuditLogReader.Entry) lines.get(2)).record().seq()).isEqualTo(2);
    }

    @Test
    void chainHead_parsesWhatItPrints() {
        ChainHead h = record(3).head();
        assertThat(ChainHead.parse(h.toString())).isEqualTo(h);
    }

    // ---- edits -------------------------------------------------------------------------------------

    private static List<String> set(List<String> l, int line, String text) {
        l.set(line - 1, text);
        return l;
    }

    private static List<String> remove(List<String> l, int line) {
        l.remove(line - 1);
        return l;
    }

    private static List<String> insert(List<String> l, int line, String text) {
        l.add(line - 1, text);
        return l;
    }

    private static List<String> swap(List<String> l, int a, int b) {
        String t = l.get(a - 1);
        l.set(a - 1, l.get(b - 1));
        l.set(b - 1, t);
        return l;
    }

    private static String flipLastHashDigit(String line) {
        int i = line.length() - 3;
        char c = line.charAt(i);
        return line.substring(0, i) + (c == '0' ? '1' : '0') + line.substring(i + 1);
    }

    /** The next record a forger would write: seq+1, prev = the last hash, but no way to the right hash. */
    private static String forged(String last) {
        AuditRecord r = ((AuditCodec.Parsed) AuditCodec.parse(last.getBytes(StandardCharsets.US_ASCII))).record();
        return last.replace("\"seq\":" + r.seq() + ",", "\"seq\":" + (r.seq() + 1) + ",")
                .replace("\"prev\":\"" + r.prev() + "\"", "\"prev\":\"" + r.hash() + "\"")
                .replace(r.name(), "exfil.example");
    }

    /** Record {@code n} with another name, sealed properly: its own hash is right, its successor's prev is not. */
    private static String resealed(int n) {
        AuditRecord r = record(n);
        AuditEvent e = new AuditEvent(r.event(), r.sandbox(), r.project(), r.via(), r.client(), "other.example", r.port(),
                r.addresses(), r.decision(), r.rule(), r.reason().known().orElseThrow(), r.bytesUp(), r.bytesDown(), r.durationMs());
        return new String(AuditCodec.seal(n, r.time(), e, r.prev()).line(), StandardCharsets.US_ASCII).strip();
    }
}
