package dev.airlock.audit.report;

import static dev.airlock.audit.report.Escape.cell;

import dev.airlock.audit.battery.Battery;
import dev.airlock.audit.battery.BatteryRun;
import dev.airlock.audit.battery.Evidence;
import dev.airlock.audit.battery.ProbeResult;
import dev.airlock.audit.battery.Status;
import java.util.Locale;

/** The Markdown report: the same facts as the HTML page, for a pull request or a wiki. */
final class ReportMarkdown {

    private ReportMarkdown() {
    }

    public static String render(BatteryRun run) {
        StringBuilder b = new StringBuilder();
        b.append("# Airlock isolation audit: ").append(run.subject().project()).append(" — **")
                .append(run.passed() ? "PASS" : "FAIL").append("**\n\n");
        b.append("| | |\n|---|---|\n");
        row(b, "Time", run.started() + " to " + run.finished());
        row(b, "Airlock version", run.subject().airlockVersion());
        row(b, "Kernel", run.kernel());
        row(b, "Sandbox", run.sandboxId() + " (" + run.scope().name().toLowerCase(Locale.ROOT) + " battery)");
        row(b, "Policy", run.subject().policy().path() + " sha256 `" + run.subject().policy().sha256() + "`");
        row(b, "Org policy", run.subject().org().map(h -> h.path() + " sha256 `" + h.sha256() + "`").orElse("none"));
        row(b, "Hosts map", run.subject().hosts().map(h -> h.path() + " sha256 `" + h.sha256() + "`").orElse("none (system resolver)"));
        StringBuilder counts = new StringBuilder();
        for (Status s : Status.values()) {
            counts.append(s.code).append(' ').append(run.count(s)).append("; ");
        }
        row(b, "Result", counts.toString().strip());
        b.append('\n');
        for (String n : run.notes()) {
            b.append("> ").append(n).append("\n\n");
        }
        b.append("## Probes\n\n| status | probe | target | expected | observed | audit records | positive control |\n"
                + "|---|---|---|---|---|---|---|\n");
        for (String category : Battery.CATEGORIES) {
            for (ProbeResult r : run.results()) {
                if (r.category().equals(category)) {
                    b.append("| ").append(r.status() == Status.PASS ? "pass" : "**" + r.status().code + "**").append(" | `")
                            .append(r.id()).append("` | ").append(cell(r.target())).append(" | ").append(cell(r.expected())).append(" | ")
                            .append(cell(r.observed())).append(" | ").append(cell(r.records().isEmpty() ? "-" : Evidence.describe(r.records())))
                            .append(" | ").append(cell(r.control().map(c -> (c.reached() ? "reached: " : "NOT reached: ") + c.description())
                                    .orElse("-")))
                            .append(" |\n");
                }
            }
        }
        b.append("\n## Enforcement as applied\n\nHost table `").append(run.enforcement().hostTable()).append("`:\n\n```\n")
                .append(run.enforcement().hostRuleset().strip()).append("\n```\n\nSandbox table (in its network namespace):\n\n```\n")
                .append(run.enforcement().sandboxRuleset().strip()).append("\n```\n");
        b.append("\n## Isolation as applied\n\n```\n");
        run.isolation().process().entrySet().stream().sorted(java.util.Map.Entry.comparingByKey())
                .forEach(e -> b.append(e.getKey()).append(": ").append(e.getValue()).append('\n'));
        run.isolation().cgroupLimits().entrySet().stream().sorted(java.util.Map.Entry.comparingByKey())
                .forEach(e -> b.append("cgroup ").append(e.getKey()).append(": ").append(e.getValue()).append('\n'));
        run.isolation().namespaces().forEach(n -> b.append("namespace ").append(n).append('\n'));
        b.append("bwrap ").append(String.join(" ", run.isolation().bwrapArgs())).append("\n```\n");
        return b.toString();
    }

    private static void row(StringBuilder b, String k, String v) {
        b.append("| ").append(k).append(" | ").append(v.replace("|", "\\|").replace("\n", " ")).append(" |\n");
    }
}
