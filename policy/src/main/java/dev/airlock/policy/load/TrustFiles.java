package dev.airlock.policy.load;

import dev.airlock.policy.model.SourcePosition;
import dev.airlock.policy.model.TrustedCa;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * {@code trust:}, a list of PEM files (relative to the policy file): each must hold certificates
 * only, every one a CA ({@code basicConstraints CA:TRUE}) in force at {@code now}. A file that is
 * not is a problem at the item's {@code file:line:col}, with the fix. What a sandbox gets is the
 * checked certificates re-encoded, never the file's other text.
 */
final class TrustFiles {

    /** A CA file is a few kilobytes; a bundle of hundreds stays well below this. */
    private static final long MAX_BYTES = 1L << 20;
    private static final String BEGIN = "-----BEGIN CERTIFICATE-----";

    private TrustFiles() {
    }

    static List<TrustedCa> read(Fields top, Path base, Instant now, List<Problem> problems) {
        List<TrustedCa> out = new ArrayList<>();
        for (YamlNode n : top.list("trust")) {
            if (n instanceof YamlNode.Scalar s && !s.isNull() && !s.text().isBlank() && s.text().indexOf('\0') < 0) {
                ca(base.resolve(s.text()).normalize(), s.text(), now, n.position(), problems).ifPresent(out::add);
            } else {
                problems.add(new Problem(n.position(), "trust items are paths of PEM files, found " + n.kind(),
                        "write a path such as certs/company-root-ca.pem (relative to this file)"));
            }
        }
        return out;
    }

    /** The CAs of the file at {@code path} (written {@code written}), or empty with the problem added. */
    private static Optional<TrustedCa> ca(Path path, String written, Instant now, SourcePosition at, List<Problem> problems) {
        try {
            return Optional.of(checked(path, written, now, at));
        } catch (Refused r) {
            problems.add(r.problem);
            return Optional.empty();
        }
    }

    /** Thrown by {@link #checked} with the one problem of a file. */
    private static final class Refused extends Exception {
        private final transient Problem problem;

        Refused(Problem problem) {
            super(problem.message(), null, false, false);
            this.problem = problem;
        }
    }

    private static TrustedCa checked(Path path, String written, Instant now, SourcePosition at) throws Refused {
        String text;
        try {
            if (Files.isDirectory(path)) {
                throw problem(at, written + " is a directory, not a PEM file", "name the CA certificate file itself, such as " + written
                        + "/root-ca.pem");
            }
            if (Files.size(path) > MAX_BYTES) {
                throw problem(at, written + " is larger than 1 MiB", "a CA certificate is a few kilobytes; check the path");
            }
            text = new String(Files.readAllBytes(path), StandardCharsets.ISO_8859_1);
        } catch (NoSuchFileException e) {
            throw problem(at, written + " does not exist (looked for " + path + ")",
                    "check the path; a relative path is relative to the policy file's directory");
        } catch (IOException e) {
            throw problem(at, written + " cannot be read: " + e.getMessage(), "check the file's permissions");
        }
        if (text.contains("PRIVATE KEY-----")) {
            throw problem(at, written + " holds a private key", "list only the CA's certificate, never its key: "
                    + "openssl x509 -in " + written + " -out ca.pem");
        }
        if (!text.contains(BEGIN)) {
            throw problem(at, written + " is not a PEM certificate (no \"" + BEGIN + "\" line)",
                    "convert a DER certificate with: openssl x509 -inform DER -in " + written + " -out ca.pem");
        }
        Collection<X509Certificate> certs;
        try {
            certs = certificates(text);
        } catch (CertificateException | RuntimeException e) {
            throw problem(at, written + " is not a valid PEM certificate: " + e.getMessage(),
                    "export the CA's certificate again in PEM form (openssl x509 -in CERT -out ca.pem)");
        }
        for (X509Certificate c : certs) {
            String subject = c.getSubjectX500Principal().getName();
            if (c.getBasicConstraints() < 0) {
                throw problem(at, written + " holds \"" + subject + "\", which is not a CA certificate (basicConstraints CA is not true)",
                        "list the certificate of the CA that signed it (issuer \"" + c.getIssuerX500Principal().getName() + "\") instead");
            }
            if (now.isAfter(c.getNotAfter().toInstant())) {
                throw problem(at, written + ": CA \"" + subject + "\" expired on " + c.getNotAfter().toInstant(),
                        "get its renewed certificate from whoever runs that CA, or remove the entry");
            }
            if (now.isBefore(c.getNotBefore().toInstant())) {
                throw problem(at, written + ": CA \"" + subject + "\" is not valid before " + c.getNotBefore().toInstant(),
                        "check this machine's clock, or wait until the certificate is in force");
            }
        }
        return asLoaded(path, certs, at);
    }

    /** The checked certificates as a sandbox gets them: re-encoded in PEM from their DER. */
    private static TrustedCa asLoaded(Path path, Collection<X509Certificate> certs, SourcePosition at) {
        try {
            StringBuilder pem = new StringBuilder();
            Base64.Encoder b64 = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII));
            List<String> subjects = new ArrayList<>();
            for (X509Certificate c : certs) {
                pem.append(BEGIN).append('\n').append(b64.encodeToString(c.getEncoded())).append("\n-----END CERTIFICATE-----\n");
                subjects.add(c.getSubjectX500Principal().getName());
            }
            return new TrustedCa(path.toString(), String.join("; ", subjects), pem.toString(), at);
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new IllegalStateException("a certificate just parsed cannot be encoded again: " + e.getMessage(), e);
        }
    }

    private static Collection<X509Certificate> certificates(String text) throws CertificateException {
        // Only the PEM blocks: text around them (openssl's "subject=" lines, comments) is allowed and ignored.
        StringBuilder blocks = new StringBuilder();
        int from = 0;
        while (true) {
            int b = text.indexOf(BEGIN, from);
            if (b < 0) {
                break;
            }
            int e = text.indexOf("-----END CERTIFICATE-----", b);
            if (e < 0) {
                throw new CertificateException("a certificate has no \"-----END CERTIFICATE-----\" line");
            }
            e += "-----END CERTIFICATE-----".length();
            blocks.append(text, b, e).append('\n');
            from = e;
        }
        @SuppressWarnings("unchecked")
        Collection<X509Certificate> certs = (Collection<X509Certificate>) CertificateFactory.getInstance("X.509")
                .generateCertificates(new ByteArrayInputStream(blocks.toString().getBytes(StandardCharsets.ISO_8859_1)));
        if (certs.isEmpty()) {
            throw new CertificateException("no certificate in it");
        }
        return certs;
    }

    private static Refused problem(SourcePosition at, String message, String fix) {
        return new Refused(new Problem(at, message, fix));
    }
}
