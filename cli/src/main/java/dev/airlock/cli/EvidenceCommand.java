package dev.airlock.cli;

import dev.airlock.audit.evidence.EvidenceBundle;
import dev.airlock.audit.evidence.PolicyExports;
import dev.airlock.policy.load.PolicyException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "evidence",
        mixinStandardHelpOptions = true,
        description = {
            "Build the auditor's bundle: DIR/index.html and its files, and DIR.zip next to DIR. Per project:",
            "the devbox configuration, its isolation boundaries and nftables as the latest audit saw them,",
            "the network rules; pool metrics over a window (from the daemon's database); the latest audit",
            "reports; the audit log's hash-chain verification. Missing data is stated, never left blank."
        },
        footer = {"", "Example (as root):", "  ./airlock evidence --out evidence-2026q4 --policy airlock.yaml --org /etc/airlock/org.yaml",
            "", "Exit codes: 0 built; 1 invalid policy or option; 125 the bundle could not be written."})
final class EvidenceCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--out", paramLabel = "DIR", required = true, description = "Directory to write (DIR.zip is written next to it).")
    Path out;

    @Option(names = "--policy", paramLabel = "FILE", arity = "1..*", defaultValue = "airlock.yaml",
            description = "Project policies (default: ./airlock.yaml); repeat or list several.")
    List<Path> policies = new ArrayList<>();

    @Option(names = "--org", paramLabel = "FILE",
            description = "Organisation policy (default: $AIRLOCK_ORG, then /etc/airlock/org.yaml if it exists).")
    Path org;

    @Option(names = "--window", paramLabel = "DAYS", defaultValue = "30", description = "Days of pool metrics (default: 30).")
    int windowDays;

    @Override
    public Integer call() {
        if (windowDays < 1) {
            spec.commandLine().getErr().println("airlock: --window must be at least 1 day");
            return ExitCodes.BAD_INPUT;
        }
        try {
            EvidenceBundle.Result r = EvidenceBundle.build(new EvidenceBundle.Input(policies, PolicySources.orgPath(org),
                    StateDirectory.root(), Duration.ofDays(windowDays), AirlockCommand.version(), PolicyExports.all()), out, Instant.now());
            spec.commandLine().getOut().println("evidence: " + r.dir().resolve("index.html") + " and " + r.zip());
            r.gaps().forEach(g -> spec.commandLine().getOut().println("  stated gap: " + g));
            return ExitCodes.OK;
        } catch (PolicyException e) {
            e.problems().forEach(spec.commandLine().getErr()::println);
            return ExitCodes.BAD_INPUT;
        } catch (IOException e) {
            spec.commandLine().getErr().println("airlock: cannot write the evidence bundle " + out + ": " + e.getMessage());
            return ExitCodes.AIRLOCK_ERROR;
        }
    }
}
