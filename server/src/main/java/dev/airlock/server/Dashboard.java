package dev.airlock.server;

import dev.airlock.audit.battery.Battery;
import dev.airlock.audit.report.Readable;
import dev.airlock.audit.report.ReportStore;
import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.pool.warm.WarmPool;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;

/**
 * The one-page dashboard: the pools, the warm hit rate per hour, the recent denials (with the
 * advice every surface gives) and the last audit. Rendered on the server (no scripts, no external assets), refreshed by the browser every
 * five seconds. Every value from outside (names a sandbox asked for, failure messages) is escaped.
 */
final class Dashboard {

    private Dashboard() {
    }

    /** The local daemon's page. */
    static String render(Daemon d, String token) {
        return render(new LocalDashboard(d), Instant.now());
    }

    /** The page of any backend's daemon. */
    static String render(DashboardView v, Instant now) {
        StringBuilder h = new StringBuilder(8192);
        h.append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"5\">")
                .append("<title>Airlock daemon</title><style>")
                .append("body{font:14px system-ui,sans-serif;margin:24px;color:#1b1f24}h1{font-size:20px}h2{font-size:16px;margin-top:28px}")
                .append("table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #d0d7de;text-align:left}")
                .append("th{background:#f6f8fa}.bad{color:#b42318;font-weight:600}.ok{color:#067647;font-weight:600}")
                .append(".bar{fill:#2f6feb}.muted{color:#57606a}svg .claims{fill:#8c959f}svg .hit-rate{fill:#2f6feb}svg .ready{fill:#54aeff}")
                .append("td.time,td.target{white-space:nowrap}td.rule{overflow-wrap:anywhere}#denials{max-width:100%}")
                .append("</style></head><body>")
                .append("<h1>Airlock daemon</h1><p class=\"muted\">").append(esc(v.where())).append("</p>");
        pools(h, v.pools());
        policyProblems(h, v.policyProblems());
        DashboardSessions.render(h, v.sessions(), now);
        DashboardSessions.renderColdRuns(h, v.coldRuns(), now);
        DashboardSessions.renderKept(h, v.kept(), now);
        hitRate(h, v.hourlyClaims());
        weekly(h, v);
        h.append("<h2>Denials over time</h2>");
        switch (v.denials()) {
            case DashboardView.Recorded r -> {
                DashboardPlots.denials(h, r.denials().perHour(), now, RecentDenials.HOURS);
                denials(h, r.denials().recent(), v, now);
            }
            case DashboardView.NotCollected n -> {
                h.append("<p id=\"denials-plot\" class=\"muted\">").append(esc(n.why())).append("</p>");
                h.append("<h2>Recent denials</h2><p id=\"denials\" class=\"muted\">").append(esc(n.why())).append("</p>");
            }
        }
        audit(h, v.audits(), now);
        h.append("</body></html>");
        return h.toString();
    }

    private static void pools(StringBuilder h, List<DashboardView.PoolRow> pools) {
        h.append("<h2>Pools</h2><table id=\"pools\"><tr><th>project</th><th>sizing</th><th>desired</th><th>ready</th><th>warming</th>")
                .append("<th>in use</th><th>warm hit rate</th><th>cold start rate</th><th>claim p50</th><th>claim p99</th><th>last failure</th></tr>");
        for (DashboardView.PoolRow p : pools) {
            WarmPool.Status s = p.status();
            h.append("<tr data-project=\"").append(esc(s.project())).append("\"><td>").append(esc(s.project())).append("</td><td>")
                    .append(p.fixed() ? "fixed" : "auto").append("</td><td class=\"desired\">").append(s.desired())
                    .append("</td><td class=\"ready\">").append(s.ready()).append("</td><td class=\"warming\">").append(s.warming())
                    .append("</td><td class=\"in-use\">").append(s.inUse()).append("</td><td class=\"hit-rate\">").append(percent(s.warmHitRate()))
                    .append("</td><td class=\"cold-rate\">").append(percent(s.coldStartRate())).append("</td><td>")
                    .append(ms(p.claimP50())).append("</td><td>").append(ms(p.claimP99())).append("</td><td")
                    .append(p.lastFailure().isPresent() ? " class=\"bad\">" + esc(p.lastFailure().get()) : ">—").append("</td></tr>");
        }
        h.append("</table>");
    }

    /** Policy files that do not load: the old policy stays in force, and the page says why and how to fix it. */
    private static void policyProblems(StringBuilder h, Map<String, String> problems) {
        problems.forEach((project, problem) -> h.append("<div class=\"bad policy-error\" data-project=\"")
                .append(esc(project)).append("\">The policy of ").append(esc(project))
                .append(" did not reload; the old policy stays in force:<pre style=\"white-space:pre-wrap\">").append(esc(problem)).append("</pre></div>"));
    }

    /** One bar per hour with claims: its height is the warm hit rate of that hour. */
    private static void hitRate(StringBuilder h, SortedMap<Long, long[]> hourly) {
        h.append("<h2>Warm hit rate per hour</h2>");
        if (hourly.isEmpty()) {
            h.append("<p id=\"hit-rate-chart\" class=\"muted\">no claims yet</p>");
            return;
        }
        List<Map.Entry<Long, long[]>> last = hourly.entrySet().stream().skip(Math.max(0, hourly.size() - 48)).toList();
        int w = 14;
        h.append("<svg class=\"plot\" id=\"hit-rate-chart\" width=\"").append(last.size() * w + 40).append("\" height=\"120\" role=\"img\" aria-label=\"warm hit rate per hour\">");
        int x = 30;
        for (Map.Entry<Long, long[]> e : last) {
            long warm = e.getValue()[0];
            long all = warm + e.getValue()[1];
            double rate = all == 0 ? 0 : (double) warm / all;
            int height = (int) Math.round(rate * 100);
            h.append("<rect class=\"bar\" data-value=\"").append(String.format(Locale.ROOT, "%.3f", rate)).append("\" x=\"").append(x).append("\" y=\"").append(105 - height).append("\" width=\"").append(w - 2)
                    .append("\" height=\"").append(height).append("\"><title>").append(Instant.ofEpochSecond(e.getKey() * 3600))
                    .append(": ").append(warm).append(" warm of ").append(all).append("</title></rect>");
            x += w;
        }
        h.append("<text x=\"0\" y=\"12\" font-size=\"10\">100%</text><text x=\"0\" y=\"105\" font-size=\"10\">0%</text></svg>");
    }

    /** Per project, by hour of the week: claims, warm hit rate, and the pool's size against what Erlang-B recommends. */
    private static void weekly(StringBuilder h, DashboardView v) {
        h.append("<h2>Pool by hour of the week</h2><p class=\"muted\">hours in ").append(esc(v.weeklyZone().getId()))
                .append(", the zone the auto-sizer uses</p>");
        for (DashboardView.ProjectWeek w : v.weeks()) {
            h.append("<h3>").append(esc(w.project())).append("</h3>");
            DashboardPlots.week(h, w.project(), w.week(), w.recommended(), w.fixedSize());
        }
    }

    private static void denials(StringBuilder h, List<RecentDenials.Denial> recent, DashboardView v, Instant now) {
        h.append("<h2>Recent denials</h2>");
        if (recent.isEmpty()) {
            h.append("<p id=\"denials\" class=\"muted\">none</p>");
            return;
        }
        h.append("<table id=\"denials\"><tr><th>time (UTC)</th><th>sandbox</th><th>project</th><th>target</th><th>via</th><th>reason</th>")
                .append("<th>rule</th><th>advice</th></tr>");
        for (RecentDenials.Denial denial : recent.subList(0, Math.min(25, recent.size()))) {
            AuditEvent e = denial.event();
            h.append("<tr><td class=\"time\" title=\"").append(esc(Readable.time(denial.time()))).append("\">")
                    .append(esc(TIME.format(denial.time()))).append(" <span class=\"muted\">(").append(CompactDuration.of(Duration.between(denial.time(), now)))
                    .append(" ago)</span></td><td>").append(esc(e.sandbox())).append("</td><td>").append(esc(e.project()))
                    .append("</td><td class=\"target\">").append(esc(target(e))).append("</td><td>").append(esc(e.via().code))
                    .append("</td><td class=\"reason\">").append(esc(e.reason().code)).append("</td><td class=\"rule\">").append(esc(String.valueOf(e.rule())))
                    .append("</td><td class=\"advice\">").append(esc(v.advice(e))).append("</td></tr>");
        }
        h.append("</table>");
    }

    private static final java.time.format.DateTimeFormatter TIME = java.time.format.DateTimeFormatter.ofPattern("HH:mm:ss", Locale.ROOT)
            .withZone(java.time.ZoneOffset.UTC);

    /** {@code name:port}; a DNS question has no port (the record's 0), and an unknown name is "-". */
    static String target(AuditEvent e) {
        String name = String.valueOf(e.name());
        return e.port() > 0 ? name + ":" + e.port() : name;
    }

    static void audit(StringBuilder h, DashboardView.Audits audits, Instant now) {
        h.append("<h2>Last audits</h2>");
        AuditScheduler a;
        switch (audits) {
            case DashboardView.Off off -> {
                h.append("<p id=\"last-audit\" class=\"bad\">continuous audits are off (`audits: false` in the daemon configuration)</p>");
                return;
            }
            case DashboardView.NotRun n -> {
                h.append("<p id=\"last-audit\" class=\"muted\">").append(esc(n.why())).append("</p>");
                return;
            }
            case DashboardView.Scheduled sc -> a = sc.scheduler();
        }
        h.append("<div id=\"last-audit\">");
        for (Battery.Scope scope : Battery.Scope.values()) {
            String name = scope.name().toLowerCase(Locale.ROOT);
            Optional<ReportStore.Entry> last = a.lastOf(scope);
            h.append("<p id=\"last-").append(name).append("-audit\">Last ").append(name).append(" audit: ");
            if (last.isEmpty()) {
                h.append("<span class=\"muted\">").append(scope == Battery.Scope.FULL
                        ? "none yet; the first runs a few minutes after the daemon starts"
                        : "none yet; one runs after a warm claim").append("</span></p>");
                continue;
            }
            ReportStore.Entry e = last.get();
            long failed = e.counts().getOrDefault("fail", 0L) + e.counts().getOrDefault("error", 0L);
            h.append("<span class=\"").append("pass".equalsIgnoreCase(e.result()) ? "ok" : "bad").append("\">")
                    .append(esc(e.result().toUpperCase(Locale.ROOT))).append("</span> · ").append(esc(e.project())).append(" · ")
                    .append(esc(Readable.time(e.started()))).append(" (").append(AuditScheduler.age(e.started(), now)).append(") · ")
                    .append(e.counts().getOrDefault("total", 0L)).append(" probes, ").append(failed).append(" failed · ")
                    .append(esc(e.dir().toString())).append("</p>");
        }
        h.append("</div>");
        for (AuditScheduler.Target t : a.targets()) {
            if (a.overdue(t)) {
                h.append("<p class=\"bad overdue\">full audit of ").append(esc(t.project())).append(" is overdue (every ")
                        .append(a.every().toDays()).append(" d)</p>");
            }
        }
    }

    static String percent(double v) {
        return Double.isNaN(v) ? "—" : String.format(Locale.ROOT, "%.1f%%", v * 100);
    }

    static String ms(Duration d) {
        return d == null ? "—" : String.format(Locale.ROOT, "%.1f ms", d.toNanos() / 1e6);
    }

    static String esc(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c < 0x20 ? '?' : c);
            }
        }
        return b.toString();
    }
}
