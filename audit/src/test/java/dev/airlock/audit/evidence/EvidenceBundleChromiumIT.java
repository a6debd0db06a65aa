package dev.airlock.audit.evidence;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.audit.report.Format;
import dev.airlock.audit.report.PageInBrowser;
import dev.airlock.audit.report.ReportStore;
import dev.airlock.audit.report.RunFixtures;
import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.audit.AuditLog;
import dev.airlock.policy.Reason;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The evidence bundle's index page in headless Chromium at 1400 px: it opens with the production
 * answer, fits the window, and a screenshot is kept ({@code target/screenshots/evidence.png}).
 */
class EvidenceBundleChromiumIT {

    @TempDir
    Path tmp;

    @Test
    void index_at1400px_opensWithTheProductionAnswer_andFitsTheWindow() throws Exception {
        PageInBrowser browser = PageInBrowser.require(tmp);
        Path state = Files.createDirectories(tmp.resolve("state"));
        Path policy = Files.writeString(tmp.resolve("airlock.yaml"), """
                version: 1
                project: payments
                network:
                  allow: [github.com, registry.npmjs.org]
                resources: { memory: 4GiB, cpus: 2, pids: 2048 }
                """);
        Path org = Files.writeString(tmp.resolve("org.yaml"), "version: 1\nproduction:\n  - api.acme.com\n  - cidr: 10.20.0.0/16\n");
        new ReportStore(state).save(RunFixtures.fullBattery(Instant.parse("2026-11-26T23:00:00Z")), EnumSet.allOf(Format.class), Optional.empty());
        try (AuditLog log = AuditLog.open(state.resolve("audit.log"), Clock.systemUTC())) {
            log.submit(new AuditEvent(AuditEvent.Event.DECISION, "alk0123abcd", "payments", AuditEvent.Via.TRANSPARENT, "100.96.0.2:5000",
                    "api.acme.com", 443, List.of(), AuditEvent.Decision.DENY, "-", Reason.PRODUCTION, 0, 0, 0));
        }
        EvidenceBundle.Result r = EvidenceBundle.build(new EvidenceBundle.Input(List.of(policy), Optional.of(org), state, Duration.ofDays(30),
                "0.1.0-test", List.of()), tmp.resolve("evidence"), Instant.parse("2026-11-27T00:00:00Z"));
        Path index = r.dir().resolve("index.html");

        String dom = browser.dom(index, 1400);
        assertThat(dom).contains("<section id=\"answer\" class=\"answer no\"").contains("production probes: all blocked");
        browser.layout(Files.readString(index), 1400).assertReadable();
        browser.screenshot(index, Path.of("target", "screenshots", "evidence.png"), 1400, 1400);
    }
}
