package dev.airlock.k8s;

import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import java.util.Optional;

/** One project and organisation policy, as text and parsed, and the manifests built from them. */
final class Fixtures {

    static final String PROJECT_YAML = """
            version: 1
            project: payments
            network:
              allow:
                - github.com
                - cidr: 198.18.7.0/24
                  ports: [5432]
              deny:
                - cidr: 198.18.9.0/24
            """;
    static final String ORG_YAML = """
            version: 1
            production:
              - api.acme.example
              - cidr: 198.19.20.0/24
            """;
    static final String PRODUCTION_CIDR = "198.19.20.0/24";

    private Fixtures() {
    }

    static ProjectPolicy project(String text) throws PolicyException {
        return PolicyFiles.parseProject("airlock.yaml", text);
    }

    static OrgPolicy org() throws PolicyException {
        return PolicyFiles.parseOrg("org.yaml", ORG_YAML);
    }

    static ClusterSettings settings(String namespace) {
        return new ClusterSettings(namespace, "registry.test/airlock:0.1.0", "registry.test/devbox:1");
    }

    /** The daemon's ingest endpoint as the gateway pods reach it, in the settings that forward. */
    static final String AUDIT_URL = "https://airlock-daemon.airlock.svc:7071/v1/audit/records";
    static final String AUDIT_TOKEN = "ab".repeat(32);
    /** The CA certificate the gateway pods trust for the ingest (made in memory; its key is never used here). */
    static final String AUDIT_CA_PEM = caPem();

    /** Settings whose gateway pods forward their audit records to the daemon on port 7071. */
    static ClusterSettings forwarding(String namespace) {
        return new ClusterSettings(namespace, "registry.test/airlock:0.1.0", "registry.test/devbox:1", Optional.empty(),
                Optional.of(new ClusterSettings.AuditForward(java.net.URI.create(AUDIT_URL), 7071, AUDIT_CA_PEM)));
    }

    private static String caPem() {
        try {
            java.security.cert.X509Certificate ca = new io.netty.pkitesting.CertificateBuilder().subject("CN=Airlock test ingest CA")
                    .setIsCertificateAuthority(true).ecp256().buildSelfSigned().getCertificate();
            return "-----BEGIN CERTIFICATE-----\n" + java.util.Base64.getMimeEncoder(64, "\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII))
                    .encodeToString(ca.getEncoded()) + "\n-----END CERTIFICATE-----\n";
        } catch (Exception e) {
            throw new IllegalStateException("making the test CA", e);
        }
    }

    static ProjectManifests forwardingManifests(String namespace) throws PolicyException {
        return ProjectManifests.of(project(PROJECT_YAML), org(), PROJECT_YAML, Optional.of(ORG_YAML), forwarding(namespace), Optional.of(AUDIT_TOKEN));
    }

    static ProjectManifests manifests(String namespace) throws PolicyException {
        return manifests(namespace, PROJECT_YAML);
    }

    static ProjectManifests manifests(String namespace, String projectYaml) throws PolicyException {
        return ProjectManifests.of(project(projectYaml), org(), projectYaml, Optional.of(ORG_YAML), settings(namespace));
    }
}
