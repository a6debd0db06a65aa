package dev.airlock.audit.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.airlock.audit.k8s.NetworkPolicyReader;
import dev.airlock.audit.k8s.PodLabels;
import dev.airlock.audit.k8s.StaticCheck;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.sandbox.GatewayPorts;
import dev.airlock.sandbox.NetworkRules;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class PolicyExportTest {

    static final Path EXAMPLES = Path.of("..", "examples");

    static ProjectPolicy project() throws PolicyException {
        return PolicyFiles.loadProject(EXAMPLES.resolve("airlock.yaml"));
    }

    static OrgPolicy org() throws PolicyException {
        return PolicyFiles.loadOrg(EXAMPLES.resolve("org.yaml"));
    }

    static String export(ExportFormat f) throws PolicyException {
        return PolicyExport.render(f, project(), org(), ExportSettings.defaults(f));
    }

    static List<JsonNode> documents(String yaml) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        try (MappingIterator<JsonNode> it = new YAMLMapper().readerFor(JsonNode.class).readValues(yaml)) {
            while (it.hasNext()) {
                out.add(it.next());
            }
        }
        return out;
    }

    @Test
    void nftables_isExactlyWhatTheLauncherRendersForTheExampleSandbox() throws Exception {
        String out = export(ExportFormat.NFTABLES);
        NetworkRules rules = NetworkRules.example(new GatewayPorts(ExportSettings.DEFAULT_TRANSPARENT_PORT, ExportSettings.DEFAULT_HOST_DNS_PORT));

        String host = out.substring(out.indexOf(NftablesExport.HOST_MARK) + NftablesExport.HOST_MARK.length() + 1, out.indexOf("\n# ---- sandbox"));
        String sandbox = out.substring(out.indexOf('\n', out.indexOf("# ---- sandbox")) + 1);
        assertThat(host).isEqualTo(rules.hostRuleset());
        assertThat(sandbox).isEqualTo(rules.sandboxRuleset());
        assertThat(out).contains("# Example values: sandbox alk00000000 on the first link of the default range 100.96.0.0/16")
                .contains("#   ip rule add fwmark 0x414c0000 lookup 1095499776 pref 100");
    }

    @ParameterizedTest
    @EnumSource(ExportFormat.class)
    void render_isDeterministic(ExportFormat f) throws Exception {
        assertThat(export(f)).isEqualTo(export(f));
    }

    @Test
    void k8s_agentsCanReachOnlyTheGateway_asTheStaticCheckSees() throws Exception {
        String out = export(ExportFormat.K8S);
        var policies = NetworkPolicyReader.read("export.yaml", out).policies();
        StaticCheck.Report agents = StaticCheck.check(policies, PodLabels.parse("app=airlock-agent"), "default", org().production());
        StaticCheck.Report gateway = StaticCheck.check(policies, PodLabels.parse("app=airlock-gateway"), "default", org().production());
        // Positive control: pods the export does not select are open, and production is reachable for them.
        StaticCheck.Report other = StaticCheck.check(policies, PodLabels.parse("app=web"), "default", org().production());

        assertThat(agents.isolated()).isTrue();
        assertThat(agents.findings()).isEmpty();
        assertThat(agents.dnsWarnings()).isEmpty();
        assertThat(gateway.isolated()).isTrue();
        assertThat(gateway.findings()).isEmpty();
        assertThat(other.productionReachable()).isTrue();
    }

    @Test
    void k8s_namesThePodsAndPortsAsConfigured() throws Exception {
        ExportSettings s = new ExportSettings("agents", PodLabels.parse("team=ml,app=agent"), "airlock", PodLabels.parse("app=gw"),
                8080, 15001, 53);
        List<JsonNode> docs = documents(PolicyExport.render(ExportFormat.K8S, project(), org(), s));
        assertThat(docs).hasSize(2);
        JsonNode agents = docs.get(0);
        assertThat(agents.at("/metadata/name").asText()).isEqualTo("airlock-payments-agents");
        assertThat(agents.at("/metadata/namespace").asText()).isEqualTo("agents");
        assertThat(agents.at("/spec/podSelector/matchLabels").toString()).isEqualTo("{\"app\":\"agent\",\"team\":\"ml\"}");
        assertThat(agents.at("/spec/egress/0/to/0/namespaceSelector/matchLabels/kubernetes.io~1metadata.name").asText()).isEqualTo("airlock");
        assertThat(agents.at("/spec/egress/0/ports").toString())
                .isEqualTo("[{\"protocol\":\"TCP\",\"port\":8080},{\"protocol\":\"TCP\",\"port\":15001},{\"protocol\":\"UDP\",\"port\":53},"
                        + "{\"protocol\":\"TCP\",\"port\":53}]");
        assertThat(docs.get(1).at("/spec/egress/0/to/0/ipBlock/except").toString()).isEqualTo("[\"10.20.0.0/16\",\"203.0.113.0/24\"]");
    }

    @Test
    void cilium_allowsNamesAndCidrsAndDeniesProduction() throws Exception {
        String out = export(ExportFormat.CILIUM);
        JsonNode doc = documents(out).get(0);
        assertThat(doc.at("/spec/egressDeny/0/toCIDRSet").toString())
                .isEqualTo("[{\"cidr\":\"10.20.0.0/16\"},{\"cidr\":\"203.0.113.0/24\"},{\"cidr\":\"2001:db8:20::/48\"}]");
        assertThat(doc.at("/spec/egress/0/toEndpoints/0/matchLabels/k8s:k8s-app").asText()).isEqualTo("kube-dns");
        assertThat(doc.at("/spec/egress/0/toPorts/0/rules/dns").toString()).contains("{\"matchPattern\":\"*.githubusercontent.com\"}")
                .contains("{\"matchName\":\"staging.acme.dev\"}");
        assertThat(out).contains("toFQDNs").contains("matchPattern: '*.githubusercontent.com'")
                .contains("NOT enforceable here: Cilium cannot deny by name").contains("production api.acme.com");
        String staging = doc.at("/spec/egress").toString();
        assertThat(staging).contains("{\"toFQDNs\":[{\"matchName\":\"staging.acme.dev\"}],\"toPorts\":[{\"ports\":[{\"port\":\"443\",\"protocol\":\"TCP\"},"
                + "{\"port\":\"8443\",\"protocol\":\"TCP\"}]}]}");
        assertThat(staging).contains("{\"toCIDRSet\":[{\"cidr\":\"198.18.7.0/24\"}],\"toPorts\":[{\"ports\":[{\"port\":\"5432\",\"protocol\":\"TCP\"}]}]}");
    }

    @Test
    void cilium_withNoAllows_deniesAllEgress() throws Exception {
        ProjectPolicy p = PolicyFiles.parseProject("airlock.yaml", "version: 1\nproject: empty\n");
        JsonNode doc = documents(PolicyExport.render(ExportFormat.CILIUM, p, OrgPolicy.NONE, ExportSettings.defaults(ExportFormat.CILIUM))).get(0);
        assertThat(doc.at("/spec/egress").toString()).isEqualTo("[{}]");
    }

    @Test
    void names_areRfc1123Labels() {
        assertThat(K8sNames.label("airlock-Pay_ments.v2-")).isEqualTo("airlock-pay-ments-v2");
        assertThat(K8sNames.label("a".repeat(70))).hasSize(63);
        assertThat(K8sNames.isLabel(K8sNames.label("--x--"))).isTrue();
    }

    @Test
    void render_refusesAnUnknownPreset() throws Exception {
        ProjectPolicy p = PolicyFiles.parseProject("airlock.yaml", "version: 1\nproject: x\nnetwork:\n  presets: [nope]\n");
        assertThatThrownBy(() -> PolicyExport.render(ExportFormat.K8S, p, OrgPolicy.NONE, ExportSettings.defaults(ExportFormat.K8S)))
                .isInstanceOf(PolicyException.class).hasMessageContaining("airlock.yaml:4:");
    }

    @ParameterizedTest
    @EnumSource(ExportFormat.class)
    void render_namesTheImageAndTheDigestTheFilesDetermine_andNothingWithoutImage(ExportFormat f) throws Exception {
        String pin = "sha256:" + "ab".repeat(32);
        assertThat(export(f)).doesNotContain("Devbox image");
        ProjectPolicy pinned = PolicyFiles.parseProject("a.yaml", "version: 1\nproject: p\nimage: {ref: \"registry.acme.dev/team/devbox@" + pin + "\"}\n");
        assertThat(PolicyExport.render(f, pinned, org(), ExportSettings.defaults(f)))
                .startsWith("# Devbox image: ref registry.acme.dev/team/devbox@" + pin + ", manifest " + pin + "\n");
        ProjectPolicy tag = PolicyFiles.parseProject("a.yaml", "version: 1\nproject: p\nimage: {ref: \"registry.acme.dev/team/devbox:1\"}\n");
        assertThat(PolicyExport.render(f, tag, org(), ExportSettings.defaults(f)))
                .startsWith("# Devbox image: ref registry.acme.dev/team/devbox:1, manifest digest resolved at run time");
    }
}
