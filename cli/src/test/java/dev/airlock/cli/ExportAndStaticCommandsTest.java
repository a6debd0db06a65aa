package dev.airlock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code airlock policy export} and {@code airlock audit static}: output, exit codes, errors with positions. */
class ExportAndStaticCommandsTest {

    private static final Path EXAMPLES = Path.of("..", "examples");
    private static final String POLICY = EXAMPLES.resolve("airlock.yaml").toString();
    private static final String ORG = EXAMPLES.resolve("org.yaml").toString();

    @TempDir
    Path dir;

    private Path write(String name, String text) throws IOException {
        Path p = dir.resolve(name);
        Files.createDirectories(p.getParent());
        Files.writeString(p, text);
        return p;
    }

    @ParameterizedTest
    @ValueSource(strings = {"nftables", "k8s", "cilium"})
    void policyExport_printsTheFormatAndExitsZero(String format) {
        Cli r = Cli.run("policy", "export", "--format", format, "--policy", POLICY, "--org", ORG);
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).startsWith("# Airlock ");
        assertThat(r.err()).isEmpty();
    }

    @Test
    void policyExport_k8sTakesPodsNamespaceAndPorts() {
        Cli r = Cli.run("policy", "export", "--format", "k8s", "--policy", POLICY, "--org", ORG, "--namespace", "agents",
                "--pods", "app=coder,team=ml", "--gateway-namespace", "airlock", "--proxy-port", "8080");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("namespace: agents").contains("team: ml").contains("kubernetes.io/metadata.name: airlock")
                .contains("port: 8080");
    }

    @Test
    void policyExport_invalidPolicy_exitsOneWithPosition() throws IOException {
        Path bad = write("airlock.yaml", "version: 1\nproject: x\nnetwork:\n  allow: [\"*\"]\n");
        Cli r = Cli.run("policy", "export", "--format", "k8s", "--policy", bad.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).contains(bad + ":4:");
    }

    @Test
    void policyExport_unknownFormatOrBadLabels_exitOne() {
        Cli format = Cli.run("policy", "export", "--format", "iptables", "--policy", POLICY);
        Cli labels = Cli.run("policy", "export", "--format", "k8s", "--policy", POLICY, "--pods", "app");
        assertThat(format.code()).isEqualTo(1);
        assertThat(format.err()).contains("use nftables, k8s or cilium");
        assertThat(labels.code()).isEqualTo(1);
        assertThat(labels.err()).contains("is not key=value");
    }

    private static final String OPEN_HALF = """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: web, namespace: agents}
            spec:
              podSelector: {matchLabels: {app: agent}}
              policyTypes: [Egress]
              egress:
                - to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.20.0.0/17]}}]
                  ports: [{port: 443}]
            """;

    @Test
    void auditStatic_reachableProduction_exitsOneAndNamesPolicyRuleAndRange() throws IOException {
        write("np/web.yaml", OPEN_HALF);
        Cli r = Cli.run("audit", "static", "--k8s", dir.resolve("np").toString(), "--pods", "app=agent", "--namespace", "agents", "--org", ORG);
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).contains("REACHABLE  production 10.20.0.0/16").contains("ranges 10.20.128.0/17").contains("ports  TCP 443")
                .contains("NetworkPolicy agents/web egress[0] at " + dir.resolve("np/web.yaml") + ":8:7");
    }

    @Test
    void auditStatic_isolatedPods_exitZero_json() throws Exception {
        write("np/web.yaml", OPEN_HALF.replace("10.20.0.0/17", "10.20.0.0/16"));
        Cli r = Cli.run("audit", "static", "--k8s", dir.resolve("np").toString(), "--pods", "app=agent", "--namespace", "agents", "--org", ORG,
                "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.get("productionReachable").asBoolean()).isFalse();
        assertThat(j.get("isolated").asBoolean()).isTrue();
        assertThat(j.get("uncheckedProductionNames")).hasSize(2);
    }

    @Test
    void auditStatic_theK8sExport_leavesAgentsNoProduction() throws IOException {
        Cli export = Cli.run("policy", "export", "--format", "k8s", "--policy", POLICY, "--org", ORG);
        write("np/airlock.yaml", export.out());
        Cli agents = Cli.run("audit", "static", "--k8s", dir.resolve("np").toString(), "--pods", "app=airlock-agent", "--org", ORG);
        Cli others = Cli.run("audit", "static", "--k8s", dir.resolve("np").toString(), "--pods", "app=web", "--org", ORG);
        assertThat(agents.code()).as(agents.out()).isZero();
        assertThat(others.code()).isEqualTo(1); // positive control: unselected pods are open
    }

    @Test
    void auditStatic_invalidManifest_exitsOneWithPositionAndPrintsNoVerdict() throws IOException {
        write("np/bad.yaml", OPEN_HALF.replace("port: 443", "port: 70000"));
        Cli r = Cli.run("audit", "static", "--k8s", dir.resolve("np").toString(), "--pods", "app=agent", "--org", ORG);
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).contains(dir.resolve("np/bad.yaml") + ":9:").contains("not a port number");
    }

    @Test
    void auditStatic_withoutOrgPolicy_exitsOneWithFix() throws IOException {
        write("np/web.yaml", OPEN_HALF);
        Cli r = Cli.run("audit", "static", "--k8s", dir.resolve("np").toString(), "--pods", "app=agent", "--org", dir.resolve("none.yaml").toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("none.yaml");
    }
}
