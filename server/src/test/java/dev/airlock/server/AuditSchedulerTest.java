package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.audit.battery.AuditException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditSchedulerTest {

    @TempDir
    Path state;

    @Test
    void overdue_noFullAuditYet_onlyAfterTheFirstAuditHadTimeToRun() {
        MutableClock clock = new MutableClock(Instant.parse("2026-11-27T08:00:00Z"));
        AuditScheduler.Target t = new AuditScheduler.Target("payments", state.resolve("airlock.yaml"), Optional.empty(), Optional.empty());
        try (AuditScheduler a = new AuditScheduler(state, "t", List.of(t), Duration.ofDays(7), clock, new PrintStream(PrintStream.nullOutputStream()),
                new SimpleMeterRegistry())) {
            clock.advance(Duration.ofMinutes(1));
            assertThat(a.overdue(t)).as("a daemon started a minute ago").isFalse();
            assertThat(a.due(t)).as("its first full audit is still due").isTrue();
            clock.advance(AuditScheduler.FIRST_AUDIT_GRACE);
            assertThat(a.overdue(t)).as("an hour on, still no full audit").isTrue();
        }
    }

    @Test
    void notRun_shutdownInProgress_saysTheDaemonIsStopping_withoutTheException() {
        AuditException e = new AuditException("cannot start the sandbox: java.lang.IllegalStateException: Shutdown in progress",
                new IllegalStateException("Shutdown in progress"));
        assertThat(AuditScheduler.notRun("payments", e, false)).isEqualTo("airlock daemon: audit of payments stopped: the daemon is shutting down");
        assertThat(AuditScheduler.notRun("payments", new AuditException("bwrap failed"), true)).contains("shutting down");
    }

    @Test
    void notRun_aRunStoppedUnderIt_saysTheDaemonIsStopping() {
        AuditException e = new AuditException(dev.airlock.audit.report.Audits.STOPPED_UNDER_IT + " (5 probe(s) could not finish); no report is kept");
        assertThat(AuditScheduler.notRun("payments", e, false)).isEqualTo("airlock daemon: audit of payments stopped: the daemon is shutting down");
    }

    @Test
    void jvmStopping_isFalseWhileTheJvmRuns() {
        assertThat(AuditScheduler.jvmStopping()).isFalse();
    }

    @Test
    void notRun_otherFailure_keepsItsMessage() {
        assertThat(AuditScheduler.notRun("payments", new AuditException("bwrap: no permissions"), false))
                .isEqualTo("airlock daemon: audit of payments could not run: bwrap: no permissions");
        assertThat(AuditScheduler.notRun("payments", new IllegalStateException("odd"), false))
                .isEqualTo("airlock daemon: audit of payments failed: java.lang.IllegalStateException: odd");
    }
}
