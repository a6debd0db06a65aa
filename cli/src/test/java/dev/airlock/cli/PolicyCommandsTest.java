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
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The command-line contract of DESIGN.md §2 for {@code policy check} and {@code policy explain}.
 * Resolution always goes through a hosts map written by the test: never the system DNS.
 */
class PolicyCommandsTest {

    private static final Path EXAMPLES = Path.of("..", "examples");
    private static final String POLICY = EXAMPLES.resolve("airlock.yaml").toString();
    private static final String ORG = EXAMPLES.resolve("org.yaml").toString();
    private static final String HOSTS = EXAMPLES.resolve("hosts").toString();

    @TempDir
    Path dir;

    private Path write(String name, String text) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    @Test
    void version_printsAirlockAndJava() {
        Cli r = Cli.run("--version");
        assertThat(r.code()).isZero();
        assertThat(r.out()).startsWith("airlock ").contains("Java ");
    }

    @Test
    void version_namesThePackageTheInstalledLauncherPassed() {
        assertThat(AirlockCommand.Version.lines("0.1.0-SNAPSHOT", "Debian package 0.1.0~SNAPSHOT")[0])
                .isEqualTo("airlock 0.1.0-SNAPSHOT (Debian package 0.1.0~SNAPSHOT)");
        assertThat(AirlockCommand.Version.lines("0.1.0-SNAPSHOT", null)[0]).isEqualTo("airlock 0.1.0-SNAPSHOT");
    }

    @Test
    void help_listsPolicyCommands() {
        Cli r = Cli.run("--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("policy").contains("Exit codes");
        assertThat(Cli.run("policy", "--help").out()).contains("check").contains("explain");
    }

    @Test
    void check_validExamples_exitZero() {
        Cli r = Cli.run("policy", "check", "--org", ORG, POLICY, ORG);
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("valid project policy \"payments\"").contains("valid organisation policy");
    }

    /** Issue 19 §1: a trust: entry that is not a CA certificate is refused at its line, with the fix. */
    @Test
    void check_trustEntryThatIsNotACaCertificate_exitOneAtItsLineWithTheFix() throws IOException {
        write("not-a-cert.pem", "hello\n");
        Path bad = write("airlock.yaml", "version: 1\nproject: demo\ntrust:\n  - not-a-cert.pem\n");

        Cli r = Cli.run("policy", "check", bad.toString());

        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err() + r.out()).contains(bad + ":4:5: not-a-cert.pem is not a PEM certificate",
                "openssl x509 -inform DER -in not-a-cert.pem -out ca.pem");
    }

    @Test
    void check_invalidFile_reportsEveryProblemWithFileLineColumn() throws IOException {
        Path bad = write("airlock.yaml", """
                version: 1
                project: demo
                network:
                  alow: [github.com]
                  allow:
                    - "*.com"
                    - host: api.example.com
                      ports: [0443]
                """);
        Cli r = Cli.run("policy", "check", bad.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err())
                .contains(bad + ":4:3: unknown key 'alow' in network; fix: did you mean 'allow'?")
                .contains(bad + ":6:7: \"*.com\" would match every name under the public suffix \"com\"")
                .contains(bad + ":8:15: invalid port \"0443\"; fix: write the port without leading zeros: 443")
                .contains("invalid (3 problems)");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void check_missingFile_saysHowToFix() {
        Cli r = Cli.run("policy", "check", dir.resolve("nope.yaml").toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("nope.yaml: does not exist; fix: check the path");
    }

    @Test
    void check_allowSwallowedByProduction_isAnErrorNamingBothRules() throws IOException {
        Path org = write("org.yaml", "version: 1\nproduction:\n  - \"*.prod.acme.dev\"\n");
        Path p = write("airlock.yaml", "version: 1\nproject: demo\nnetwork:\n  allow:\n    - db.prod.acme.dev\n");
        Cli r = Cli.run("policy", "check", "--org", org.toString(), p.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains(p + ":5:7: error:").contains("db.prod.acme.dev").contains("*.prod.acme.dev")
                .contains(org + ":3:5");
    }

    @ParameterizedTest(name = "{0} → exit {1}, {2}")
    @CsvSource({
        "github.com,                    0, allowed",
        "GitHub.COM.,                   0, allowed",
        "ssh.github.com:22,             0, allowed",
        "https://raw.githubusercontent.com/x, 0, allowed",
        "198.18.7.5:5432,               0, allowed",
        "api.acme.com,                  3, production",
        "evilgithub.com,                3, no-rule",
        "github.com.evil.net,           3, no-rule",
        "staging.acme.dev:22,           3, port-not-allowed",
        "sneaky.githubusercontent.com,  3, protected-address",
        "metadata.githubusercontent.com, 3, protected-address",
        "127.1,                         3, ip-literal",
        "0x7f.0.0.1,                    3, ip-literal",
        "[::1]:443,                     3, protected-address",
        "127.0.0.1:8099,                3, protected-address",
        "169.254.169.254:80,            3, protected-address",
        "x.internal.acme.dev,           3, deny-rule",
    })
    void explain_exitCodeAndReason(String target, int code, String reason) {
        Cli r = Cli.run("policy", "explain", "--policy", POLICY, "--org", ORG, "--hosts", HOSTS, target);
        assertThat(r.code()).as(r.out() + r.err()).isEqualTo(code);
        assertThat(r.out()).contains("reason     " + reason);
    }

    @Test
    void explain_production_neverSuggestsAllowing() {
        Cli r = Cli.run("policy", "explain", "--policy", POLICY, "--org", ORG, "--hosts", HOSTS, "https://api.acme.com/charge");
        assertThat(r.code()).isEqualTo(3);
        assertThat(r.out()).contains("DENY  api.acme.com:443").contains("cannot be allowed: it is in the organisation's production set")
                .doesNotContain("- api.acme.com").doesNotContain("network.allow");
    }

    @Test
    void explain_noRule_printsTheYamlThatWouldAllowIt() {
        Cli r = Cli.run("policy", "explain", "--policy", POLICY, "--org", ORG, "--hosts", HOSTS, "docs.acme.dev:8080");
        assertThat(r.code()).isEqualTo(3);
        assertThat(r.out()).contains("add under network.allow in " + POLICY).contains("- docs.acme.dev:8080");
    }

    @Test
    void explain_json_isOneObjectForScripts() throws IOException {
        Cli r = Cli.run("policy", "explain", "--json", "--policy", POLICY, "--org", ORG, "--hosts", HOSTS, "github.com");
        assertThat(r.code()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.get("decision").asText()).isEqualTo("allow");
        assertThat(j.get("reason").asText()).isEqualTo("allowed");
        assertThat(j.get("addresses").get(0).asText()).isEqualTo("198.18.0.10");
        assertThat(j.get("rule").get("source").asText()).startsWith("preset github");
        assertThat(j.get("rule").get("line").asInt()).isEqualTo(7);
    }

    @Test
    void explain_json_loopback_suggestsNoRule() throws IOException {
        Cli r = Cli.run("policy", "explain", "--json", "--policy", POLICY, "--org", ORG, "--hosts", HOSTS, "127.0.0.1:8099");
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.get("reason").asText()).isEqualTo("protected-address");
        assertThat(j.get("suggestion").asText()).startsWith("cannot be allowed").doesNotContain("cidr:");
        assertThat(j.get("advice").toString()).contains("NO_PROXY");
    }

    /** Issue 18 (1): the old advice for a server the agent started was "- cidr: 127.0.0.1/32", which opened the host's loopback. */
    @Test
    void explain_loopback_advisesNoProxyAndNeverACidr() {
        Cli r = Cli.run("policy", "explain", "--policy", POLICY, "--org", ORG, "--hosts", HOSTS, "127.0.0.1:8099");
        assertThat(r.code()).isEqualTo(3);
        assertThat(r.out()).contains("reason     protected-address").contains("cannot be allowed").contains("NO_PROXY")
                .doesNotContain("cidr:").doesNotContain("network.allow");
    }

    @Test
    void explain_metadata_saysNever() {
        Cli r = Cli.run("policy", "explain", "--policy", POLICY, "--org", ORG, "--hosts", HOSTS, "169.254.169.254:80");
        assertThat(r.out()).contains("a cloud metadata service").contains("never").doesNotContain("cidr:");
    }

    /** Issue 15 §2: the host's own address is closed, even inside a project cidr (examples allow 198.18.7.0/24 on 5432). */
    @Test
    void explain_hostAddress_isHostAddressEvenInsideAProjectCidr() {
        Cli open = Cli.run("policy", "explain", "--policy", POLICY, "--org", ORG, "--hosts", HOSTS, "--host-addresses", "none",
                "198.18.7.5:5432");
        assertThat(open.code()).as("positive control: not a host address, the project cidr opens it").isZero();
        Cli r = Cli.run("policy", "explain", "--policy", POLICY, "--org", ORG, "--hosts", HOSTS, "--host-addresses", "198.18.7.5",
                "198.18.7.5:5432");
        assertThat(r.code()).isEqualTo(3);
        assertThat(r.out()).contains("reason     host-address").contains("this is the host's own address")
                .contains("exceptions:").doesNotContain("cidr: 198.18.7.5");
    }

    /** Issue 18 (b): another name answering with a production name's address is denied as production, naming the entry. */
    @Test
    void explain_aNameSharingAProductionAddress_isProduction() throws IOException {
        Path org = write("org.yaml", "version: 1\nproduction:\n  - api.acme.com\n");
        Path p = write("airlock.yaml", "version: 1\nproject: demo\nnetwork:\n  allow:\n    - cdn.example.test\n    - cidr: 198.18.0.0/24\n");
        Path hosts = write("hosts", "198.18.0.40 cdn.example.test api.acme.com\n198.18.0.41 other.example.test\n");
        Cli viaName = Cli.run("policy", "explain", "--policy", p.toString(), "--org", org.toString(), "--hosts", hosts.toString(),
                "cdn.example.test");
        assertThat(viaName.code()).isEqualTo(3);
        assertThat(viaName.out()).contains("reason     production").contains("production name api.acme.com").contains(org + ":3:5");
        Cli viaIp = Cli.run("policy", "explain", "--policy", p.toString(), "--org", org.toString(), "--hosts", hosts.toString(),
                "198.18.0.40:443");
        assertThat(viaIp.code()).isEqualTo(3);
        assertThat(viaIp.out()).contains("reason     production").doesNotContain("cidr: 198.18.0.40");
        Cli control = Cli.run("policy", "explain", "--policy", p.toString(), "--org", org.toString(), "--hosts", hosts.toString(),
                "198.18.0.41:443");
        assertThat(control.code()).as("positive control: the project cidr opens the address next to it").isZero();
    }

    /** Issue 18 (a): policy check refuses old advice followed, naming where and the org lines to add. */
    @Test
    void check_loopbackCidr_isRefusedWithTheOrgFix() throws IOException {
        Path p = write("airlock.yaml", "version: 1\nproject: web\nnetwork:\n  allow:\n    - cidr: 127.0.0.1/32\n      ports: [8099]\n");
        Cli r = Cli.run("policy", "check", p.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains(p + ":5:13: error: cidr 127.0.0.1/32 is loopback")
                .contains("exceptions: [{project: web, cidr: 127.0.0.1/32, ports: [8099]}]");
        Path org = write("org.yaml", "version: 1\nexceptions:\n  - {project: web, cidr: 127.0.0.1/32, ports: [8099]}\n");
        assertThat(Cli.run("policy", "check", "--org", org.toString(), p.toString()).code())
                .as("the organisation's exception makes it valid").isZero();
    }

    @Test
    void check_cidrOverAProductionAddress_warnsWithHosts() throws IOException {
        Path org = write("org.yaml", "version: 1\nproduction:\n  - api.acme.com\n");
        Path p = write("airlock.yaml", "version: 1\nproject: web\nnetwork:\n  allow:\n    - cidr: 198.18.0.0/24\n");
        Path hosts = write("hosts", "198.18.0.40 api.acme.com\n");
        Cli r = Cli.run("policy", "check", "--org", org.toString(), "--hosts", hosts.toString(), p.toString());
        assertThat(r.code()).isZero();
        assertThat(r.err()).contains("warning: cidr 198.18.0.0/24 covers 198.18.0.40, an address of the production name api.acme.com");
    }

    @Test
    void explain_badTarget_exitOne() {
        Cli r = Cli.run("policy", "explain", "--policy", POLICY, "--hosts", HOSTS, "github.com:https");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("invalid target").contains("invalid port");
    }

    @Test
    void explain_invalidPolicy_exitOneWithPosition() throws IOException {
        Path p = write("airlock.yaml", "version: 1\nproject: demo\nnetwork:\n  allow: [\"*\"]\n");
        Cli r = Cli.run("policy", "explain", "--policy", p.toString(), "--hosts", HOSTS, "github.com");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains(p + ":4:11: \"*\" would match every host");
    }

    @Test
    void explain_overlapWithProduction_warnsNamingBothRules() throws IOException {
        Path org = write("org.yaml", "version: 1\nproduction:\n  - api.acme.com\n");
        Path p = write("airlock.yaml", "version: 1\nproject: demo\nnetwork:\n  allow:\n    - \"*.acme.com\"\n");
        Path hosts = write("hosts", "198.18.0.41 docs.acme.com\n198.18.0.40 api.acme.com\n");
        Cli r = Cli.run("policy", "explain", "--policy", p.toString(), "--org", org.toString(), "--hosts", hosts.toString(),
                "docs.acme.com");
        assertThat(r.code()).isZero();
        assertThat(r.err()).contains("warning:").contains("*.acme.com").contains("api.acme.com").contains(org + ":3:5");
        Cli prod = Cli.run("policy", "explain", "--policy", p.toString(), "--org", org.toString(), "--hosts", hosts.toString(),
                "api.acme.com");
        assertThat(prod.code()).isEqualTo(3);
    }

    @Test
    void explain_productionSwallowsAllow_isAnError() throws IOException {
        Path org = write("org.yaml", "version: 1\nproduction:\n  - cidr: 10.20.0.0/16\n");
        Path p = write("airlock.yaml", "version: 1\nproject: demo\nnetwork:\n  allow:\n    - cidr: 10.20.5.0/24\n      ports: [5432]\n");
        Cli r = Cli.run("policy", "explain", "--policy", p.toString(), "--org", org.toString(), "--hosts", HOSTS, "10.20.5.1:5432");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("error:").contains("10.20.5.0/24").contains("10.20.0.0/16").contains("can never take effect");
    }

    @Test
    void explain_unknownHostInHostsMap_isDnsFailure() throws IOException {
        Path p = write("airlock.yaml", "version: 1\nproject: demo\nnetwork:\n  allow: [nowhere.example.dev]\n");
        Cli r = Cli.run("policy", "explain", "--policy", p.toString(), "--hosts", HOSTS, "nowhere.example.dev");
        assertThat(r.code()).isEqualTo(3);
        assertThat(r.out()).contains("dns-failure");
    }
}
