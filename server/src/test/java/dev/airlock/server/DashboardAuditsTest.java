package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.audit.report.Format;
import dev.airlock.audit.report.ReportStore;
import dev.airlock.audit.report.RunFixtures;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DashboardAuditsTest {

    static final Instant NOW = Instant.parse("2026-11-27T12:00:00Z");

    @TempDir
    Path state;

    private AuditScheduler scheduler(MutableClock clock) {
        AuditScheduler.Target t = new AuditScheduler.Target("payments", state.resolve("airlock.yaml"), Optional.empty(), Optional.empty());
        return new AuditScheduler(state, "t", List.of(t), Duration.ofDays(7), clock, new PrintStream(PrintStream.nullOutputStream()),
                new SimpleMeterRegistry());
    }

    @Test
    void audit_showsTheLastFullAndTheLastQuickAudit_toTheSecond() throws Exception {
        ReportStore store = new ReportStore(state);
        store.save(RunFixtures.fullBattery(Instant.parse("2026-11-27T02:00:00.123456Z")), EnumSet.of(Format.JSON), Optional.empty());
        store.save(RunFixtures.quick(Instant.parse("2026-11-27T11:30:00Z")), EnumSet.of(Format.JSON), Optional.empty());
        try (AuditScheduler a = scheduler(new MutableClock(NOW))) {
            StringBuilder h = new StringBuilder();
            Dashboard.audit(h, new DashboardView.Scheduled(a), NOW);
            assertThat(h).contains("<p id=\"last-full-audit\">Last full audit: <span class=\"bad\">FAIL</span> · payments · 2026-11-27 02:00:00 UTC"
                    + " (9 h ago) · 90 probes, 2 failed")
                    .contains("<p id=\"last-quick-audit\">Last quick audit: <span class=\"bad\">FAIL</span> · payments · 2026-11-27 11:30:00 UTC")
                    .doesNotContain("overdue");
        }
    }

    @Test
    void audit_daemonStartedAMinuteAgo_isNotOverdue_andSaysWhenTheFirstRuns() {
        MutableClock clock = new MutableClock(NOW);
        try (AuditScheduler a = scheduler(clock)) {
            clock.advance(Duration.ofMinutes(1));
            StringBuilder h = new StringBuilder();
            Dashboard.audit(h, new DashboardView.Scheduled(a), clock.instant());
            assertThat(h).contains("Last full audit: <span class=\"muted\">none yet; the first runs a few minutes after the daemon starts")
                    .doesNotContain("overdue");
            clock.advance(Duration.ofHours(2));
            StringBuilder later = new StringBuilder();
            Dashboard.audit(later, new DashboardView.Scheduled(a), clock.instant());
            assertThat(later).contains("full audit of payments is overdue");
        }
    }
}
