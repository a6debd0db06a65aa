package dev.airlock.audit.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.audit.k8s.StaticCheck.ByRule;
import dev.airlock.audit.k8s.StaticCheck.Finding;
import dev.airlock.audit.k8s.StaticCheck.Report;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * NetworkPolicy cases with known answers, for pods {@code app=agent} in namespace {@code agents},
 * against production 10.20.0.0/16 and 2001:db8:20::/48 (every port). Each row is the policy set
 * and the production sub-ranges it leaves reachable, as {@code production -> range}.
 */
class StaticCheckTest {

    private static final String ORG = """
            version: 1
            production:
              - api.acme.com
              - cidr: 10.20.0.0/16
              - cidr: 2001:db8:20::/48
            """;

    static Report check(String org, String manifests) throws Exception {
        OrgPolicy o = PolicyFiles.parseOrg("org.yaml", org);
        List<NetworkPolicy> policies = NetworkPolicyReader.read("np.yaml", manifests).policies();
        return StaticCheck.check(policies, PodLabels.parse("app=agent,tier=dev"), "agents", o.production());
    }

    private static String policy(String name, String spec) {
        return "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: " + name + ", namespace: agents}\nspec:\n"
                + spec.indent(2);
    }

    private static final String SELECT = "podSelector: {matchLabels: {app: agent}}\n";
    private static final String ALL_V4 = "10.20.0.0/16 -> 10.20.0.0/16";
    private static final String ALL_V6 = "2001:db8:20::/48 -> 2001:db8:20::/48";

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("no policy at all: egress is open", "", List.of(ALL_V4, ALL_V6)),
                Arguments.of("a policy for other pods only: still open",
                        policy("other", "podSelector: {matchLabels: {app: web}}\npolicyTypes: [Egress]\n"), List.of(ALL_V4, ALL_V6)),
                Arguments.of("a policy in another namespace: still open",
                        policy("x", SELECT + "policyTypes: [Egress]\n").replace("namespace: agents", "namespace: prod"), List.of(ALL_V4, ALL_V6)),
                Arguments.of("deny-all egress (policyTypes Egress, no rules)", policy("deny", "podSelector: {}\npolicyTypes: [Egress]\n"), List.of()),
                Arguments.of("policyTypes Ingress only: its egress rules do not apply, egress is open",
                        policy("ing", SELECT + "policyTypes: [Ingress]\negress: [{to: [{ipBlock: {cidr: 8.8.8.8/32}}]}]\n"), List.of(ALL_V4, ALL_V6)),
                Arguments.of("no policyTypes but egress rules: the policy isolates egress",
                        policy("dns", SELECT + "egress: [{to: [{ipBlock: {cidr: 8.8.8.8/32}}]}]\n"), List.of()),
                Arguments.of("no policyTypes and egress: [] is Ingress only: open",
                        policy("empty", SELECT + "egress: []\n"), List.of(ALL_V4, ALL_V6)),
                Arguments.of("allow 0.0.0.0/0 except production: nothing reachable (no IPv6 allowed)",
                        policy("web", SELECT + "policyTypes: [Egress]\negress: [{to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.20.0.0/16]}}]}]\n"),
                        List.of()),
                Arguments.of("an except that misses half of production leaves that half",
                        policy("web", SELECT + "policyTypes: [Egress]\negress: [{to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.20.0.0/17]}}]}]\n"),
                        List.of("10.20.0.0/16 -> 10.20.128.0/17")),
                Arguments.of("an except inside production leaves the rest of production",
                        policy("web", SELECT + "policyTypes: [Egress]\negress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.20.0.0/24]}}]}]\n"),
                        List.of("10.20.0.0/16 -> 10.20.1.0/24, 10.20.2.0/23, 10.20.4.0/22, 10.20.8.0/21, 10.20.16.0/20, 10.20.32.0/19, 10.20.64.0/18, 10.20.128.0/17")),
                Arguments.of("two policies are a union: deny-all plus one allow opens that allow",
                        policy("deny", "podSelector: {}\npolicyTypes: [Egress]\n")
                                + policy("db", SELECT + "policyTypes: [Egress]\negress: [{to: [{ipBlock: {cidr: 10.20.5.0/24}}], ports: [{port: 5432}]}]\n"),
                        List.of("10.20.0.0/16 -> 10.20.5.0/24")),
                Arguments.of("namespaceSelector and podSelector peers are cluster pods, not production",
                        policy("ns", SELECT + "policyTypes: [Egress]\negress: [{to: [{namespaceSelector: {}}, {podSelector: {matchLabels: {app: db}}}]}]\n"),
                        List.of()),
                Arguments.of("an egress rule without to reaches every address",
                        policy("any", SELECT + "policyTypes: [Egress]\negress: [{ports: [{port: 443}]}]\n"), List.of(ALL_V4, ALL_V6)),
                Arguments.of("to: [] is every address too", policy("any", SELECT + "policyTypes: [Egress]\negress: [{to: []}]\n"),
                        List.of(ALL_V4, ALL_V6)),
                Arguments.of("IPv6: ::/0 except half of the production /48",
                        policy("v6", SELECT + "policyTypes: [Egress]\negress: [{to: [{ipBlock: {cidr: '::/0', except: ['2001:db8:20::/49']}}]}]\n"),
                        List.of("2001:db8:20::/48 -> 2001:db8:20:8000::/49")),
                Arguments.of("matchExpressions NotIn selects the pod: its deny-all applies",
                        policy("expr", "podSelector: {matchExpressions: [{key: tier, operator: NotIn, values: [prod]}]}\npolicyTypes: [Egress]\n"),
                        List.of()),
                Arguments.of("matchExpressions In a value the pod lacks: not selected, open",
                        policy("expr", "podSelector: {matchExpressions: [{key: tier, operator: In, values: [prod]}]}\npolicyTypes: [Egress]\n"),
                        List.of(ALL_V4, ALL_V6)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void check_reportsExactlyTheReachableProductionRanges(String name, String manifests, List<String> expected) throws Exception {
        Report r = check(ORG, manifests);
        List<String> got = r.findings().stream()
                .map(f -> f.production().describe() + " -> " + String.join(", ", f.reachable().stream().map(Object::toString).toList()))
                .sorted().toList();
        assertThat(got).containsExactlyElementsOf(expected.stream().sorted().toList());
        assertThat(r.productionReachable()).isEqualTo(!expected.isEmpty());
        assertThat(r.uncheckedProduction()).extracting(x -> x.describe()).containsExactly("api.acme.com");
    }

    @Test
    void check_portRestrictedAllow_reportsOnlyItsPorts() throws Exception {
        Report r = check(ORG, policy("p", SELECT + "policyTypes: [Egress]\negress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}}], ports: [{port: 443}]}]\n"));
        assertThat(r.findings()).singleElement().satisfies(f -> assertThat(f.ports()).containsExactly("TCP 443"));
    }

    @Test
    void check_endPortRange_isReportedAsARange() throws Exception {
        Report r = check(ORG, policy("p", SELECT
                + "policyTypes: [Egress]\negress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}}], ports: [{protocol: TCP, port: 8000, endPort: 9000}]}]\n"));
        assertThat(r.findings()).singleElement().satisfies(f -> assertThat(f.ports()).containsExactly("TCP 8000-9000"));
    }

    @Test
    void check_noPorts_isEveryPortOfEveryProtocol() throws Exception {
        Report r = check(ORG, policy("p", SELECT + "policyTypes: [Egress]\negress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}}]}]\n"));
        assertThat(r.findings()).singleElement()
                .satisfies(f -> assertThat(f.ports()).containsExactly("TCP every port", "UDP every port", "SCTP every port"));
    }

    @Test
    void check_namedPort_isTreatedAsEveryPortOfItsProtocol() throws Exception {
        Report r = check(ORG, policy("p", SELECT + "policyTypes: [Egress]\negress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}}], ports: [{port: https}]}]\n"));
        assertThat(r.findings()).singleElement()
                .satisfies(f -> assertThat(f.ports()).containsExactly("TCP named port \"https\" (treated as every TCP port)"));
    }

    @Test
    void check_findingNamesThePolicyFileAndRuleIndex() throws Exception {
        Report r = check(ORG, policy("web", SELECT + "policyTypes: [Egress]\negress:\n- to: [{ipBlock: {cidr: 8.8.8.8/32}}]\n"
                + "- to: [{ipBlock: {cidr: 10.20.3.0/24}}]\n  ports: [{protocol: UDP, port: 53}]\n"));
        Finding f = r.findings().get(0);
        ByRule by = (ByRule) f.cause();
        assertThat(by.policy().qualifiedName()).isEqualTo("agents/web");
        assertThat(by.policy().file()).isEqualTo("np.yaml");
        assertThat(by.rule().index()).isEqualTo(1);
        assertThat(by.rule().position().line()).isEqualTo(10);
        assertThat(f.ports()).containsExactly("UDP 53");
    }

    @Test
    void check_dnsToAnyAddress_isAWarning_butDnsToOneResolverIsNot() throws Exception {
        Report any = check(ORG, policy("dns", SELECT + "policyTypes: [Egress]\negress: [{ports: [{protocol: UDP, port: 53}]}]\n"));
        Report one = check(ORG, policy("dns", SELECT + "policyTypes: [Egress]\negress: [{to: [{ipBlock: {cidr: 8.8.8.8/32}}], ports: [{protocol: UDP, port: 53}]}]\n"));
        assertThat(any.dnsWarnings()).singleElement().satisfies(w -> assertThat(w.ports()).containsExactly("UDP 53"));
        assertThat(one.dnsWarnings()).isEmpty();
        assertThat(one.findings()).isEmpty();
    }
}
