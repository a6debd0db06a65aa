package dev.airlock.server;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.URI;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;

/**
 * The audit ingest's certificates when the daemon makes its own (no {@code kubernetes.auditTls.secret}):
 * a CA whose certificate, and only that, the gateway pods trust, and a server certificate it signs
 * for the names the gateway pods dial ({@code kubernetes.auditUrl}'s host, and a Service name's
 * shorter forms). Keys are ECDSA P-256: small, fast, and accepted by every TLS 1.2/1.3 stack.
 *
 * <p>Built with BouncyCastle's lightweight X.509 builders (the JDK makes certificates only through
 * its internal {@code sun.security.x509}); signing and key generation use the JDK's own providers.
 */
final class IngestCertificates {

    /** The CA outlives many server certificates: gateways need a new CA only when it is replaced on purpose. */
    static final Duration CA_VALIDITY = Duration.ofDays(3650);
    /** A server certificate lives a year; it is renewed from the same CA before {@link #RENEW_BEFORE}. */
    static final Duration SERVER_VALIDITY = Duration.ofDays(365);
    /** Renewed this long before it expires: the hourly check has weeks of tries, and an operator sees the warning in time. */
    static final Duration RENEW_BEFORE = Duration.ofDays(30);
    /** Issued a little in the past, so a node whose clock is slightly behind the daemon's still accepts it. */
    private static final Duration BACKDATE = Duration.ofMinutes(5);
    private static final String SIGNATURE = "SHA256withECDSA";
    private static final Pattern SERVICE_NAME = Pattern.compile("([a-z0-9-]+)\\.([a-z0-9-]+)\\.svc(\\.cluster\\.local)?");

    /**
     * A certificate with its key, the CA that signed it (its key only when the daemon made it), and
     * the chain the server presents (the certificate first, then any intermediates).
     */
    record Material(X509Certificate certificate, PrivateKey key, X509Certificate ca, java.util.Optional<PrivateKey> caKey,
            List<X509Certificate> chain) {
        Material {
            chain = List.copyOf(chain);
        }

        /** Signed directly by the CA: the chain is the certificate alone. */
        Material(X509Certificate certificate, PrivateKey key, X509Certificate ca, java.util.Optional<PrivateKey> caKey) {
            this(certificate, key, ca, caKey, List.of(certificate));
        }
    }

    private IngestCertificates() {
    }

    /** A new CA and a server certificate for {@code names}, valid from {@code clock}'s now. */
    static Material newAuthority(List<String> names, Clock clock) throws GeneralSecurityException {
        KeyPair ca = ecKey();
        Instant now = clock.instant();
        X500Name caName = new X500Name("CN=Airlock audit ingest CA " + now.getEpochSecond());
        X509Certificate caCert;
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(caName, serial(), Date.from(now.minus(BACKDATE)),
                    Date.from(now.plus(CA_VALIDITY)), caName, ca.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(ca.getPublic()));
            caCert = sign(b, ca.getPrivate());
        } catch (IOException e) {
            throw new GeneralSecurityException("cannot encode the CA certificate: " + e.getMessage(), e);
        }
        return renewServer(caCert, ca.getPrivate(), names, clock);
    }

    /** A new server certificate for {@code names} from the CA {@code caCert}/{@code caKey}. */
    static Material renewServer(X509Certificate caCert, PrivateKey caKey, List<String> names, Clock clock) throws GeneralSecurityException {
        if (names.isEmpty()) {
            throw new IllegalArgumentException("a server certificate needs at least one name");
        }
        KeyPair server = ecKey();
        Instant now = clock.instant();
        Instant notAfter = now.plus(SERVER_VALIDITY);
        if (notAfter.isAfter(caCert.getNotAfter().toInstant())) {
            notAfter = caCert.getNotAfter().toInstant(); // never outlive the signer
        }
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(caCert, serial(), Date.from(now.minus(BACKDATE)), Date.from(notAfter),
                    new X500Name("CN=" + names.get(0)), server.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    // ECDSA keys sign the handshake; they never encipher a key, so digitalSignature alone
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                    .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth))
                    .addExtension(Extension.subjectAlternativeName, false, subjectAlternativeNames(names))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(server.getPublic()))
                    .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(caCert));
            return new Material(sign(b, caKey), server.getPrivate(), caCert, java.util.Optional.of(caKey));
        } catch (IOException e) {
            throw new GeneralSecurityException("cannot encode the server certificate: " + e.getMessage(), e);
        }
    }

    /**
     * The names a server certificate for {@code url} carries: its host, and when that is a Service's
     * name ({@code S.NS.svc} or {@code S.NS.svc.cluster.local}) every form a pod may dial it by.
     */
    static List<String> namesFor(URI url) {
        String host = url.getHost();
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        Set<String> out = new LinkedHashSet<>();
        out.add(host);
        Matcher m = SERVICE_NAME.matcher(host);
        if (m.matches()) {
            String service = m.group(1) + "." + m.group(2);
            out.addAll(List.of(service + ".svc", service + ".svc.cluster.local", service, m.group(1)));
        }
        return List.copyOf(out);
    }

    /** Whether {@code cert} must be renewed now: it expires within {@link #RENEW_BEFORE}. */
    static boolean dueForRenewal(X509Certificate cert, Clock clock) {
        return !cert.getNotAfter().toInstant().isAfter(clock.instant().plus(RENEW_BEFORE));
    }

    /** Whether {@code cert} names every one of {@code names} (DNS or IP address). */
    static boolean covers(X509Certificate cert, List<String> names) {
        try {
            List<String> sans = new ArrayList<>();
            if (cert.getSubjectAlternativeNames() != null) {
                cert.getSubjectAlternativeNames().forEach(san -> sans.add(String.valueOf(san.get(1)).toLowerCase(java.util.Locale.ROOT)));
            }
            return names.stream().allMatch(n -> sans.contains(n.toLowerCase(java.util.Locale.ROOT)) || ipEquals(sans, n));
        } catch (CertificateException e) {
            return false;
        }
    }

    private static boolean ipEquals(List<String> sans, String name) {
        if (!isIpLiteral(name)) {
            return false;
        }
        try {
            java.net.InetAddress want = java.net.InetAddress.getByName(name);
            for (String s : sans) {
                if (isIpLiteral(s) && java.net.InetAddress.getByName(s).equals(want)) {
                    return true;
                }
            }
        } catch (java.net.UnknownHostException e) {
            return false;
        }
        return false;
    }

    private static GeneralNames subjectAlternativeNames(List<String> names) {
        List<GeneralName> out = new ArrayList<>();
        for (String n : names) {
            out.add(isIpLiteral(n) ? new GeneralName(GeneralName.iPAddress, n) : new GeneralName(GeneralName.dNSName, n));
        }
        return new GeneralNames(out.toArray(GeneralName[]::new));
    }

    /** An address literal (never resolved: a name here is a DNS name, whatever it looks like). */
    static boolean isIpLiteral(String s) {
        return s.matches("\\d{1,3}(\\.\\d{1,3}){3}") || (s.contains(":") && s.matches("[0-9a-fA-F:.]+"));
    }

    private static KeyPair ecKey() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
        return g.generateKeyPair();
    }

    /** 127 random bits: unique without a counter to keep (RFC 5280 allows up to 20 octets, positive). */
    private static BigInteger serial() {
        return new BigInteger(127, new SecureRandom()).add(BigInteger.ONE);
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key) throws GeneralSecurityException {
        try {
            return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder(SIGNATURE).build(key)));
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException("cannot sign with " + SIGNATURE + ": " + e.getMessage(), e);
        }
    }

    /** {@code objects} (certificates, keys) as PEM text; a private key as PKCS#8 ("PRIVATE KEY"), which keeps an EC key's curve. */
    static String pem(Object... objects) {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            for (Object o : objects) {
                if (o instanceof PrivateKey k) {
                    w.writeObject(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(k, null));
                } else {
                    w.writeObject(o);
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("writing PEM to memory", e);
        }
        return out.toString();
    }

    /** The certificates in PEM {@code text}, in order; none is an error naming {@code what}. */
    static List<X509Certificate> certificates(String text, String what) throws GeneralSecurityException {
        CertificateFactory f = CertificateFactory.getInstance("X.509");
        List<X509Certificate> out = new ArrayList<>();
        try {
            for (java.security.cert.Certificate c : f.generateCertificates(new java.io.ByteArrayInputStream(text.getBytes(java.nio.charset.StandardCharsets.US_ASCII)))) {
                out.add((X509Certificate) c);
            }
        } catch (CertificateException e) {
            throw new GeneralSecurityException(what + " is not PEM certificates: " + e.getMessage(), e);
        }
        if (out.isEmpty()) {
            throw new GeneralSecurityException(what + " holds no certificate");
        }
        return out;
    }

    /** The private key in PEM {@code text} (PKCS#8, or PKCS#1/SEC 1 as openssl and cert-manager write them). */
    static PrivateKey privateKey(String text, String what) throws GeneralSecurityException {
        try (PEMParser p = new PEMParser(new StringReader(text))) {
            Object o = p.readObject();
            JcaPEMKeyConverter c = new JcaPEMKeyConverter();
            if (o instanceof PEMKeyPair kp) {
                // SEC 1 and PKCS#1: the private part alone (a SEC 1 key may carry no public key)
                return c.getPrivateKey(kp.getPrivateKeyInfo());
            }
            if (o instanceof PrivateKeyInfo info) {
                return c.getPrivateKey(info);
            }
            throw new GeneralSecurityException(what + " is not an unencrypted PEM private key (found " + (o == null ? "nothing" : o.getClass().getSimpleName()) + ")");
        } catch (IOException e) {
            throw new GeneralSecurityException(what + " is not a PEM private key: " + e.getMessage(), e);
        }
    }
}
