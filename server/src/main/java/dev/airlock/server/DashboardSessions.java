package dev.airlock.server;

import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;

/**
 * The dashboard's sessions (every claimed sandbox, its name, age, idle time and when the idle timeout ends it, where the
 * backend follows its commands), the runs of policies the daemon does not pool, and kept work.
 */
final class DashboardSessions {

    private DashboardSessions() {
    }

    /** "1 run", "2 runs". */
    static String count(long n, String noun) {
        return n + " " + noun + (n == 1 ? "" : "s");
    }

    static void render(StringBuilder h, List<DashboardView.SessionRow> sessions, Instant now) {
        long named = sessions.stream().filter(s -> !s.oneShot()).count();
        h.append("<h2>Sessions</h2>");
        if (sessions.isEmpty()) {
            h.append("<p id=\"sessions\" class=\"muted\">none claimed (`airlock sandbox create` starts one)</p>");
            return;
        }
        h.append("<p class=\"muted\">").append(count(named, "session")).append(", ").append(count(sessions.size() - named, "run")).append("</p>");
        h.append("<table id=\"sessions\"><tr><th>sandbox</th><th>name</th><th>project</th><th>kind</th><th>start</th><th>age</th>")
                .append("<th>idle</th><th>idle timeout</th><th>ends in</th></tr>");
        for (DashboardView.SessionRow s : sessions.stream().sorted(Comparator.comparing(DashboardView.SessionRow::claimed)).toList()) {
            h.append("<tr data-sandbox=\"").append(Dashboard.esc(s.id())).append("\"><td>").append(Dashboard.esc(s.id())).append("</td><td>")
                    .append(Dashboard.esc(s.name().orElse("—"))).append("</td><td>").append(Dashboard.esc(s.project())).append("</td><td>")
                    .append(s.oneShot() ? "run" : "session").append("</td><td>").append(s.warm() ? "warm" : "cold").append("</td><td class=\"age\">")
                    .append(CompactDuration.of(Duration.between(s.claimed(), now))).append("</td><td class=\"idle\">");
            if (s.activity().isEmpty()) {
                // the backend does not follow this sandbox's commands: no idle time, no idle timeout
                h.append("—</td><td>—</td><td class=\"ends\">—</td></tr>");
                continue;
            }
            SessionActivity a = s.activity().get();
            int running = a.running();
            h.append(running > 0 ? count(running, "command") + " running" : CompactDuration.of(Duration.between(a.lastActivity(), now)))
                    .append("</td><td>").append(Dashboard.esc(a.timeout().toString())).append("</td><td class=\"ends\">")
                    .append(a.expiresAt().map(e -> CompactDuration.of(Duration.between(now, e))).orElse("—")).append("</td></tr>");
        }
        h.append("</table>");
    }

    /**
     * Runs of policies the daemon does not pool, while they run: each an agent at work in the
     * caller's directory, which the sessions above do not show; nothing when there are none.
     */
    static void renderColdRuns(StringBuilder h, List<ColdRunTally.Entry> runs, Instant now) {
        if (runs.isEmpty()) {
            return;
        }
        h.append("<h2>Cold runs</h2><p class=\"muted\">").append(count(runs.size(), "run"))
                .append(" of policies the daemon does not pool, each in a sandbox of its own that goes when its command ends</p>");
        h.append("<table id=\"cold-runs\"><tr><th>sandbox</th><th>project</th><th>age</th><th>runs as</th><th>workspace</th></tr>");
        for (ColdRunTally.Entry r : runs) {
            h.append("<tr data-sandbox=\"").append(Dashboard.esc(r.id())).append("\"><td>").append(Dashboard.esc(r.id())).append("</td><td>")
                    .append(Dashboard.esc(r.project())).append("</td><td class=\"age\">").append(CompactDuration.of(Duration.between(r.startedAt(), now)))
                    .append("</td><td>").append(Dashboard.esc(r.runAs())).append("</td><td>").append(Dashboard.esc(r.workspace().toString()))
                    .append("</td></tr>");
        }
        h.append("</table>");
    }

    /** Released sandboxes whose work was not exported: what an operator must export before the window ends. */
    static void renderKept(StringBuilder h, List<WorkReturn.KeptView> kept, Instant now) {
        if (kept.isEmpty()) {
            return;
        }
        h.append("<h2>Kept work</h2><p class=\"muted\">not exported yet; `airlock sandbox export ID` brings it back before it is removed</p>");
        h.append("<table id=\"kept\"><tr><th>sandbox</th><th>project</th><th>removed in</th><th>reason</th></tr>");
        for (WorkReturn.KeptView k : kept.stream().sorted(Comparator.comparing(WorkReturn.KeptView::keptUntil)).toList()) {
            h.append("<tr data-sandbox=\"").append(Dashboard.esc(k.id())).append("\"><td>").append(Dashboard.esc(k.id())).append("</td><td>")
                    .append(Dashboard.esc(k.project())).append("</td><td>").append(CompactDuration.of(Duration.between(now, k.keptUntil())))
                    .append("</td><td>").append(Dashboard.esc(k.reason())).append(k.sandbox() ? " (sandbox held)" : "").append("</td></tr>");
        }
        h.append("</table>");
    }
}
