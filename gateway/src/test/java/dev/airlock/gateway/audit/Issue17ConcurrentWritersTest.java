package dev.airlock.gateway.audit;

import static dev.airlock.gateway.audit.AuditFixtures.allow;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
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
}
