package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sandbox's one CA bundle (issue 19 §1): the host's system bundle, then the policy's CAs. */
class CaBundleTest {

    private static final String CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    private static final String OTHER = "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n";

    @TempDir
    Path dir;

    @Test
    void compose_systemBundleThenEachExtraCa_eachOnItsOwnLines() {
        String bundle = CaBundle.compose("# system\n" + CA.replace("MIIB", "SYS").stripTrailing(), new TrustBundle(List.of(CA, OTHER)));

        assertThat(bundle).isEqualTo("# system\n" + CA.replace("MIIB", "SYS") + CA + OTHER);
    }

    @Test
    void compose_noExtraCas_isTheSystemBundleAsItIs() {
        assertThat(CaBundle.compose(CA, TrustBundle.SYSTEM)).isEqualTo(CA);
        assertThat(CaBundle.compose("", TrustBundle.SYSTEM)).isEmpty();
    }

    @Test
    void systemBundle_firstThatExists_orEmptyWhenNoneDoes() throws Exception {
        Path second = Files.writeString(dir.resolve("ca-bundle.crt"), CA);

        assertThat(CaBundle.systemBundle(List.of(dir.resolve("missing.crt"), second))).isEqualTo(CA);
        assertThat(CaBundle.systemBundle(List.of(dir.resolve("missing.crt")))).isEmpty();
    }

    @Test
    void trustBundle_textThatIsNotAPemCertificate_isRefused() {
        assertThatThrownBy(() -> new TrustBundle(List.of("-----BEGIN PRIVATE KEY-----\nx\n"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("PEM certificate");
    }

    @Test
    void environment_pointsEveryCommonToolAtTheBundle() {
        assertThat(CaBundle.ENVIRONMENT).containsOnlyKeys("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT", "NODE_EXTRA_CA_CERTS",
                "GIT_SSL_CAINFO", "CURL_CA_BUNDLE", "NPM_CONFIG_CAFILE").allSatisfy((k, v) -> assertThat(v)
                        .isEqualTo("/etc/ssl/certs/ca-certificates.crt"));
    }
}
