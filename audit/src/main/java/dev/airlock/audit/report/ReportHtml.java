package dev.airlock.audit.report;

import static dev.airlock.audit.report.Escape.html;

import dev.airlock.audit.battery.Battery;
import dev.airlock.audit.battery.BatteryRun;
import dev.airlock.audit.battery.Evidence;
import dev.airlock.audit.battery.ProbeResult;
import dev.airlock.audit.battery.Status;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The HTML report: one self-contained page (inline CSS, no script, no external asset) that a
 * reviewer can open offline or attach to a ticket. Every row of the table carries
 * {@code data-probe} and {@code data-status} so tools (and the Chromium test) can read it.
 */
final class ReportHtml {

    private ReportHtml() {
    }

    /*
     * Layout: the probe table fits the page at 1400 px (no horizontal scroll, so the positive-control
     * column stays on screen). The probe id never wraps (a reviewer searches for it whole); every other
     * cell may break anywhere inside long tokens (names, addresses), which is what lets the table shrink.
     */
    private static final String CSS = """
            body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#1d1d1f;max-width:1400px}
            h1{font-size:1.6rem;margin:0 0 .3rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
            .verdict{display:inline-block;padding:.3rem .8rem;border-radius:4px;font-weight:700;color:#fff}
            .verdict.pass{background:#1a7f37}.verdict.fail{background:#cf222e}
            table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
            th{background:#f6f8fa}td{overflow-wrap:anywhere}td.status{font-weight:700;white-space:nowrap}
            td.probe{white-space:nowrap;overflow-wrap:normal}td.probe code{font-size:12px}
            td.observed{white-space:pre-wrap}td ul{margin:0;padding-left:1.1rem}
            tr.pass td.status{color:#1a7f37}tr.fail td.status{color:#cf222e;background:#ffebe9}
            tr.error td.status{color:#9a6700;background:#fff8c5}tr.not-reachable-here td.status{color:#57606a;background:#f6f8fa}
            tbody th.category{background:#eaeef2;font-size:13px}
            #summary{width:auto}#summary td.n{text-align:right;font-variant-numeric:tabular-nums}#summary td.bad{color:#cf222e;font-weight:700}
            pre{background:#f6f8fa;padding:.6rem;overflow:auto;font-size:12px;max-height:30rem;white-space:pre-wrap;overflow-wrap:anywhere}
            dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0;font-family:ui-monospace,monospace;overflow-wrap:anywhere}
            .small{font-size:12px;color:#57606a}details summary{cursor:pointer}
            @media (max-width:1100px){body{margin:1rem}#probes col{width:auto!important}th,td{padding:.25rem .3rem;font-size:12px}th{overflow-wrap:anywhere}}
            """;

    public static String render(BatteryRun run) {
        StringBuilder b = new StringBuilder();
        String verdict = run.passed() ? "pass" : "fail";
        b.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>Airlock audit: ")
                .append(html(run.subject().project())).append(" ").append(verdict.toUpperCase(java.util.Locale.ROOT))
                .append("</title>\n<style>").append(CSS).append("</style></head><body>\n");
        b.append("<h1>Airlock isolation audit: ").append(html(run.subject().project())).append("</h1>\n");
        b.append("<p><span id=\"verdict\" class=\"verdict ").append(verdict).append("\">").append(verdict.toUpperCase(java.util.Locale.ROOT))
                .append("</span> ");
        for (Status s : Status.values()) {
            b.append("<span class=\"small\" id=\"count-").append(s.code).append("\">").append(s.code).append(": ").append(run.count(s))
                    .append("</span> &nbsp;");
        }
        b.append("</p>\n<dl>\n");
        dl(b, "Time", Readable.time(run.started()) + " to " + Readable.time(run.finished()));
        dl(b, "Airlock version", run.subject().airlockVersion());
        dl(b, "Kernel", run.kernel());
        dl(b, "Sandbox", run.sandboxId() + " (" + run.scope().name().toLowerCase(java.util.Locale.ROOT) + " battery)");
        dl(b, "Policy", run.subject().policy().path() + " sha256 " + run.subject().policy().sha256());
        dl(b, "Org policy", run.subject().org().map(h -> h.path() + " sha256 " + h.sha256()).orElse("none"));
        dl(b, "Hosts map", run.subject().hosts().map(h -> h.path() + " sha256 " + h.sha256()).orElse("none (system resolver)"));
        b.append("</dl>\n");
        for (String n : run.notes()) {
            b.append("<p class=\"small\">Note: ").append(html(n)).append("</p>\n");
        }
        summary(b, run);

        b.append("<h2>Probes</h2>\n<table id=\"probes\"><colgroup><col style=\"width:7%\"><col><col style=\"width:14%\"><col style=\"width:10%\">"
                + "<col style=\"width:22%\"><col style=\"width:16%\"><col style=\"width:14%\"></colgroup><thead><tr><th>Status</th><th>Probe</th>"
                + "<th>Target</th><th>Expected</th><th>Observed</th><th>Audit records</th><th>Positive control</th></tr></thead><tbody>\n");
        for (String category : Battery.CATEGORIES) {
            List<ProbeResult> rows = run.results().stream().filter(r -> r.category().equals(category)).toList();
            if (rows.isEmpty()) {
                continue;
            }
            b.append("<tr id=\"category-").append(html(category)).append("\"><th class=\"category\" colspan=\"7\">").append(html(category))
                    .append("</th></tr>\n");
            for (ProbeResult r : rows) {
                b.append("<tr class=\"").append(r.status().code).append("\" data-probe=\"").append(html(r.id())).append("\" data-status=\"")
                        .append(r.status().code).append("\"><td class=\"status\">").append(r.status().code).append("</td><td class=\"probe\"><code>")
                        .append(html(r.id())).append("</code></td><td>").append(html(r.target()))
                        .append("</td><td>").append(html(r.expected())).append("</td><td class=\"observed\">").append(html(r.observed().strip()));
                if (!r.output().isBlank()) {
                    b.append("<details><summary class=\"small\">output</summary><pre>").append(html(r.output())).append("</pre></details>");
                }
                b.append("</td><td class=\"small records\">");
                if (r.records().isEmpty()) {
                    b.append('-');
                } else {
                    b.append("<ul>");
                    r.records().forEach(e -> b.append("<li>").append(html(Evidence.describe(List.of(e)))).append("</li>"));
                    b.append("</ul>");
                }
                b.append("</td><td class=\"small control\">")
                        .append(html(r.control().map(c -> (c.reached() ? "reached: " : "NOT reached: ") + c.description() + " (" + c.detail() + ")")
                                .orElse("-")))
                        .append("</td></tr>\n");
            }
        }
        b.append("</tbody></table>\n");

        b.append("<h2>Enforcement as applied</h2>\n<p>Host table <code>").append(html(run.enforcement().hostTable()))
                .append("</code> (<code>nft list table</code> while the probes ran):</p>\n<pre id=\"host-ruleset\">")
                .append(html(run.enforcement().hostRuleset())).append("</pre>\n<p>The sandbox's own table, in its network namespace:</p>\n<pre id=\"sandbox-ruleset\">")
                .append(html(run.enforcement().sandboxRuleset())).append("</pre>\n");

        b.append("<h2>Isolation as applied</h2>\n<dl>\n");
        for (Map.Entry<String, String> e : run.isolation().process().entrySet().stream().sorted(Map.Entry.comparingByKey()).toList()) {
            dl(b, e.getKey(), e.getValue());
        }
        for (Map.Entry<String, String> e : run.isolation().cgroupLimits().entrySet().stream().sorted(Map.Entry.comparingByKey()).toList()) {
            dl(b, "cgroup " + e.getKey(), e.getValue());
        }
        b.append("</dl>\n<p>Namespaces:</p>\n<pre>").append(html(String.join("\n", run.isolation().namespaces())))
                .append("</pre>\n<p>bubblewrap:</p>\n<pre>").append(html(String.join(" ", run.isolation().bwrapArgs())))
                .append("</pre>\n<details><summary>Mounts (").append(run.isolation().mounts().size()).append(")</summary><pre>")
                .append(html(String.join("\n", run.isolation().mounts()))).append("</pre></details>\n");
        b.append("<p class=\"small\">Statuses: pass; fail (isolation broken); not-reachable-here (an allowed entry this host cannot reach,"
                + " or an inconclusive block: no positive control and no deny record from the gateway; never a pass); error (the probe could not run or its positive control failed). Generated by Airlock.</p>\n");
        b.append("</body></html>\n");
        return b.toString();
    }

    /** Counts per category, before the 90 rows: where a reviewer looks first. */
    private static void summary(StringBuilder b, BatteryRun run) {
        b.append("<h2>Summary by category</h2>\n<table id=\"summary\"><thead><tr><th>Category</th><th>pass</th><th>fail</th>"
                + "<th>error</th><th>inconclusive or not reachable here</th><th>probes</th></tr></thead><tbody>\n");
        for (String category : Battery.CATEGORIES) {
            Map<Status, Long> n = new EnumMap<>(Status.class);
            for (ProbeResult r : run.results()) {
                if (r.category().equals(category)) {
                    n.merge(r.status(), 1L, Long::sum);
                }
            }
            long total = n.values().stream().mapToLong(Long::longValue).sum();
            if (total == 0) {
                continue;
            }
            b.append("<tr data-category=\"").append(html(category)).append("\"><td><a href=\"#category-").append(html(category)).append("\">")
                    .append(html(category)).append("</a></td>");
            for (Status s : List.of(Status.PASS, Status.FAIL, Status.ERROR, Status.NOT_REACHABLE_HERE)) {
                long c = n.getOrDefault(s, 0L);
                b.append("<td class=\"n").append(s.failsAudit() && c > 0 ? " bad" : "").append("\" data-status=\"").append(s.code).append("\">")
                        .append(c).append("</td>");
            }
            b.append("<td class=\"n\">").append(total).append("</td></tr>\n");
        }
        b.append("</tbody></table>\n");
    }

    private static void dl(StringBuilder b, String k, String v) {
        b.append("<dt>").append(html(k)).append("</dt><dd>").append(html(v)).append("</dd>\n");
    }
}
