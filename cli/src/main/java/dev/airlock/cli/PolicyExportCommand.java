package dev.airlock.cli;

import dev.airlock.audit.export.ExportFormat;
import dev.airlock.audit.export.ExportSettings;
import dev.airlock.audit.export.PolicyExport;
import dev.airlock.audit.k8s.PodLabels;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "export",
        mixinStandardHelpOptions = true,
        description = {
            "Print the policy as enforcement configuration:",
            "  nftables  the rules Airlock applies to every sandbox (an example sandbox; see the header)",
            "  k8s       NetworkPolicies: agent pods may reach only the egress gateway; the gateway never production CIDRs",
            "  cilium    a CiliumNetworkPolicy: toFQDNs allows, production and denied CIDRs in egressDeny",
            "What each form enforces and cannot enforce: docs/exports.md."
        },
        footer = {"", "Examples:",
            "  airlock policy export --format nftables --policy examples/airlock.yaml",
            "  airlock policy export --format k8s --policy examples/airlock.yaml --org examples/org.yaml --namespace agents | kubectl apply -f -",
            "", "Exit codes: 0 printed; 1 invalid policy or option."})
final class PolicyExportCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--format", required = true, paramLabel = "FORMAT", description = "nftables, k8s or cilium.")
    String format;

    @Option(names = "--policy", paramLabel = "FILE", defaultValue = "airlock.yaml", description = "Project policy (default: ./airlock.yaml).")
    Path policy;

    @Option(names = "--org", paramLabel = "FILE",
            description = "Organisation policy (default: $AIRLOCK_ORG, then /etc/airlock/org.yaml if it exists).")
    Path org;

    @Option(names = "--namespace", paramLabel = "NS", defaultValue = ExportSettings.DEFAULT_NAMESPACE,
            description = "k8s, cilium: namespace of the agent pods (default: ${DEFAULT-VALUE}).")
    String namespace;

    @Option(names = "--pods", paramLabel = "K=V[,K=V]", defaultValue = ExportSettings.DEFAULT_PODS,
            description = "k8s, cilium: labels of the agent pods (default: ${DEFAULT-VALUE}).")
    String pods;

    @Option(names = "--gateway-namespace", paramLabel = "NS", description = "k8s: namespace of the gateway pods (default: --namespace).")
    String gatewayNamespace;

    @Option(names = "--gateway-pods", paramLabel = "K=V[,K=V]", defaultValue = ExportSettings.DEFAULT_GATEWAY_PODS,
            description = "k8s: labels of the egress gateway pods (default: ${DEFAULT-VALUE}).")
    String gatewayPods;

    @Option(names = "--proxy-port", paramLabel = "PORT", defaultValue = "" + ExportSettings.DEFAULT_PROXY_PORT,
            description = "k8s: the gateway's explicit proxy port (default: ${DEFAULT-VALUE}).")
    int proxyPort;

    @Option(names = "--transparent-port", paramLabel = "PORT", defaultValue = "" + ExportSettings.DEFAULT_TRANSPARENT_PORT,
            description = "nftables, k8s: the gateway's transparent listener port (default: ${DEFAULT-VALUE}).")
    int transparentPort;

    @Option(names = "--dns-port", paramLabel = "PORT",
            description = "nftables, k8s: the gateway's DNS port (default: 15053 for nftables, the host responder; 53 for k8s).")
    Integer dnsPort;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ExportFormat f;
        ExportSettings settings;
        try {
            f = ExportFormat.parse(format);
            ExportSettings d = ExportSettings.defaults(f);
            settings = new ExportSettings(namespace, PodLabels.parse(pods), gatewayNamespace == null ? namespace : gatewayNamespace,
                    PodLabels.parse(gatewayPods), proxyPort, transparentPort, dnsPort == null ? d.dnsPort() : dnsPort);
        } catch (IllegalArgumentException e) {
            err.println("airlock: " + e.getMessage());
            return ExitCodes.BAD_INPUT;
        }
        try {
            ProjectPolicy project = PolicyFiles.loadProject(policy);
            Optional<Path> orgPath = PolicySources.orgPath(org);
            OrgPolicy orgPolicy = PolicyFiles.loadOrg(orgPath);
            out.print(PolicyExport.render(f, project, orgPolicy, settings));
            out.flush();
            return ExitCodes.OK;
        } catch (PolicyException e) {
            PolicyCheckCommand.print(err, e.problems());
            return ExitCodes.BAD_INPUT;
        }
    }
}
