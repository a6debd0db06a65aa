package dev.airlock.audit.report;

import dev.airlock.audit.battery.BatteryRun;
import dev.airlock.audit.battery.ProbeResult;
import dev.airlock.audit.battery.Status;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** What {@code airlock audit} and {@code airlock audit history} print for a person. */
public final class ReportText {

    private ReportText() {
    }

    /** Failures and errors in full, the rest counted, then where the reports are. */
    public static String summary(BatteryRun run, Path dir, java.util.Optional<Path> copy) {
        return summary(run, dir) + copy.map(c -> "copied to: " + c + "\n").orElse("");
    }

    public static String summary(BatteryRun run, Path dir) {
        StringBuilder b = new StringBuilder();
        for (ProbeResult r : run.results()) {
            if (r.status() != Status.PASS) {
                b.append(String.format(Locale.ROOT, "%-18s %-16s %s%n    %s%n", r.status().code.toUpperCase(Locale.ROOT), r.category(), r.id(),
                        r.observed()));
            }
        }
        b.append(String.format(Locale.ROOT, "%s: %d probes, %d pass, %d fail, %d not reachable here, %d error%n",
                run.passed() ? "PASS" : "FAIL", run.results().size(), run.count(Status.PASS), run.count(Status.FAIL),
                run.count(Status.NOT_REACHABLE_HERE), run.count(Status.ERROR)));
        b.append("reports kept in: ").append(dir).append('\n');
        return b.toString();
    }

    public static String history(List<ReportStore.Entry> entries) {
        if (entries.isEmpty()) {
            return "no audits yet (run, as root: airlock audit)\n";
        }
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%-24s %-20s %-5s %-6s %5s %5s %5s %5s  %-12s %s%n", "time", "project", "scope", "result", "pass",
                "fail", "n/r", "error", "policy", "report"));
        for (ReportStore.Entry e : entries) {
            Map<String, Long> c = e.counts();
            b.append(String.format(Locale.ROOT, "%-24s %-20s %-5s %-6s %5d %5d %5d %5d  %-12s %s%n", e.started(), e.project(), e.scope(),
                    e.result(), c.getOrDefault("pass", 0L), c.getOrDefault("fail", 0L), c.getOrDefault("not-reachable-here", 0L),
                    c.getOrDefault("error", 0L), e.policySha256().substring(0, Math.min(12, e.policySha256().length())), e.dir()));
        }
        List<ReportStore.Change> changes = ReportStore.changes(entries);
        if (!changes.isEmpty()) {
            b.append("\nchanges:\n");
        }
        for (ReportStore.Change ch : changes) {
            b.append("  ").append(ch.previous().started()).append(" -> ").append(ch.current().started()).append(" (")
                    .append(ch.current().project()).append("):");
            boolean any = false;
            if (ch.policyChanged()) {
                b.append("\n    policy changed (sha256 ").append(shortSha(ch.previous().policySha256())).append(" -> ")
                        .append(shortSha(ch.current().policySha256())).append(')');
                any = true;
            }
            if (ch.orgChanged()) {
                b.append("\n    org policy changed");
                any = true;
            }
            for (Map.Entry<String, String[]> s : ch.statusChanges().entrySet()) {
                b.append("\n    ").append(s.getKey()).append(": ").append(s.getValue()[0]).append(" -> ").append(s.getValue()[1]);
                any = true;
            }
            if (!ch.added().isEmpty()) {
                b.append("\n    new probes: ").append(ch.added().size());
                any = true;
            }
            if (!ch.removed().isEmpty()) {
                b.append("\n    probes no longer run: ").append(ch.removed().size());
                any = true;
            }
            b.append(any ? "\n" : " nothing changed\n");
        }
        return b.toString();
    }

    private static String shortSha(String s) {
        return s.substring(0, Math.min(12, s.length()));
    }
}
