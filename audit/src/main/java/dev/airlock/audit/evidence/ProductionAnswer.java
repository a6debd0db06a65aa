package dev.airlock.audit.evidence;

import dev.airlock.audit.report.Readable;
import dev.airlock.audit.report.ReportStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The one answer an auditor wants before anything else: can agents reach production? Shown only by
 * evidence: each project's latest audit (a full one when there is one) and its production probes,
 * and the audit log's hash chain. "No" needs all of it; any production probe that reached its
 * target is "yes"; anything missing is "not shown", never "no".
 */
record ProductionAnswer(Verdict verdict, List<String> lines) {

    enum Verdict {
        NO("No: agents cannot reach production"), YES("YES: an agent reached production"), NOT_SHOWN("Not shown: the evidence is incomplete");

        final String headline;

        Verdict(String headline) {
            this.headline = headline;
        }
    }

    /** The chain as verification found it: intact with how many records, broken where, or absent. */
    record Chain(Optional<Boolean> intact, String description) {
    }

    static ProductionAnswer of(boolean productionDefined, Map<String, Optional<ReportStore.Entry>> latestByProject, Chain chain) {
        List<String> lines = new ArrayList<>();
        boolean reached = false;
        boolean shown = productionDefined;
        if (!productionDefined) {
            lines.add("The organisation policy lists no production entries, so no audit probes production.");
        }
        for (Map.Entry<String, Optional<ReportStore.Entry>> p : latestByProject.entrySet()) {
            if (p.getValue().isEmpty()) {
                shown = false;
                lines.add(p.getKey() + ": no audit yet");
                continue;
            }
            ReportStore.Entry a = p.getValue().get();
            List<String> statuses = a.statuses().entrySet().stream().filter(e -> e.getKey().startsWith("production:")).map(Map.Entry::getValue)
                    .toList();
            long pass = statuses.stream().filter("pass"::equals).count();
            long failed = statuses.stream().filter("fail"::equals).count();
            String which = p.getKey() + ": " + a.scope() + " audit of " + Readable.time(a.started()) + ", " + statuses.size() + " production probe"
                    + (statuses.size() == 1 ? "" : "s") + ": ";
            if (failed > 0) {
                reached = true;
                lines.add(which + failed + " REACHED production");
            } else if (statuses.isEmpty() || pass < statuses.size()) {
                shown = false;
                lines.add(which + pass + " blocked with evidence, " + (statuses.size() - pass) + " inconclusive or could not run");
            } else {
                lines.add(which + "all blocked, each shown by a positive control or the gateway's deny record" + otherFailures(a));
            }
        }
        if (latestByProject.isEmpty()) {
            shown = false;
            lines.add("no project policy was given");
        }
        lines.add("audit log: " + chain.description());
        if (chain.intact().isEmpty() || !chain.intact().get()) {
            shown = false;
        }
        return new ProductionAnswer(reached ? Verdict.YES : shown ? Verdict.NO : Verdict.NOT_SHOWN, List.copyOf(lines));
    }

    /**
     * A "no" beside a failed audit must not read as a clean bill: the same audit's other failures
     * (isolation, not production) are named so the reader goes on to them.
     */
    private static String otherFailures(ReportStore.Entry audit) {
        long other = audit.statuses().entrySet().stream().filter(e -> !e.getKey().startsWith("production:"))
                .filter(e -> "fail".equals(e.getValue()) || "error".equals(e.getValue())).count();
        return other == 0 ? "" : "; the same audit failed " + other + " other probe" + (other == 1 ? "" : "s") + " (not production): see its report below";
    }

    String cssClass() {
        return verdict.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
