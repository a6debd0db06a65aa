package dev.airlock.gateway.audit;

import static dev.airlock.gateway.audit.AuditFixtures.allow;
import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.policy.Reason;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A log written by another Airlock version may carry a reason code this one does not know. It must
 * still verify (the chain is intact), be listed with the code as written, and take more records.
 */
class RecordedReasonTest {

    /**
     * Three records, hashed outside Java per docs/audit-log.md; record 2 is a deny with reason
     * {@code egress-quota}, which is not one of {@link Reason}'s codes.
     */
    private static final String UNKNOWN_REASON_LOG = "unknown-reason.log";
    private static final String UNKNOWN = "egress-quota";

    @TempDir
    Path dir;

    private Path copyOfTheOldLog() throws IOException {
        Path file = dir.resolve("audit.log");
        try (InputStream in = RecordedReasonTest.class.getResourceAsStream(UNKNOWN_REASON_LOG)) {
            Files.copy(in, file);
        }
        return file;
    }

    @Test
    void verify_recordWithAReasonThisVersionDoesNotKnow_isIntact() throws IOException {
        Path file = copyOfTheOldLog();
        assertThat(Reason.fromCode(UNKNOWN)).as("the fixture's code must stay unknown for this test to mean anything").isEmpty();

        AuditLogReader.Verification v = AuditLogReader.verify(file);

        assertThat(v.firstBreak()).isEmpty();
        assertThat(v.records()).isEqualTo(3);
    }

    @Test
    void verify_theUnknownReasonEditedWithoutResealing_isBroken() throws IOException {
        // The control: the reason is covered by the hash, so verification above did look at it.
        Path file = copyOfTheOldLog();
        Files.writeString(file, Files.readString(file).replace(UNKNOWN, "egress-quotb"));

        AuditLogReader.Verification v = AuditLogReader.verify(file);

        assertThat(v.firstBreak()).hasValueSatisfying(b -> assertThat(b.line()).isEqualTo(2));
    }

    @Test
    void lines_unknownReason_isReadWithTheCodeKeptAsWritten() throws IOException {
        List<AuditLogReader.Line> lines;
        try (Stream<AuditLogReader.Line> s = AuditLogReader.lines(copyOfTheOldLog())) {
            lines = s.toList();
        }
        assertThat(lines).hasSize(3).allSatisfy(l -> assertThat(l).isInstanceOf(AuditLogReader.Entry.class));
        AuditRecord first = ((AuditLogReader.Entry) lines.get(0)).record();
        AuditRecord second = ((AuditLogReader.Entry) lines.get(1)).record();

        assertThat(first.reason()).isEqualTo(new RecordedReason.Known(Reason.ALLOWED));
        assertThat(second.reason()).isEqualTo(new RecordedReason.Unknown(UNKNOWN));
        assertThat(second.reason().code()).isEqualTo(UNKNOWN);
        assertThat(second.reason().known()).isEmpty();
        assertThat(second.reason().is(Reason.NO_RULE)).isFalse();
        assertThat(second.denied()).isTrue();
        assertThat(((AuditLogReader.Entry) lines.get(1)).hashMatches()).isTrue();
    }

    @Test
    void open_afterARecordWithAnUnknownReason_continuesTheChain() throws IOException {
        Path file = copyOfTheOldLog();
        byte[] before = Files.readAllBytes(file);

        try (AuditLog log = AuditLog.open(file, Clock.systemUTC())) {
            assertThat(log.submit(allow("after.example"))).isTrue();
        }

        byte[] after = Files.readAllBytes(file);
        assertThat(Arrays.copyOf(after, before.length)).as("the old records are untouched").isEqualTo(before);
        assertThat(new String(after, StandardCharsets.US_ASCII)).contains("\"reason\":\"" + UNKNOWN + "\"");
        AuditLogReader.Verification v = AuditLogReader.verify(file);
        assertThat(v.firstBreak()).isEmpty();
        assertThat(v.records()).isEqualTo(4);
    }

    @Test
    void of_everyCodeOfThisVersion_isKnown() {
        for (Reason r : Reason.values()) {
            assertThat(RecordedReason.of(r.code)).as(r.code).isEqualTo(new RecordedReason.Known(r));
        }
        assertThat(RecordedReason.of(UNKNOWN)).isEqualTo(new RecordedReason.Unknown(UNKNOWN));
    }
}
