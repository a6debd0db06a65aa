package dev.airlock.server;

import dev.airlock.audit.battery.Battery;
import dev.airlock.audit.report.Readable;
import dev.airlock.audit.report.ReportStore;
import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.policy.address.AddressClassifier;
import dev.airlock.pool.sizing.HourOfWeek;
import dev.airlock.pool.warm.WarmPool;
import dev.airlock.runtime.BlockedSummary;
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

    static String render(Daemon d, String token) {
        StringBuilder h = new StringBuilder(8192);
        h.append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"5\">")
                .append("<title>Airlock daemon</title><style>")
                .append("body{font:14px system-ui,sans-serif;margin:24px;color:#1b1f24}h1{font-size:20px}h2{font-size:16px;margin-top:28px}")
                .append("table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #d0d7de;text-align:left}")
                .append("th{background:#f6f8fa}.bad{color:#b42318;font-weight:600}.ok{color:#067647;font-weight:600}")
                .append(".bar{fill:#2f6feb}.muted{color:#57606a}svg .claims{fill:#8c959f}svg .hit-rate{fill:#2f6feb}svg .ready{fill:#54aeff}")
                .append("td.time,td.target{white-space:nowrap}td.rule{overflow-wrap:anywhere}#denials{max-width:100%}")
                .append("</style></head><body>")
                .append("<h1>Airlock daemon</h1><p class=\"muted\">").append(esc(d.config().file().toString()))
                .append(" · state ").append(esc(d.config().state().toString())).append("</p>");
        pools(h, d);
        policyProblems(h, d);
        DashboardSessions.render(h, d.sessions(), Instant.now());
        DashboardSessions.renderKept(h, d.kept(), Instant.now());
        hitRate(h, d.poolMetrics().hourly());
        weekly(h, d);
        Instant now = Instant.now();
        h.append("<h2>Denials over time</h2>");
        DashboardPlots.denials(h, d.events().denialsPerHour(), now, DaemonEvents.HOURS);
        denials(h, d.events().recentDenials(), d.projects(), now);
        audit(h, d.audits(), now);
        h.append("</body></html>");
        return h.toString();
    }

    private static void pools(StringBuilder h, Daemon d) {
        h.append("<h2>Pools</h2><table id=\"pools\"><tr><th>project</th><th>sizing</th><th>desired</th><th>ready</th><th>warming</th>")
                .append("<th>in use</th><th>warm hit rate</th><th>cold start rate</th><th>claim p50</th><th>claim p99</th><th>last failure</th></tr>");
        for (Daemon.ProjectPool p : d.projects().values()) {
            WarmPool.Status s = p.pool().status();
            h.append("<tr data-project=\"").append(esc(s.project())).append("\"><td>").append(esc(s.project())).append("</td><td>")
                    .append(p.config().size().isPresent() ? "fixed" : "auto").append("</td><td class=\"desired\">").append(s.desired())
                    .append("</td><td class=\"ready\">").append(s.ready()).append("</td><td class=\"warming\">").append(s.warming())
                    .append("</td><td class=\"in-use\">").append(s.inUse()).append("</td><td class=\"hit-rate\">").append(percent(s.warmHitRate()))
                    .append("</td><td class=\"cold-rate\">").append(percent(s.coldStartRate())).append("</td><td>")
                    .append(ms(d.poolMetrics().claimQuantile(s.project(), 0.5))).append("</td><td>")
                    .append(ms(d.poolMetrics().claimQuantile(s.project(), 0.99))).append("</td><td")
                    .append(s.lastFailure().isPresent() ? " class=\"bad\">" + esc(s.lastFailure().get()) : ">—").append("</td></tr>");
        }
        h.append("</table>");
    }

    /** Policy files that do not load: the old policy stays in force, and the page says why and how to fix it. */
    private static void policyProblems(StringBuilder h, Daemon d) {
        for (Daemon.ProjectPool p : d.projects().values()) {
            d.reloads().flatMap(r -> r.problem(p.project())).ifPresent(problem -> h.append("<div class=\"bad policy-error\" data-project=\"")
                    .append(esc(p.project())).append("\">The policy of ").append(esc(p.project()))
                    .append(" did not reload; the old policy stays in force:<pre style=\"white-space:pre-wrap\">").append(esc(problem)).append("</pre></div>"));
        }
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
    private static void weekly(StringBuilder h, Daemon d) {
        h.append("<h2>Pool by hour of the week</h2><p class=\"muted\">hours in ").append(esc(d.poolMetrics().weekly().zone().getId()))
                .append(", the zone the auto-sizer uses</p>");
        for (Daemon.ProjectPool p : d.projects().values()) {
            Optional<int[]> recommended = d.recommendation(p.project()).map(r -> {
                int[] sizes = new int[HourOfWeek.COUNT];
                r.hours().forEach(x -> sizes[x.hour().index()] = x.chosen().size());
                return sizes;
            });
            h.append("<h3>").append(esc(p.project())).append("</h3>");
            DashboardPlots.week(h, p.project(), d.poolMetrics().weekly().week(p.project()), recommended, p.config().size());
        }
    }

    private static void denials(StringBuilder h, List<DaemonEvents.Denial> recent, Map<String, Daemon.ProjectPool> projects, Instant now) {
        h.append("<h2>Recent denials</h2>");
        if (recent.isEmpty()) {
            h.append("<p id=\"denials\" class=\"muted\">none</p>");
            return;
        }
        h.append("<table id=\"denials\"><tr><th>time (UTC)</th><th>sandbox</th><th>project</th><th>target</th><th>via</th><th>reason</th>")
                .append("<th>rule</th><th>advice</th></tr>");
        for (DaemonEvents.Denial denial : recent.subList(0, Math.min(25, recent.size()))) {
            AuditEvent e = denial.event();
            h.append("<tr><td class=\"time\" title=\"").append(esc(Readable.time(denial.time()))).append("\">")
                    .append(esc(TIME.format(denial.time()))).append(" <span class=\"muted\">(").append(CompactDuration.of(Duration.between(denial.time(), now)))
                    .append(" ago)</span></td><td>").append(esc(e.sandbox())).append("</td><td>").append(esc(e.project()))
                    .append("</td><td class=\"target\">").append(esc(target(e))).append("</td><td>").append(esc(e.via().code))
                    .append("</td><td class=\"reason\">").append(esc(e.reason().code)).append("</td><td class=\"rule\">").append(esc(String.valueOf(e.rule())))
                    .append("</td><td class=\"advice\">").append(esc(advice(e, projects.get(e.project())))).append("</td></tr>");
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

    /** The same advice a run's summary gives (one composer, {@link dev.airlock.policy.Advice}), naming the project's file. */
    private static String advice(AuditEvent e, Daemon.ProjectPool p) {
        return p == null ? BlockedSummary.fix(e, "the project's airlock.yaml", BUILT_IN)
                : BlockedSummary.fix(e, p.config().policy().toString(), p.engine().classifier());
    }

    private static final AddressClassifier BUILT_IN = new AddressClassifier();

    static void audit(StringBuilder h, Optional<AuditScheduler> audits, Instant now) {
        h.append("<h2>Last audits</h2>");
        if (audits.isEmpty()) {
            h.append("<p id=\"last-audit\" class=\"bad\">continuous audits are off (`audits: false` in the daemon configuration)</p>");
            return;
        }
        AuditScheduler a = audits.get();
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
