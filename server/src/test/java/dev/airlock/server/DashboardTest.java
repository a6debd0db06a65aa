package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.policy.Reason;
import dev.airlock.pool.warm.WarmPool;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The dashboard's one renderer, fed by a fake {@link DashboardView}: the same panels whichever
 * backend supplies them, every value escaped, and a panel the backend cannot fill says why.
 */
class DashboardTest {

    private static final Instant NOW = Instant.parse("2026-11-30T09:15:00Z");
    private static final String HOSTILE = "<script>alert('x')</script>&\"";

    @Test
    void counts_readAsWords_oneWithoutAnS() {
        assertThat(DashboardSessions.count(1, "run")).isEqualTo("1 run");
        assertThat(DashboardSessions.count(0, "session")).isEqualTo("0 sessions");
        assertThat(DashboardSessions.count(3, "command")).isEqualTo("3 commands");
    }

    @Test
    void render_anyBackend_showsEveryPanelInTheLocalOrder() {
        String page = Dashboard.render(new FakeView(), NOW);

        assertThat(page).containsSubsequence("<h2>Pools</h2>", "<h2>Sessions</h2>", "<h2>Warm hit rate per hour</h2>",
                "<h2>Pool by hour of the week</h2>", "<h2>Denials over time</h2>", "<h2>Recent denials</h2>", "<h2>Last audits</h2>");
        assertThat(page).contains("<tr data-project=\"payments\"><td>payments</td><td>fixed</td><td class=\"desired\">3</td><td class=\"ready\">2</td>")
                .contains("<td class=\"hit-rate\">75.0%</td>").contains("<td>12.0 ms</td>");
        assertThat(page).contains("<tr data-sandbox=\"alkdeadbeef\"><td>alkdeadbeef</td><td>—</td><td>payments</td><td>session</td><td>warm</td>"
                + "<td class=\"age\">5m</td>");
        assertThat(page).contains("id=\"hit-rate-chart\"").contains("<svg class=\"plot\" id=\"week-payments\"").contains("id=\"denials-plot\"")
                .contains("data-reason=\"no-rule\"");
        assertThat(page).contains("<td class=\"target\">evil.test:443</td>").contains("<td class=\"reason\">no-rule</td>")
                .contains("<td class=\"advice\">add evil.test to payments.yaml</td>");
    }

    @Test
    void render_valuesFromOutside_areEscapedEverywhere() {
        FakeView v = new FakeView();
        v.project = HOSTILE;
        v.denied = new AuditEvent(AuditEvent.Event.DECISION, HOSTILE, HOSTILE, AuditEvent.Via.EXPLICIT, "c", HOSTILE, 443, List.of(),
                AuditEvent.Decision.DENY, HOSTILE, Reason.NO_RULE, 0, 0, 0);
        v.problem = Map.of(HOSTILE, HOSTILE);
        v.where = HOSTILE;

        String page = Dashboard.render(v, NOW);

        assertThat(page).doesNotContain("<script>").doesNotContain("alert('x')");
        assertThat(page).contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;");
        // control: the same renderer writes markup of its own (the check above is not vacuous)
        assertThat(page).contains("<table id=\"denials\">").contains("<div class=\"bad policy-error\"");
    }

    @Test
    void render_dnsDenial_namesTheTargetWithoutAPortZero() {
        FakeView v = new FakeView();
        v.denied = DashboardPlotsTest.dns("evil.test", Reason.NO_RULE);

        String page = Dashboard.render(v, NOW);

        assertThat(page).contains("<td class=\"target\">evil.test</td>").doesNotContain(":0<").doesNotContain(":0 ");
    }

    @Test
    void render_sessionWithoutActivity_showsNoIdleTimeInsteadOfInventingOne() {
        String page = Dashboard.render(new FakeView(), NOW);

        assertThat(page).contains("<td class=\"idle\">—</td><td>—</td><td class=\"ends\">—</td></tr>");
    }

    @Test
    void render_sessionWithActivity_showsIdleTimeAndTimeout() {
        FakeView v = new FakeView();
        v.activity = Optional.of(new SessionActivity(Clock.fixed(NOW.minus(Duration.ofMinutes(2)), ZoneOffset.UTC), IdleTimeout.DEFAULT));

        String page = Dashboard.render(v, NOW);

        assertThat(page).contains("<td class=\"idle\">2m</td><td>" + IdleTimeout.DEFAULT + "</td><td class=\"ends\">7h58m</td>");
    }

    @Test
    void render_auditsNotRunByTheBackend_saysSoPlainly_notOverdueNorOff() {
        FakeView v = new FakeView();
        v.audits = new DashboardView.NotRun(ClusterDashboard.AUDITS_NOT_RUN);

        String page = Dashboard.render(v, NOW);

        assertThat(page).contains("<p id=\"last-audit\" class=\"muted\">continuous audits do not run on backend: kubernetes")
                .doesNotContain("overdue").doesNotContain("audits: false").doesNotContain("Last full audit");
        // control: a daemon with audits turned off says that instead
        v.audits = new DashboardView.Off();
        assertThat(Dashboard.render(v, NOW)).contains("continuous audits are off (`audits: false` in the daemon configuration)");
    }

    @Test
    void render_denialsNotCollected_saysWhyInBothDenialPanels() {
        FakeView v = new FakeView();
        v.denials = new DashboardView.NotCollected("not forwarded <here>");

        String page = Dashboard.render(v, NOW);

        assertThat(page).contains("<p id=\"denials-plot\" class=\"muted\">not forwarded &lt;here&gt;</p>")
                .contains("<p id=\"denials\" class=\"muted\">not forwarded &lt;here&gt;</p>").doesNotContain("<table id=\"denials\">");
    }

    @Test
    void render_noSessionsNoClaimsNoDenials_saysNoneInsteadOfEmptyPlots() {
        FakeView v = new FakeView();
        v.sessions = false;
        v.claims = false;
        v.denied = null;

        String page = Dashboard.render(v, NOW);

        assertThat(page).contains("<p id=\"sessions\" class=\"muted\">none claimed").contains("<p id=\"hit-rate-chart\" class=\"muted\">no claims yet</p>")
                .contains("no claims recorded yet").contains("no denials in the last 48 hours").contains("<p id=\"denials\" class=\"muted\">none</p>")
                .doesNotContain("<svg");
    }

    @Test
    void render_coldRuns_showsEachRunUnderItsOwnHeading_escaped_andNoPanelWithoutThem() {
        FakeView v = new FakeView();
        v.coldRuns = List.of(new ColdRunTally.Entry("alkc01d0001", "cold-b", java.nio.file.Path.of("/home/dev/" + HOSTILE), "/home/dev/airlock.yaml",
                NOW.minus(Duration.ofMinutes(3)), new dev.airlock.runtime.RunAs(4242, 4242)));

        String page = Dashboard.render(v, NOW);

        assertThat(page).containsSubsequence("<h2>Sessions</h2>", "<h2>Cold runs</h2>", "<h2>Warm hit rate per hour</h2>");
        assertThat(page).contains("<tr data-sandbox=\"alkc01d0001\"><td>alkc01d0001</td><td>cold-b</td><td class=\"age\">3m</td><td>4242:4242</td>"
                + "<td>/home/dev/&lt;script&gt;");
        assertThat(page).doesNotContain("<script>");

        assertThat(Dashboard.render(new FakeView(), NOW)).doesNotContain("Cold runs").doesNotContain("cold-runs");
    }

    /** A view with one pool, one session, claims in one hour, one denial; each part replaceable. */
    private static final class FakeView implements DashboardView {
        String where = "/etc/airlock/daemon.yaml · state /var/lib/airlock";
        String project = "payments";
        Map<String, String> problem = Map.of();
        boolean sessions = true;
        boolean claims = true;
        Optional<SessionActivity> activity = Optional.empty();
        AuditEvent denied = new AuditEvent(AuditEvent.Event.DECISION, "alkdeadbeef", "payments", AuditEvent.Via.EXPLICIT, "c", "evil.test", 443,
                List.of(), AuditEvent.Decision.DENY, "-", Reason.NO_RULE, 0, 0, 0);
        Denials denials;
        Audits audits = new NotRun("none here");
        List<ColdRunTally.Entry> coldRuns = List.of();

        @Override
        public String where() {
            return where;
        }

        @Override
        public List<PoolRow> pools() {
            return List.of(new PoolRow(new WarmPool.Status(project, 3, 2, 1, 1, 3, 1, 0, Optional.empty(), 0, 0), true, Duration.ofMillis(12),
                    Duration.ofMillis(40), Optional.empty()));
        }

        @Override
        public Map<String, String> policyProblems() {
            return problem;
        }

        @Override
        public List<SessionRow> sessions() {
            return sessions ? List.of(new SessionRow("alkdeadbeef", Optional.empty(), project, false, true, NOW.minus(Duration.ofMinutes(5)), activity))
                    : List.of();
        }

        @Override
        public List<ColdRunTally.Entry> coldRuns() {
            return coldRuns;
        }

        @Override
        public List<WorkReturn.KeptView> kept() {
            return List.of();
        }

        @Override
        public SortedMap<Long, long[]> hourlyClaims() {
            TreeMap<Long, long[]> m = new TreeMap<>();
            if (claims) {
                m.put(NOW.getEpochSecond() / 3600, new long[] {3, 1});
            }
            return m;
        }

        @Override
        public ZoneId weeklyZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public List<ProjectWeek> weeks() {
            WeeklyUsage u = new WeeklyUsage(ZoneOffset.UTC);
            if (claims) {
                u.claim(project, NOW, true);
            }
            return List.of(new ProjectWeek(project, u.week(project), Optional.empty(), Optional.of(3)));
        }

        @Override
        public Denials denials() {
            if (denials != null) {
                return denials;
            }
            RecentDenials r = new RecentDenials();
            if (denied != null) {
                r.add(NOW.minus(Duration.ofMinutes(1)), denied);
            }
            return new Recorded(r);
        }

        @Override
        public String advice(AuditEvent e) {
            return "add " + e.name() + " to payments.yaml";
        }

        @Override
        public Audits audits() {
            return audits;
        }
    }
}
