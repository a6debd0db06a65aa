package dev.airlock.server;

import dev.airlock.k8s.ProjectNames;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.PrintStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * The audit ingest's TLS identity, kept in a Secret so a restarted daemon presents the same CA.
 *
 * <p>Design. Either the operator names a {@code kubernetes.io/tls} Secret ({@code
 * kubernetes.auditTls.secret}, as cert-manager writes it: {@code tls.crt}, {@code tls.key},
 * {@code ca.crt}), which the daemon only reads, again every hour, so a renewal by cert-manager is
 * served without a restart; or the daemon makes a CA and a server certificate for the ingest's
 * names ({@link IngestCertificates}) and keeps them in its own Secret {@value #OWN_SECRET}, which
 * it renews from the same CA before expiry, so the gateways' trust never changes under them. Only
 * {@link #caPem()} leaves the daemon: the gateway pods get the CA certificate, never a key. A new
 * certificate takes effect for the next connection; the key manager answers from one snapshot per
 * handshake, so a handshake never pairs the old chain with the new key.
 */
final class IngestTls {

    /** The Secret the daemon keeps its own CA and server certificate in (in the daemon's namespace). */
    static final String OWN_SECRET = "airlock-audit-tls";
    static final String CERT = "tls.crt";
    static final String KEY = "tls.key";
    static final String CA = "ca.crt";
    static final String CA_KEY = "ca.key";
    /** A CA that expires within this is said in the daemon's log: replacing it means new trust in every gateway pod. */
    private static final java.time.Duration CA_WARNING = java.time.Duration.ofDays(180);

    private final KubernetesClient client;
    private final String namespace;
    private final Optional<String> given;
    private final List<String> names;
    private final Clock clock;
    private final PrintStream log;
    private final Keys keys = new Keys();
    private volatile IngestCertificates.Material material;

    private IngestTls(KubernetesClient client, String namespace, Optional<String> given, List<String> names, Clock clock, PrintStream log) {
        this.client = client;
        this.namespace = namespace;
        this.given = given;
        this.names = names;
        this.clock = clock;
        this.log = log;
    }

    /**
     * Reads, or makes and stores, the ingest's certificate for {@code a.url()}'s names; an unusable
     * Secret is an error that says which and how to fix it.
     */
    static IngestTls load(KubernetesClient client, String namespace, DaemonBackend.AuditIngest a, Clock clock, PrintStream log) throws DaemonException {
        IngestTls t = new IngestTls(client, namespace, a.tlsSecret(), IngestCertificates.namesFor(a.url()), clock, log);
        t.use(t.given.isPresent() ? t.readGiven(t.given.get()) : t.ownAtStart());
        return t;
    }

    /** The ingest's TLS context: TLS 1.3 and 1.2 only (the listener sets that), this identity, no client certificates. */
    SSLContext context() throws GeneralSecurityException {
        SSLContext c = SSLContext.getInstance("TLS");
        c.init(new javax.net.ssl.KeyManager[] {keys}, null, null);
        return c;
    }

    /** The CA certificate, PEM: what the gateway pods trust (a ConfigMap per project). */
    String caPem() {
        return IngestCertificates.pem(material.ca());
    }

    /** The certificate served now. */
    X509Certificate certificate() {
        return material.certificate();
    }

    /**
     * The hourly check: a given Secret is read again (cert-manager renews it); the daemon's own
     * server certificate is renewed from the same CA when it is due. Failures are said in the log,
     * and the current certificate keeps being served.
     */
    void check() {
        try {
            if (given.isPresent()) {
                IngestCertificates.Material m = readGiven(given.get());
                if (!m.certificate().equals(material.certificate())) {
                    if (!m.ca().equals(material.ca())) {
                        log.println("airlock daemon: the CA in Secret " + given.get() + " changed; gateway pods trust the new one once their"
                                + " project is applied again (restart the daemon, or touch a policy file)");
                    }
                    use(m);
                    log.println("airlock daemon: serving the renewed audit ingest certificate from Secret " + given.get() + " (valid until "
                            + m.certificate().getNotAfter().toInstant() + ")");
                }
                warnIfExpiring(m);
                return;
            }
            IngestCertificates.Material m = material;
            if (IngestCertificates.dueForRenewal(m.certificate(), clock) || !IngestCertificates.covers(m.certificate(), names)) {
                IngestCertificates.Material renewed = IngestCertificates.renewServer(m.ca(), m.caKey().orElseThrow(), names, clock);
                store(renewed, true);
                use(renewed);
                log.println("airlock daemon: renewed the audit ingest certificate (same CA; valid until "
                        + renewed.certificate().getNotAfter().toInstant() + ")");
            }
            warnIfExpiring(material);
        } catch (DaemonException | GeneralSecurityException | RuntimeException e) {
            log.println("airlock daemon: audit ingest TLS: " + e.getMessage() + " The current certificate (valid until "
                    + material.certificate().getNotAfter().toInstant() + ") is still served; tried again in an hour.");
        }
    }

    private void warnIfExpiring(IngestCertificates.Material m) {
        if (IngestCertificates.dueForRenewal(m.certificate(), clock)) {
            log.println("airlock daemon: WARNING the audit ingest certificate expires " + m.certificate().getNotAfter().toInstant()
                    + "; gateway pods refuse it from then on and keep their records queued. Fix: renew Secret " + given.orElse(OWN_SECRET));
        }
        if (!m.ca().getNotAfter().toInstant().isAfter(clock.instant().plus(CA_WARNING))) {
            log.println("airlock daemon: WARNING the audit ingest CA expires " + m.ca().getNotAfter().toInstant() + ". Fix: "
                    + (given.isPresent() ? "renew the CA behind Secret " + given.get() : "delete Secret " + OWN_SECRET + " and restart the daemon")
                    + "; the gateway pods get the new CA when their projects are applied at start");
        }
    }

    private void use(IngestCertificates.Material m) {
        material = m;
        keys.serve(m);
    }

    /** The daemon's own material at start: the stored one (renewed when due), else a new CA. */
    private IngestCertificates.Material ownAtStart() throws DaemonException {
        Secret s = get(OWN_SECRET);
        try {
            if (s != null) {
                Map<String, String> labels = s.getMetadata().getLabels() == null ? Map.of() : s.getMetadata().getLabels();
                if (!ProjectNames.AIRLOCK.equals(labels.get(ProjectNames.MANAGED_BY))) {
                    throw new DaemonException("Secret " + namespace + "/" + OWN_SECRET + " exists but Airlock did not make it (no label "
                            + ProjectNames.MANAGED_BY + "=" + ProjectNames.AIRLOCK + "). Fix: delete it, or name it in kubernetes.auditTls.secret"
                            + " if it is a kubernetes.io/tls Secret with ca.crt meant for the audit ingest.");
                }
                IngestCertificates.Material m = new IngestCertificates.Material(
                        IngestCertificates.certificates(field(s, CERT), secretKey(OWN_SECRET, CERT)).get(0),
                        IngestCertificates.privateKey(field(s, KEY), secretKey(OWN_SECRET, KEY)),
                        IngestCertificates.certificates(field(s, CA), secretKey(OWN_SECRET, CA)).get(0),
                        Optional.of(IngestCertificates.privateKey(field(s, CA_KEY), secretKey(OWN_SECRET, CA_KEY))));
                if (IngestCertificates.dueForRenewal(m.ca(), clock)) {
                    log.println("airlock daemon: the audit ingest CA in Secret " + OWN_SECRET + " expires " + m.ca().getNotAfter().toInstant()
                            + "; making a new one (the gateway pods get it as their projects are applied)");
                } else if (IngestCertificates.dueForRenewal(m.certificate(), clock) || !IngestCertificates.covers(m.certificate(), names)) {
                    IngestCertificates.Material renewed = IngestCertificates.renewServer(m.ca(), m.caKey().orElseThrow(), names, clock);
                    store(renewed, true);
                    log.println("airlock daemon: renewed the audit ingest certificate for " + names + " (same CA)");
                    return renewed;
                } else {
                    return m;
                }
            }
            IngestCertificates.Material made = IngestCertificates.newAuthority(names, clock);
            store(made, s != null);
            log.println("airlock daemon: made the audit ingest CA and certificate for " + names + ", kept in Secret " + namespace + "/" + OWN_SECRET);
            return made;
        } catch (GeneralSecurityException e) {
            throw new DaemonException("Secret " + namespace + "/" + OWN_SECRET + ": " + e.getMessage() + ". Fix: delete the Secret; the daemon makes"
                    + " a new CA at start, and the gateway pods get it when their projects are applied.");
        }
    }

    /** The operator's {@code kubernetes.io/tls} Secret, checked: key and certificate match, the CA signed it, it names the ingest's host. */
    private IngestCertificates.Material readGiven(String name) throws DaemonException {
        Secret s = get(name);
        String fix = " Fix: kubernetes.auditTls.secret names a kubernetes.io/tls Secret in namespace " + namespace + " with tls.crt, tls.key and"
                + " ca.crt (cert-manager writes ca.crt for a CA Issuer), whose certificate names " + names.get(0) + " (kubernetes.auditUrl's host).";
        if (s == null) {
            throw new DaemonException("Secret " + namespace + "/" + name + " (kubernetes.auditTls.secret) does not exist." + fix);
        }
        try {
            for (String k : List.of(CERT, KEY, CA)) {
                if (s.getData() == null || s.getData().get(k) == null) {
                    throw new GeneralSecurityException("it has no " + k);
                }
            }
            List<X509Certificate> chain = IngestCertificates.certificates(field(s, CERT), secretKey(name, CERT));
            PrivateKey key = IngestCertificates.privateKey(field(s, KEY), secretKey(name, KEY));
            X509Certificate ca = IngestCertificates.certificates(field(s, CA), secretKey(name, CA)).get(0);
            X509Certificate leaf = chain.get(0);
            if (!leaf.getPublicKey().getAlgorithm().equals(key.getAlgorithm())) {
                throw new GeneralSecurityException("tls.key is a " + key.getAlgorithm() + " key, tls.crt's is " + leaf.getPublicKey().getAlgorithm());
            }
            if (!signedBy(chain, ca)) {
                throw new GeneralSecurityException("tls.crt is not signed by ca.crt, the CA the gateway pods will trust");
            }
            if (!IngestCertificates.covers(leaf, names.subList(0, 1))) {
                throw new GeneralSecurityException("tls.crt does not name " + names.get(0) + ", the host gateway pods dial (kubernetes.auditUrl)");
            }
            return new IngestCertificates.Material(leaf, key, ca, Optional.empty(), chain);
        } catch (GeneralSecurityException e) {
            throw new DaemonException("Secret " + namespace + "/" + name + " (kubernetes.auditTls.secret): " + e.getMessage() + "." + fix);
        }
    }

    private static boolean signedBy(List<X509Certificate> chain, X509Certificate ca) {
        for (X509Certificate c : chain) {
            try {
                c.verify(ca.getPublicKey());
                return true;
            } catch (GeneralSecurityException e) {
                // not this one; an intermediate may be
            }
        }
        return chain.contains(ca);
    }

    private Secret get(String name) throws DaemonException {
        try {
            return client.secrets().inNamespace(namespace).withName(name).get();
        } catch (KubernetesClientException e) {
            throw new DaemonException("cannot read Secret " + namespace + "/" + name + " for the audit ingest's TLS: " + e.getMessage()
                    + ". Fix: the daemon's Role needs get, create and patch on secrets in " + namespace + " (docs/kubernetes/rbac.yaml).");
        }
    }

    private void store(IngestCertificates.Material m, boolean replace) throws DaemonException {
        Map<String, String> data = new LinkedHashMap<>();
        data.put(CERT, b64(IngestCertificates.pem(m.certificate())));
        data.put(KEY, b64(IngestCertificates.pem(m.key())));
        data.put(CA, b64(IngestCertificates.pem(m.ca())));
        data.put(CA_KEY, b64(IngestCertificates.pem(m.caKey().orElseThrow())));
        Secret s = new SecretBuilder().withNewMetadata().withName(OWN_SECRET).withNamespace(namespace)
                .addToLabels(ProjectNames.MANAGED_BY, ProjectNames.AIRLOCK).addToLabels("app.kubernetes.io/component", "audit-ingest-tls").endMetadata()
                .withType("kubernetes.io/tls").withData(data).build();
        try {
            // Server-side apply, as every object Airlock owns (the Role grants create and patch); only ever
            // over a Secret checked to be Airlock's own (ownAtStart), or one that does not exist.
            client.secrets().inNamespace(namespace).resource(s).fieldManager(ProjectNames.FIELD_MANAGER).forceConflicts().serverSideApply();
        } catch (KubernetesClientException e) {
            throw new DaemonException("cannot " + (replace ? "update" : "create") + " Secret " + namespace + "/" + OWN_SECRET + " for the audit ingest's TLS: "
                    + e.getMessage() + ". Fix: the daemon's Role needs get, create and patch on secrets in " + namespace + " (docs/kubernetes/rbac.yaml).");
        }
    }

    private static String secretKey(String secret, String key) {
        return "Secret " + secret + " key " + key;
    }

    private static String field(Secret s, String key) throws GeneralSecurityException {
        String v = s.getData() == null ? null : s.getData().get(key);
        if (v == null) {
            throw new GeneralSecurityException("key " + key + " is missing");
        }
        try {
            return new String(Base64.getDecoder().decode(v), StandardCharsets.US_ASCII);
        } catch (IllegalArgumentException e) {
            throw new GeneralSecurityException("key " + key + " is not base64");
        }
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.US_ASCII));
    }

    /** Answers every handshake from one snapshot, named by its serial number, so a renewal never mixes two. */
    private static final class Keys extends X509ExtendedKeyManager {
        private volatile Map<String, IngestCertificates.Material> served = Map.of();
        private volatile String current;

        synchronized void serve(IngestCertificates.Material m) {
            String alias = "ingest-" + m.certificate().getSerialNumber().toString(16);
            Map<String, IngestCertificates.Material> next = new LinkedHashMap<>();
            if (current != null && served.containsKey(current)) {
                next.put(current, served.get(current)); // a handshake in flight may still ask for it
            }
            next.put(alias, m);
            served = Map.copyOf(next);
            current = alias;
        }

        private String choose(String keyType) {
            String a = current;
            IngestCertificates.Material m = a == null ? null : served.get(a);
            if (m == null) {
                return null;
            }
            String alg = m.key().getAlgorithm();
            return keyType.equals(alg) || keyType.startsWith(alg + "_") ? a : null;
        }

        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return choose(keyType);
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return choose(keyType);
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            String a = choose(keyType);
            return a == null ? null : new String[] {a};
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            IngestCertificates.Material m = served.get(alias);
            return m == null ? null : m.chain().toArray(X509Certificate[]::new);
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            IngestCertificates.Material m = served.get(alias);
            return m == null ? null : m.key();
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return null; // a server only
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return null;
        }
    }
}
