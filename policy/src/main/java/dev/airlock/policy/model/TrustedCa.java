package dev.airlock.policy.model;

import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;

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

    /** The organisation's CAs, then the project's: what a sandbox of that project trusts besides the system bundle. */
    public static List<TrustedCa> both(List<TrustedCa> org, List<TrustedCa> project) {
        return Stream.concat(org.stream(), project.stream()).toList();
    }

    /** Whether {@code a} and {@code b} trust the same certificates in the same order, wherever they were written. */
    public static boolean samePems(List<TrustedCa> a, List<TrustedCa> b) {
        return a.stream().map(TrustedCa::pem).toList().equals(b.stream().map(TrustedCa::pem).toList());
    }
}
