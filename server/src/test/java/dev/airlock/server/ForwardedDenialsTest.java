package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.audit.AuditLog;
import dev.airlock.gateway.audit.AuditLogReader;
import dev.airlock.policy.Reason;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The dashboard's denials on backend kubernetes, read from the daemon's audit chain as it grows. */
class ForwardedDenialsTest {

    private static final Instant T = Instant.parse("2026-11-30T09:15:00Z");

    @Test
    void poll_readsTheDenialsOfTheChain_onlyOnce_andWhatIsAppendedLater() throws Exception {
        Path file = tmp.resolve("audit.log");
        ForwardedDenials f = new ForwardedDenials(file);
        f.poll(); // no log yet: nothing, no error
        assertThat(f.denials().recent()).isEmpty();

        write(file, event("allowed.test", AuditEvent.Decision.ALLOW, Reason.ALLOWED), event("evil.test", AuditEvent.Decision.DENY, Reason.NO_RULE));
        f.poll();
        f.poll();
        assertThat(f.denials().recent()).singleElement().satisfies(d -> {
            assertThat(d.event().name()).isEqualTo("evil.test");
            assertThat(d.event().reason()).isEqualTo(Reason.NO_RULE);
            assertThat(d.time()).isEqualTo(T);
        });

        write(file, event("later.test", AuditEvent.Decision.DENY, Reason.NO_RULE));
        f.poll();
        assertThat(f.denials().recent()).extracting(d -> d.event().name()).containsExactly("later.test", "evil.test");
        assertThat(f.denials().perHour()).containsEntry(T.getEpochSecond() / 3600, java.util.Map.of("no-rule", 2L));
    }

    @Test
    void poll_aLineStillBeingWritten_isTakenOnceItsNewlineArrives() throws Exception {
        Path whole = tmp.resolve("whole.log");
        write(whole, event("evil.test", AuditEvent.Decision.DENY, Reason.NO_RULE));
        byte[] line = Files.readAllBytes(whole);
        Path file = tmp.resolve("audit.log");
        Files.write(file, java.util.Arrays.copyOf(line, line.length - 20));
        ForwardedDenials f = new ForwardedDenials(file);

        f.poll();
        assertThat(f.denials().recent()).isEmpty();

        Files.write(file, java.util.Arrays.copyOfRange(line, line.length - 20, line.length), StandardOpenOption.APPEND);
        f.poll();
        assertThat(f.denials().recent()).extracting(d -> d.event().name()).containsExactly("evil.test");
    }

    @Test
    void poll_aTamperedRecord_isNotShown() throws Exception {
        Path file = tmp.resolve("audit.log");
        write(file, event("evil.test", AuditEvent.Decision.DENY, Reason.NO_RULE));
        String text = Files.readString(file, StandardCharsets.US_ASCII);
        Files.writeString(tmp.resolve("control.log"), text);
        Files.writeString(file, text.replace("evil.test", "fake.test"));

        ForwardedDenials tampered = new ForwardedDenials(file);
        tampered.poll();
        assertThat(tampered.denials().recent()).isEmpty();
        // control: the untouched record is shown
        ForwardedDenials intact = new ForwardedDenials(tmp.resolve("control.log"));
        intact.poll();
        assertThat(intact.denials().recent()).hasSize(1);
    }

    @Test
    void poll_aRotatedLog_isReadFromItsStart() throws Exception {
        Path file = tmp.resolve("audit.log");
        write(file, event("one.test", AuditEvent.Decision.DENY, Reason.NO_RULE), event("two.test", AuditEvent.Decision.DENY, Reason.NO_RULE));
        ForwardedDenials f = new ForwardedDenials(file);
        f.poll();
        Files.move(file, tmp.resolve("audit.log.1"));
        write(file, event("three.test", AuditEvent.Decision.DENY, Reason.NO_RULE));

        f.poll();
        assertThat(f.denials().recent()).extracting(d -> d.event().name()).containsExactly("three.test", "two.test", "one.test");
    }

    @ParameterizedTest(name = "chunks of {0} bytes")
    @ValueSource(ints = {1, 2, 7, 64, 333, 4096})
    void poll_readsTheSameDenials_whereverChunksSplitTheLines(int chunk) throws Exception {
        Path file = tmp.resolve("audit.log");
        write(file, event("a.test", AuditEvent.Decision.ALLOW, Reason.ALLOWED), event("one.test", AuditEvent.Decision.DENY, Reason.NO_RULE),
                event("b.test", AuditEvent.Decision.ALLOW, Reason.ALLOWED), event("two.test", AuditEvent.Decision.DENY, Reason.NO_RULE),
                event("three.test", AuditEvent.Decision.DENY, Reason.NO_RULE));
        ForwardedDenials small = new ForwardedDenials(file, chunk);
        small.poll();
        ForwardedDenials whole = new ForwardedDenials(file);
        whole.poll();

        assertThat(small.denials().recent()).extracting(d -> d.event().name()).containsExactly("three.test", "two.test", "one.test");
        assertThat(small.denials().recent()).extracting(d -> d.event().name())
                .isEqualTo(whole.denials().recent().stream().map(d -> d.event().name()).toList());

        write(file, event("c.test", AuditEvent.Decision.ALLOW, Reason.ALLOWED), event("four.test", AuditEvent.Decision.DENY, Reason.NO_RULE));
        small.poll();
        assertThat(small.denials().recent()).extracting(d -> d.event().name()).containsExactly("four.test", "three.test", "two.test", "one.test");
    }

    @ParameterizedTest(name = "chunks of {0} bytes")
    @ValueSource(ints = {4096, 1 << 20})
    void poll_aLineLongerThanARecordCanBe_isSkipped_andTheLinesAfterItAreRead(int chunk) throws Exception {
        Path file = tmp.resolve("audit.log");
        write(file, event("before.test", AuditEvent.Decision.DENY, Reason.NO_RULE));
        // a line that spells a denial, longer than any record: skipped up to its newline, without holding it in memory
        Files.writeString(file, "\"decision\":\"deny\"" + "x".repeat(AuditLogReader.MAX_LINE_BYTES + 10) + "\n", StandardOpenOption.APPEND);
        // (the writer does not continue a chain whose last line is not a record: the next line comes from another log)
        Path other = tmp.resolve("other.log");
        write(other, event("after.test", AuditEvent.Decision.DENY, Reason.NO_RULE));
        Files.write(file, Files.readAllBytes(other), StandardOpenOption.APPEND);
        ForwardedDenials f = new ForwardedDenials(file, chunk);

        f.poll();

        assertThat(f.denials().recent()).extracting(d -> d.event().name()).containsExactly("after.test", "before.test");
    }

    @TempDir
    Path tmp;

    private static AuditEvent event(String name, AuditEvent.Decision decision, Reason reason) {
        return new AuditEvent(AuditEvent.Event.DECISION, "alk1", "payments", AuditEvent.Via.EXPLICIT, "c", name, 443, List.of(), decision, "-",
                reason, 0, 0, 0);
    }

    private static void write(Path file, AuditEvent... events) throws Exception {
        try (AuditLog log = AuditLog.open(file, Clock.fixed(T, ZoneOffset.UTC))) {
            for (AuditEvent e : List.of(events)) {
                assertThat(log.submit(e)).isTrue();
            }
            assertThat(log.awaitWritten(Duration.ofSeconds(10))).isTrue();
        }
    }
}
