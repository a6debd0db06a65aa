package dev.airlock.audit.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.airlock.policy.load.Problem;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Bad manifests are refused with the position of the problem, never read as something else. */
class NetworkPolicyReaderTest {

    private static final String HEAD = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec:\n  podSelector: {}\n";

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "a misspelt egress field        | '  egres: []\n'                                                   | 6:10 | unknown field \"egres\"",
        "a CIDR that is not one          | '  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/33}}]}]\n'            | 6:35 | is not a CIDR",
        "an except outside its CIDR      | '  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/8]}}]}]\n' | 6:56 | is not strictly inside",
        "a port out of range             | '  egress: [{ports: [{port: 70000}]}]\n'                          | 6:28 | not a port number",
        "endPort below port              | '  egress: [{ports: [{port: 443, endPort: 80}]}]\n'               | 6:42 | not a port number",
        "a protocol Kubernetes lacks     | '  egress: [{ports: [{protocol: ICMP}]}]\n'                       | 6:32 | protocol is TCP, UDP or SCTP",
        "a quoted number as port         | '  egress: [{ports: [{port: \"443\"}]}]\n'                        | 6:28 | is quoted",
        "an unknown policy type          | '  policyTypes: [Egres]\n'                                         | 6:17 | policyTypes holds",
    })
    void read_refusesWithPosition(String name, String spec, String where, String message) {
        ManifestException e = catchThrowableOfType(ManifestException.class,
                () -> NetworkPolicyReader.read("np.yaml", HEAD + spec.replace("\\n", "\n")));
        assertThat(e).as(name).isNotNull();
        Problem p = e.problems().get(0);
        assertThat(p.position().line() + ":" + p.position().column()).isEqualTo(where);
        assertThat(p.message()).contains(message);
        assertThat(p.toString()).startsWith("np.yaml:" + where + ": ");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "not YAML                   | 'a: [b'                                                  | not valid YAML",
        "the wrong apiVersion       | 'apiVersion: extensions/v1beta1\nkind: NetworkPolicy\n'  | apiVersion is networking.k8s.io/v1",
        "no kind                    | 'apiVersion: v1\n'                                       | has no kind",
    })
    void read_refusesDocuments(String name, String text, String message) {
        ManifestException e = catchThrowableOfType(ManifestException.class, () -> NetworkPolicyReader.read("np.yaml", text.replace("\\n", "\n")));
        assertThat(e).as(name).isNotNull();
        assertThat(e.problems().get(0).message()).contains(message);
    }

    @org.junit.jupiter.api.Test
    void read_skipsOtherKinds_andReadsListItems() throws Exception {
        NetworkPolicyReader.Result read = NetworkPolicyReader.read("np.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n"
                + "apiVersion: v1\nkind: List\nitems:\n- " + HEAD.replace("\n", "\n  ").strip() + "\n");
        var policies = read.policies();
        assertThat(policies).singleElement().satisfies(p -> {
            assertThat(p.qualifiedName()).isEqualTo("default/p");
            assertThat(p.affectsEgress()).isFalse();
        });
        assertThat(read.skippedDocuments()).isEqualTo(1);
    }
}
