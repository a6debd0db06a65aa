package dev.airlock.cli;

import dev.airlock.audit.battery.AuditException;
import dev.airlock.audit.battery.Battery;
import dev.airlock.audit.report.Audits;
import dev.airlock.audit.report.Format;
import dev.airlock.audit.report.ReportText;
import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "audit",
        mixinStandardHelpOptions = true,
        subcommands = {AuditHistoryCommand.class, AuditStaticCommand.class},
        description = {
            "Run the adversarial battery inside a real sandbox (root): production entries by name and",
            "address, cloud metadata and protected ranges, host services, other sandboxes, proxy bypass,",
            "rogue DNS and DNS exfiltration, odd IP literals, SNI mismatch, unlisted ports, UDP/QUIC, ICMP,",
            "IPv6, route/nftables tampering, new namespaces, other projects' files; and every allowed",
            "entry for reachability. Reports are kept under $AIRLOCK_STATE/audits/. See docs/audit.md."
        },
        footer = {"", "Examples (as root):", "  ./airlock audit --policy airlock.yaml --org org.yaml --report ./audit-report",
            "  ./airlock audit history",
            "", "Exit codes: 0 every probe passed (or an allowed entry is not reachable here); 1 a probe failed",
            "or could not run; 125 Airlock error (not root, invalid policy, no sandbox)."})
final class AuditCommand implements Callable<Integer> {

    /** DESIGN.md §2: a probe failed or could not run. */
    static final int FAILED = 1;

    @Spec
    CommandSpec spec;

    @Mixin
    PolicySources sources;

    @Option(names = "--report", paramLabel = "DIR", description = "Also write the reports to DIR.")
    Path report;

    @Option(names = "--format", paramLabel = "LIST", defaultValue = "json,html,md",
            description = "Report formats, comma-separated: json, html, md (default: all three).")
    String format;

    @Option(names = "--quick", description = "Only the quick subset a warm-pool claim runs (a few seconds).")
    boolean quick;

    @Override
    public Integer call() {
        Set<Format> formats;
        try {
            formats = Format.parse(format);
        } catch (IllegalArgumentException e) {
            spec.commandLine().getErr().println("airlock: --format: " + e.getMessage());
            return ExitCodes.BAD_INPUT;
        }
        PrintStream err = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
        Audits audits = new Audits(StateDirectory.root(), AirlockCommand.version(), err);
        try {
            Audits.Done done = audits.run(sources.policy, PolicySources.orgPath(sources.org), Optional.ofNullable(sources.hosts),
                    quick ? Battery.Scope.QUICK : Battery.Scope.FULL, formats, Optional.ofNullable(report));
            spec.commandLine().getOut().print(ReportText.summary(done.run(), done.dir(), Optional.ofNullable(report)));
            spec.commandLine().getOut().flush();
            return done.passed() ? ExitCodes.OK : FAILED;
        } catch (AuditException e) {
            spec.commandLine().getErr().println("airlock: " + e.getMessage());
            return ExitCodes.AIRLOCK_ERROR;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            spec.commandLine().getErr().println("airlock: interrupted");
            return ExitCodes.AIRLOCK_ERROR;
        }
    }
}
