package dev.airlock.policy.load;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.policy.model.TrustedCa;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code trust:} in airlock.yaml and the organisation policy (issue 19 §1): PEM files relative to
 * the policy file, each refused at the item's {@code file:line:col} with the fix unless it holds
 * CA certificates in force, and what a sandbox gets is only those certificates. The fixtures were
 * made with openssl: {@code ca.pem} (CA:TRUE, valid from 2026-12-07 for a century), {@code leaf.pem}
 * (CA:FALSE, signed by it), {@code ca.der} (the CA in DER).
 */
class TrustFilesTest {

    private static final Path FIXTURES = Path.of("src", "test", "resources", "trust");
    private static final Clock NOW = Clock.fixed(Instant.parse("2027-06-01T00:00:00Z"), ZoneOffset.UTC);

    @TempDir
    Path dir;

    @BeforeEach
    void copyFixtures() throws Exception {
        Files.createDirectories(dir.resolve("certs"));
        for (String f : List.of("ca.pem", "leaf.pem", "ca.der", "ca-with-text.pem")) {
            Files.copy(FIXTURES.resolve(f), dir.resolve("certs").resolve(f));
        }
    }

    private ProjectPolicy project(String trustItem, Clock clock) throws PolicyException {
        Path file = dir.resolve("airlock.yaml");
        return PolicyFiles.parseProject(file.toString(), "version: 1\nproject: demo\ntrust:\n  - " + trustItem + "\n", clock);
    }

    private List<Problem> refused(String trustItem, Clock clock) {
        try {
            project(trustItem, clock);
        } catch (PolicyException e) {
            return e.problems();
        }
        throw new AssertionError("expected the loader to refuse trust item " + trustItem);
    }

    @Test
    void parseProject_caRelativeToThePolicyFile_isTrustedAsItsCertificateOnly() throws Exception {
        ProjectPolicy p = project("certs/ca.pem", NOW);

        assertThat(p.trust()).hasSize(1);
        TrustedCa ca = p.trust().get(0);
        assertThat(ca.file()).isEqualTo(dir.resolve("certs/ca.pem").toString());
        assertThat(ca.subject()).isEqualTo("CN=Airlock Test Root CA");
        assertThat(ca.position().line()).isEqualTo(4);
        assertThat(ca.pem()).startsWith("-----BEGIN CERTIFICATE-----\n").endsWith("-----END CERTIFICATE-----\n");
        assertThat(ca.pem().replaceAll("\\s", "")).isEqualTo(Files.readString(dir.resolve("certs/ca.pem")).replaceAll("\\s", ""));
    }

    @Test
    void parseProject_textAroundThePemBlock_isDroppedFromWhatTheSandboxGets() throws Exception {
        TrustedCa ca = project("certs/ca-with-text.pem", NOW).trust().get(0);

        assertThat(ca.pem()).doesNotContain("subject=", "notBefore");
        assertThat(ca.pem().replaceAll("\\s", "")).isEqualTo(Files.readString(dir.resolve("certs/ca.pem")).replaceAll("\\s", ""));
    }

    @Test
    void parseProject_leafCertificate_isRefusedAtItsLineNamingTheIssuerToListInstead() {
        List<Problem> problems = refused("certs/leaf.pem", NOW);

        assertThat(problems).hasSize(1);
        assertThat(problems.get(0).toString())
                .startsWith(dir.resolve("airlock.yaml") + ":4:5: certs/leaf.pem holds \"CN=git.acme.test\", which is not a CA certificate")
                .contains("fix: list the certificate of the CA that signed it (issuer \"CN=Airlock Test Root CA\")");
    }

    @Test
    void parseProject_expiredCa_isRefusedWithTheDate() {
        Clock later = Clock.fixed(Instant.parse("2130-01-01T00:00:00Z"), ZoneOffset.UTC);

        assertThat(refused("certs/ca.pem", later)).singleElement().asString()
                .contains(":4:5: certs/ca.pem: CA \"CN=Airlock Test Root CA\" expired on 2126-", "fix: get its renewed certificate");
    }

    @Test
    void parseProject_caNotYetValid_isRefusedPointingAtTheClock() {
        Clock earlier = Clock.fixed(Instant.parse("2020-01-01T00:00:00Z"), ZoneOffset.UTC);

        assertThat(refused("certs/ca.pem", earlier)).singleElement().asString().contains("is not valid before 2026-", "check this machine's clock");
    }

    @Test
    void parseProject_derFile_isRefusedWithTheConversionCommand() {
        assertThat(refused("certs/ca.der", NOW)).singleElement().asString()
                .contains(":4:5: certs/ca.der is not a PEM certificate", "openssl x509 -inform DER -in certs/ca.der -out ca.pem");
    }

    @Test
    void parseProject_fileWithAPrivateKey_isRefusedSoTheKeyNeverReachesASandbox() throws Exception {
        Files.writeString(dir.resolve("certs/ca-and-key.pem"), Files.readString(dir.resolve("certs/ca.pem"))
                + "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n");

        assertThat(refused("certs/ca-and-key.pem", NOW)).singleElement().asString()
                .contains(":4:5: certs/ca-and-key.pem holds a private key", "never its key");
    }

    @Test
    void parseProject_missingFile_saysWhereItLookedAndWhatPathsAreRelativeTo() {
        assertThat(refused("certs/nope.pem", NOW)).singleElement().asString()
                .contains(":4:5: certs/nope.pem does not exist (looked for " + dir.resolve("certs/nope.pem") + ")",
                        "relative to the policy file's directory");
    }

    @Test
    void parseProject_corruptPemBlock_isRefused() throws Exception {
        Files.writeString(dir.resolve("certs/bad.pem"), "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n");

        assertThat(refused("certs/bad.pem", NOW)).singleElement().asString().contains(":4:5: certs/bad.pem is not a valid PEM certificate");
    }

    @Test
    void parseProject_trustItemThatIsNotAPath_isRefused() {
        assertThat(refused("{ file: certs/ca.pem }", NOW)).singleElement().asString().contains("trust items are paths of PEM files");
    }

    @Test
    void parseOrg_companyCa_isTrustedAndEveryBadEntryReportedAtOnce() throws Exception {
        Path org = dir.resolve("org.yaml");
        OrgPolicy ok = PolicyFiles.parseOrg(org.toString(), "version: 1\ntrust: [certs/ca.pem]\n", NOW);
        assertThat(ok.trust()).extracting(TrustedCa::subject).containsExactly("CN=Airlock Test Root CA");

        try {
            PolicyFiles.parseOrg(org.toString(), "version: 1\ntrust:\n  - certs/leaf.pem\n  - certs/ca.der\n", NOW);
            throw new AssertionError("expected a refusal");
        } catch (PolicyException e) {
            assertThat(e.problems()).extracting(p -> p.position().line()).containsExactly(3, 4);
        }
    }

    @Test
    void parseProject_noTrust_trustsNothingExtra() throws Exception {
        assertThat(PolicyFiles.parseProject("airlock.yaml", "version: 1\nproject: demo\n").trust()).isEmpty();
        assertThat(OrgPolicy.NONE.trust()).isEmpty();
    }
}
