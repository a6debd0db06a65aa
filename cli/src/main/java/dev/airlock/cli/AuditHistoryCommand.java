package dev.airlock.cli;

import dev.airlock.audit.report.HistoryJson;
import dev.airlock.audit.report.ReportStore;
import dev.airlock.audit.report.ReportText;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "history",
        mixinStandardHelpOptions = true,
        description = {"List the kept audit reports, oldest first, and what changed from each to the next",
            "(probes whose status changed, policy and org-policy hash changes)."},
        footer = {"", "Exit codes: 0; 1 the audits directory cannot be read."})
final class AuditHistoryCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "JSON for scripts.")
    boolean json;

    @Override
    public Integer call() {
        ReportStore store = new ReportStore(StateDirectory.root());
        List<String> problems = new ArrayList<>();
        List<ReportStore.Entry> entries;
        try {
            entries = store.list(problems);
        } catch (IOException e) {
            spec.commandLine().getErr().println("airlock: cannot read " + store.root() + ": " + e.getMessage());
            return ExitCodes.BAD_INPUT;
        }
        problems.forEach(p -> spec.commandLine().getErr().println("airlock: " + p));
        spec.commandLine().getOut().print(json ? HistoryJson.render(entries) : ReportText.history(entries));
        spec.commandLine().getOut().flush();
        return ExitCodes.OK;
    }
}
