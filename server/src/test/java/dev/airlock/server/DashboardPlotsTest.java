package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.policy.Reason;
import dev.airlock.gateway.audit.AuditSink;
import dev.airlock.pool.sizing.HourOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class DashboardPlotsTest {

    static final Instant MONDAY_9 = Instant.parse("2026-11-30T09:15:00Z");

    @Test
    void week_withClaims_drawsClaimsHitRateReadyAndTheRecommendation() {
        WeeklyUsage u = new WeeklyUsage(ZoneOffset.UTC);
        u.claim("payments", MONDAY_9, true);
        u.claim("payments", MONDAY_9, true);
        u.claim("payments", MONDAY_9, false);
        u.size("payments", MONDAY_9, 2);
        u.size("payments", MONDAY_9.plusSeconds(60), 3);
        int[] recommended = new int[HourOfWeek.COUNT];
        Arrays.fill(recommended, 1);
        recommended[9] = 4;

        StringBuilder h = new StringBuilder();
        DashboardPlots.week(h, "payments", u.week("payments"), Optional.of(recommended), Optional.empty());

        assertThat(h).contains("<svg class=\"plot\" id=\"week-payments\"")
                .contains("class=\"claims\" data-value=\"3\"").contains("<title>Mon 09:00: 3 claims (2 warm)</title>")
                .contains("class=\"hit-rate\" data-value=\"0.67\"").contains("<title>Mon 09:00: 67% warm</title>")
                .contains("class=\"ready\" data-value=\"2.50\"").contains("<polyline class=\"recommended\"")
                .contains("the Erlang-B recommendation");
    }

    @Test
    void week_withoutClaims_saysSo_insteadOfAnEmptyPlot() {
        StringBuilder h = new StringBuilder();
        DashboardPlots.week(h, "payments", new WeeklyUsage(ZoneOffset.UTC).week("payments"), Optional.empty(), Optional.of(2));
        assertThat(h).doesNotContain("<svg").contains("no claims recorded yet");
    }

    @Test
    void denials_stacksEachHourByReason_withALegend() {
        TreeMap<Long, Map<String, Long>> perHour = new TreeMap<>();
        long hour = MONDAY_9.getEpochSecond() / 3600;
        perHour.put(hour, Map.of("no-rule", 3L, "production", 1L));
        perHour.put(hour - 100, Map.of("limit", 9L)); // older than the window: not drawn

        StringBuilder h = new StringBuilder();
        DashboardPlots.denials(h, perHour, MONDAY_9, 48);

        assertThat(h).contains("id=\"denials-plot\"").contains("data-value=\"3\" data-reason=\"no-rule\"")
                .contains("data-value=\"1\" data-reason=\"production\"").contains("<title>09:00 UTC: 3 no-rule</title>")
                .doesNotContain("data-reason=\"limit\"").contains(">production</text>");
    }

    @Test
    void denialsPerHour_countsEachDenialInTheHourTheDaemonSawIt() {
        MutableClock clock = new MutableClock(MONDAY_9);
        DaemonEvents events = new DaemonEvents(AuditSink.discarding(), clock);
        events.submit(dns("evil.test", Reason.NO_RULE));
        clock.advance(Duration.ofHours(1));
        events.submit(dns("evil.test", Reason.NO_RULE));
        events.submit(dns("api.acme.com", Reason.PRODUCTION));

        assertThat(events.denials().perHour()).hasSize(2).containsEntry(MONDAY_9.getEpochSecond() / 3600 + 1,
                Map.of("no-rule", 1L, "production", 1L));
        assertThat(events.denials().recent().get(0).time()).isEqualTo(MONDAY_9.plus(Duration.ofHours(1)));
    }

    @Test
    void target_dnsQuestion_hasNoPort() {
        assertThat(Dashboard.target(dns("evil.test", Reason.NO_RULE))).isEqualTo("evil.test");
        assertThat(Dashboard.target(new AuditEvent(AuditEvent.Event.DECISION, "alk1", "payments", AuditEvent.Via.EXPLICIT, "c", "evil.test",
                443, List.of(), AuditEvent.Decision.DENY, "-", Reason.NO_RULE, 0, 0, 0))).isEqualTo("evil.test:443");
    }

    static AuditEvent dns(String name, Reason reason) {
        return new AuditEvent(AuditEvent.Event.DECISION, "alk1", "payments", AuditEvent.Via.DNS, "c", name, 0, List.of(),
                AuditEvent.Decision.DENY, "-", reason, 0, 0, 0);
    }
}
