package dev.airlock.policy.model;

import java.util.Objects;

/**
 * One entry of {@code trust:}: a certificate authority every sandbox of the policy trusts, besides
 * the host's system bundle. {@code pem} holds only the certificates the loader checked (each a CA,
 * in force when loaded), re-encoded from their DER: nothing else of the file (a private key, a
 * comment) ever reaches a sandbox.
 */
public record TrustedCa(String file, String subject, String pem, SourcePosition position) {

    public TrustedCa {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(pem, "pem");
        Objects.requireNonNull(position, "position");
    }
}
