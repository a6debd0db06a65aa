package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.k8s.ControlPlane;
import dev.airlock.k8s.ControlPlaneExtension;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Where the audit ingest's certificate comes from and lives, against a real kube-apiserver. */
@ExtendWith(ControlPlaneExtension.class)
class IngestTlsIT {

    private static final URI URL = URI.create("https://airlock-daemon.airlock.svc:7071/v1/audit/records");
    private static final Instant NOW = Instant.parse("2026-12-07T12:00:00Z");

    private static DaemonBackend.AuditIngest ingest(Optional<String> secret) {
        return new DaemonBackend.AuditIngest(new InetSocketAddress("127.0.0.1", 7071), URL, secret);
    }

    @Test
    void load_withoutGivenSecret_makesACaOnce_keepsItAcrossRestarts_andRenewsFromItWhenDue(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        MutableClock clock = new MutableClock(NOW);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        assertThat(k.secrets().inNamespace(ns).withName(IngestTls.OWN_SECRET).get()).isNull();

        IngestTls first = IngestTls.load(k, ns, ingest(Optional.empty()), clock, new PrintStream(log, true));
        Secret stored = k.secrets().inNamespace(ns).withName(IngestTls.OWN_SECRET).get();
        assertThat(stored.getType()).isEqualTo("kubernetes.io/tls");
        assertThat(stored.getData()).containsOnlyKeys("tls.crt", "tls.key", "ca.crt", "ca.key");
        assertThat(stored.getMetadata().getLabels()).containsEntry("app.kubernetes.io/managed-by", "airlock");
        assertThat(first.caPem()).isEqualTo(decode(stored, "ca.crt")).doesNotContain("PRIVATE KEY");
        assertThat(IngestCertificates.covers(first.certificate(), IngestCertificates.namesFor(URL))).isTrue();

        // a restart reads the same CA and certificate: running gateways keep trusting it
        IngestTls again = IngestTls.load(k, ns, ingest(Optional.empty()), clock, new PrintStream(log, true));
        assertThat(again.caPem()).isEqualTo(first.caPem());
        assertThat(again.certificate()).isEqualTo(first.certificate());

        // not due: the hourly check changes nothing
        again.check();
        assertThat(again.certificate()).isEqualTo(first.certificate());
        // 30 days before it expires: renewed from the same CA, stored, and served
        clock.advance(IngestCertificates.SERVER_VALIDITY.minus(Duration.ofDays(30)));
        again.check();
        assertThat(again.certificate()).isNotEqualTo(first.certificate());
        assertThat(again.caPem()).isEqualTo(first.caPem());
        again.certificate().verify(IngestCertificates.certificates(first.caPem(), "ca").get(0).getPublicKey());
        assertThat(decode(k.secrets().inNamespace(ns).withName(IngestTls.OWN_SECRET).get(), "tls.crt"))
                .isEqualTo(IngestCertificates.pem(again.certificate()));
        assertThat(log.toString(StandardCharsets.UTF_8)).contains("made the audit ingest CA").contains("renewed the audit ingest certificate (same CA");
    }

    @Test
    void load_givenSecret_servesItsCertificate_publishesItsCa_andMakesNothing(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        MutableClock clock = new MutableClock(NOW);
        IngestCertificates.Material issued = IngestCertificates.newAuthority(IngestCertificates.namesFor(URL), clock); // as cert-manager's CA Issuer would
        createTls(k, ns, "ingest-tls", IngestCertificates.pem(issued.certificate()), IngestCertificates.pem(issued.key()),
                Optional.of(IngestCertificates.pem(issued.ca())));

        IngestTls tls = IngestTls.load(k, ns, ingest(Optional.of("ingest-tls")), clock, new PrintStream(new ByteArrayOutputStream()));
        assertThat(tls.certificate()).isEqualTo(issued.certificate());
        assertThat(tls.caPem()).isEqualTo(IngestCertificates.pem(issued.ca()));
        assertThat(k.secrets().inNamespace(ns).withName(IngestTls.OWN_SECRET).get()).as("no CA of the daemon's own").isNull();

        // cert-manager renews the Secret: the hourly check serves the new certificate without a restart
        IngestCertificates.Material renewed = IngestCertificates.renewServer(issued.ca(), issued.caKey().orElseThrow(), IngestCertificates.namesFor(URL), clock);
        createTls(k, ns, "ingest-tls", IngestCertificates.pem(renewed.certificate()), IngestCertificates.pem(renewed.key()),
                Optional.of(IngestCertificates.pem(renewed.ca())));
        tls.check();
        assertThat(tls.certificate()).isEqualTo(renewed.certificate());
    }

    @Test
    void load_givenSecretUnusable_saysWhichAndTheFix(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        MutableClock clock = new MutableClock(NOW);
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        assertThatThrownBy(() -> IngestTls.load(k, ns, ingest(Optional.of("missing")), clock, quiet)).isInstanceOf(DaemonException.class)
                .hasMessageStartingWith("Secret " + ns + "/missing (kubernetes.auditTls.secret) does not exist.").hasMessageContaining("Fix:");

        IngestCertificates.Material good = IngestCertificates.newAuthority(IngestCertificates.namesFor(URL), clock);
        createTls(k, ns, "no-ca", IngestCertificates.pem(good.certificate()), IngestCertificates.pem(good.key()), Optional.empty());
        assertThatThrownBy(() -> IngestTls.load(k, ns, ingest(Optional.of("no-ca")), clock, quiet))
                .hasMessageContaining("Secret " + ns + "/no-ca (kubernetes.auditTls.secret): it has no ca.crt")
                .hasMessageContaining("cert-manager writes ca.crt for a CA Issuer");

        IngestCertificates.Material elsewhere = IngestCertificates.newAuthority(List.of("audit.acme.dev"), clock);
        createTls(k, ns, "wrong-name", IngestCertificates.pem(elsewhere.certificate()), IngestCertificates.pem(elsewhere.key()),
                Optional.of(IngestCertificates.pem(elsewhere.ca())));
        assertThatThrownBy(() -> IngestTls.load(k, ns, ingest(Optional.of("wrong-name")), clock, quiet))
                .hasMessageContaining("tls.crt does not name airlock-daemon.airlock.svc, the host gateway pods dial (kubernetes.auditUrl)");

        IngestCertificates.Material otherCa = IngestCertificates.newAuthority(List.of("x.test"), clock);
        createTls(k, ns, "wrong-ca", IngestCertificates.pem(good.certificate()), IngestCertificates.pem(good.key()),
                Optional.of(IngestCertificates.pem(otherCa.ca())));
        assertThatThrownBy(() -> IngestTls.load(k, ns, ingest(Optional.of("wrong-ca")), clock, quiet))
                .hasMessageContaining("tls.crt is not signed by ca.crt, the CA the gateway pods will trust");

        // control: the same certificate with its own CA is accepted
        createTls(k, ns, "right", IngestCertificates.pem(good.certificate()), IngestCertificates.pem(good.key()),
                Optional.of(IngestCertificates.pem(good.ca())));
        assertThat(IngestTls.load(k, ns, ingest(Optional.of("right")), clock, quiet).certificate()).isEqualTo(good.certificate());
    }

    @Test
    void load_ownSecretNameTakenBySomethingElse_isRefusedNotOverwritten(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        k.secrets().inNamespace(ns).resource(new SecretBuilder().withNewMetadata().withName(IngestTls.OWN_SECRET).endMetadata()
                .withStringData(Map.of("note", "someone else's")).build()).create();
        assertThatThrownBy(() -> IngestTls.load(k, ns, ingest(Optional.empty()), new MutableClock(NOW), new PrintStream(new ByteArrayOutputStream())))
                .isInstanceOf(DaemonException.class).hasMessageContaining("exists but Airlock did not make it").hasMessageContaining("Fix: delete it");
        assertThat(k.secrets().inNamespace(ns).withName(IngestTls.OWN_SECRET).get().getData()).containsOnlyKeys("note");
    }

    private static void createTls(KubernetesClient k, String ns, String name, String cert, String key, Optional<String> ca) {
        Map<String, String> data = new LinkedHashMap<>();
        data.put("tls.crt", cert);
        data.put("tls.key", key);
        ca.ifPresent(c -> data.put("ca.crt", c));
        k.secrets().inNamespace(ns).resource(new SecretBuilder().withNewMetadata().withName(name).endMetadata().withType("kubernetes.io/tls")
                .withStringData(data).build()).createOr(io.fabric8.kubernetes.client.dsl.NonDeletingOperation::update);
    }

    private static String decode(Secret s, String key) {
        return new String(Base64.getDecoder().decode(s.getData().get(key)), StandardCharsets.US_ASCII);
    }
}
