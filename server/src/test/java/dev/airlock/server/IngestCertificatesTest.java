package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.security.GeneralSecurityException;
import java.security.KeyPairGenerator;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The audit ingest's own CA and server certificate: what a gateway's TLS stack will check. */
class IngestCertificatesTest {

    private static final Instant NOW = Instant.parse("2026-12-07T12:00:00Z");
    private static final URI SERVICE_URL = URI.create("https://airlock-daemon.airlock.svc:7071/v1/audit/records");

    @Test
    void namesFor_serviceName_isEveryFormAPodMayDial() {
        assertThat(IngestCertificates.namesFor(SERVICE_URL)).containsExactly("airlock-daemon.airlock.svc",
                "airlock-daemon.airlock.svc.cluster.local", "airlock-daemon.airlock", "airlock-daemon");
        assertThat(IngestCertificates.namesFor(URI.create("https://airlock-daemon.airlock.svc.cluster.local:7071/x"))).containsExactly(
                "airlock-daemon.airlock.svc.cluster.local", "airlock-daemon.airlock.svc", "airlock-daemon.airlock", "airlock-daemon");
    }

    @Test
    void namesFor_otherHostOrAddress_isThatHostAlone() {
        assertThat(IngestCertificates.namesFor(URI.create("https://audit.acme.dev/v1/audit/records"))).containsExactly("audit.acme.dev");
        assertThat(IngestCertificates.namesFor(URI.create("https://127.0.0.1:7071/v1/audit/records"))).containsExactly("127.0.0.1");
        assertThat(IngestCertificates.namesFor(URI.create("https://[::1]:7071/v1/audit/records"))).containsExactly("::1");
    }

    @Test
    void newAuthority_serverCertificate_namesTheIngestChainsToTheCaAndServesOnlyAsServer() throws Exception {
        IngestCertificates.Material m = IngestCertificates.newAuthority(IngestCertificates.namesFor(SERVICE_URL), new MutableClock(NOW));
        X509Certificate leaf = m.certificate();

        assertThat(leaf.getSubjectAlternativeNames()).extracting(san -> san.get(0) + "=" + san.get(1)).containsExactly(
                "2=airlock-daemon.airlock.svc", "2=airlock-daemon.airlock.svc.cluster.local", "2=airlock-daemon.airlock", "2=airlock-daemon");
        assertThat(leaf.getBasicConstraints()).as("not a CA").isEqualTo(-1);
        // keyUsage bits: digitalSignature(0) only; an ECDSA key never enciphers, and it cannot sign certificates
        assertThat(leaf.getKeyUsage()).containsExactly(true, false, false, false, false, false, false, false, false);
        assertThat(leaf.getCriticalExtensionOIDs()).contains("2.5.29.15", "2.5.29.19");
        assertThat(leaf.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1"); // serverAuth
        assertThat(leaf.getNotBefore().toInstant()).isEqualTo(NOW.minus(Duration.ofMinutes(5)));
        assertThat(leaf.getNotAfter().toInstant()).isEqualTo(NOW.plus(IngestCertificates.SERVER_VALIDITY));
        assertThat(leaf.getPublicKey().getAlgorithm()).isEqualTo("EC");
        assertThat(leaf.getIssuerX500Principal()).isEqualTo(m.ca().getSubjectX500Principal());

        // the path a gateway builds: this CA as its only anchor, at a moment inside the validity
        PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(m.ca(), null)));
        params.setRevocationEnabled(false);
        params.setDate(Date.from(NOW.plus(Duration.ofDays(200))));
        CertPathValidator.getInstance("PKIX").validate(CertificateFactory.getInstance("X.509").generateCertPath(List.of(leaf)), params);
    }

    @Test
    void newAuthority_ca_signsCertificatesOnlyAndLastsTenYears() throws Exception {
        IngestCertificates.Material m = IngestCertificates.newAuthority(List.of("127.0.0.1"), new MutableClock(NOW));
        X509Certificate ca = m.ca();
        assertThat(ca.getBasicConstraints()).as("a CA, no intermediates below it").isZero();
        // keyCertSign(5) and cRLSign(6)
        assertThat(ca.getKeyUsage()).containsExactly(false, false, false, false, false, true, true, false, false);
        assertThat(ca.getNotAfter().toInstant()).isEqualTo(NOW.plus(IngestCertificates.CA_VALIDITY));
        assertThat(m.caKey()).isPresent();
        ca.verify(ca.getPublicKey());
        // an address is an IP SAN (type 7), which is what a client dialling the address matches
        assertThat(m.certificate().getSubjectAlternativeNames()).extracting(san -> san.get(0) + "=" + san.get(1)).containsExactly("7=127.0.0.1");
    }

    @Test
    void renewServer_keepsTheCa_andNeverOutlivesIt() throws Exception {
        MutableClock clock = new MutableClock(NOW);
        IngestCertificates.Material first = IngestCertificates.newAuthority(List.of("a.test"), clock);
        clock.advance(Duration.ofDays(3400)); // 250 days before the CA expires
        IngestCertificates.Material renewed = IngestCertificates.renewServer(first.ca(), first.caKey().orElseThrow(), List.of("a.test"), clock);
        assertThat(renewed.ca()).isEqualTo(first.ca());
        assertThat(renewed.certificate().getSerialNumber()).isNotEqualTo(first.certificate().getSerialNumber());
        assertThat(renewed.certificate().getNotAfter()).isEqualTo(first.ca().getNotAfter());
        renewed.certificate().verify(first.ca().getPublicKey());
    }

    @Test
    void dueForRenewal_withinThirtyDaysOfExpiry() throws Exception {
        MutableClock clock = new MutableClock(NOW);
        X509Certificate leaf = IngestCertificates.newAuthority(List.of("a.test"), clock).certificate();
        assertThat(IngestCertificates.dueForRenewal(leaf, clock)).isFalse();
        clock.advance(IngestCertificates.SERVER_VALIDITY.minus(Duration.ofDays(31)));
        assertThat(IngestCertificates.dueForRenewal(leaf, clock)).as("31 days left").isFalse();
        clock.advance(Duration.ofDays(1));
        assertThat(IngestCertificates.dueForRenewal(leaf, clock)).as("30 days left").isTrue();
    }

    @Test
    void covers_everyNameOrNot() throws Exception {
        X509Certificate leaf = IngestCertificates.newAuthority(List.of("a.test", "127.0.0.1"), new MutableClock(NOW)).certificate();
        assertThat(IngestCertificates.covers(leaf, List.of("a.test", "127.0.0.1"))).isTrue();
        assertThat(IngestCertificates.covers(leaf, List.of("A.TEST"))).isTrue();
        assertThat(IngestCertificates.covers(leaf, List.of("b.test"))).isFalse();
        assertThat(IngestCertificates.covers(leaf, List.of("a.test", "127.0.0.2"))).isFalse();
    }

    @Test
    void pem_roundTripsCertificatesAndKeys_inTheFormsCertManagerAndOpensslWrite() throws Exception {
        IngestCertificates.Material m = IngestCertificates.newAuthority(List.of("a.test"), new MutableClock(NOW));
        String pem = IngestCertificates.pem(m.certificate(), m.ca());
        assertThat(IngestCertificates.certificates(pem, "tls.crt")).containsExactly(m.certificate(), m.ca());
        String keyPem = IngestCertificates.pem(m.key());
        assertThat(keyPem).startsWith("-----BEGIN PRIVATE KEY-----"); // PKCS#8: the curve travels with the key
        assertThat(IngestCertificates.privateKey(keyPem, "tls.key")).isEqualTo(m.key());
        // SEC 1, as cert-manager (and openssl ecparam -genkey) write an ECDSA key: a throwaway key made for this test
        String sec1 = """
                -----BEGIN EC PRIVATE KEY-----
                MHcCAQEEIMbSTvNniA9DrpB1/4LUgOTQzDeGtQTcNh9qF29JrjoKoAoGCCqGSM49
                AwEHoUQDQgAEUh3PzbwSSNCGvs355iXbXRPqcolYkdDn4KFOQgxlHJkJSRZADDwV
                5Ho4x/xTUSFMQyFmB3oe1QDV/hZYpXdT4A==
                -----END EC PRIVATE KEY-----
                """;
        assertThat(IngestCertificates.privateKey(sec1, "tls.key").getAlgorithm()).isEqualTo("EC");

        var rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(2048);
        var pair = rsa.generateKeyPair();
        String pkcs8 = "-----BEGIN PRIVATE KEY-----\n" + java.util.Base64.getMimeEncoder().encodeToString(pair.getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n";
        assertThat(IngestCertificates.privateKey(pkcs8, "tls.key").getEncoded()).isEqualTo(pair.getPrivate().getEncoded());
    }

    @Test
    void pem_notPem_isAnErrorNamingTheField() {
        assertThatThrownBy(() -> IngestCertificates.certificates("hello", "Secret s key tls.crt")).isInstanceOf(GeneralSecurityException.class)
                .hasMessageContaining("Secret s key tls.crt");
        assertThatThrownBy(() -> IngestCertificates.privateKey("hello", "Secret s key tls.key")).isInstanceOf(GeneralSecurityException.class)
                .hasMessageStartingWith("Secret s key tls.key is not an unencrypted PEM private key");
    }
}
