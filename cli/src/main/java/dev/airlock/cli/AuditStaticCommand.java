package dev.airlock.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.airlock.audit.k8s.ManifestException;
import dev.airlock.audit.k8s.NetworkPolicyReader;
import dev.airlock.audit.k8s.PodLabels;
import dev.airlock.audit.k8s.StaticCheck;
import dev.airlock.audit.k8s.StaticReportFormat;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "static",
        mixinStandardHelpOptions = true,
        description = {
            "Read Kubernetes NetworkPolicy manifests and decide, with Kubernetes' semantics, whether pods with",
            "the given labels could reach any production CIDR of the organisation policy. Each reachable range",
            "is reported with the policy, file and rule that opens it, and the ports. Port 53 open to any",
            "address is reported as a DNS exfiltration channel (a warning). Production names cannot be checked:",
            "a NetworkPolicy matches addresses only."
        },
        footer = {"", "Example:",
            "  airlock audit static --k8s deploy/netpol --pods app=agent --namespace agents --org examples/org.yaml",
            "", "Exit codes: 0 no production CIDR reachable; 1 some production CIDR reachable, or invalid input",
            "(each problem as file:line:col on stderr; nothing on stdout)."})
final class AuditStaticCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--k8s", required = true, paramLabel = "DIR", description = "Directory of NetworkPolicy YAML files (searched recursively).")
    Path dir;

    @Option(names = "--pods", required = true, paramLabel = "K=V[,K=V]", description = "The labels of the pods to check.")
    String pods;

    @Option(names = "--namespace", paramLabel = "NS", defaultValue = "default", description = "The pods' namespace (default: ${DEFAULT-VALUE}).")
    String namespace;

    @Option(names = "--org", paramLabel = "FILE",
            description = "Organisation policy with the production set (default: $AIRLOCK_ORG, then /etc/airlock/org.yaml if it exists).")
    Path org;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        PodLabels labels;
        try {
            labels = PodLabels.parse(pods);
        } catch (IllegalArgumentException e) {
            err.println("airlock: --pods: " + e.getMessage());
            return ExitCodes.BAD_INPUT;
        }
        Optional<Path> orgPath = PolicySources.orgPath(org);
        if (orgPath.isEmpty()) {
            err.println("airlock: no organisation policy: the production set comes from it. Fix: pass --org FILE or set AIRLOCK_ORG.");
            return ExitCodes.BAD_INPUT;
        }
        OrgPolicy orgPolicy;
        NetworkPolicyReader.Result read;
        try {
            orgPolicy = PolicyFiles.loadOrg(orgPath.get());
            read = NetworkPolicyReader.readDirectory(dir);
        } catch (PolicyException e) {
            PolicyCheckCommand.print(err, e.problems());
            return ExitCodes.BAD_INPUT;
        } catch (ManifestException e) {
            PolicyCheckCommand.print(err, e.problems());
            err.println("airlock: " + dir + ": invalid NetworkPolicy manifests (" + e.problems().size() + " problems); nothing was checked");
            return ExitCodes.BAD_INPUT;
        }
        StaticCheck.Report report = StaticCheck.check(read.policies(), labels, namespace, orgPolicy.production());
        if (json) {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(StaticReportFormat.json(report)));
        } else {
            out.print(StaticReportFormat.human(report));
        }
        out.flush();
        return report.productionReachable() ? ExitCodes.BAD_INPUT : ExitCodes.OK;
    }
}
