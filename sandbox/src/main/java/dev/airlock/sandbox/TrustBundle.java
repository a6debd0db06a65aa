package dev.airlock.sandbox;

import dev.airlock.policy.model.TrustedCa;
import java.util.ArrayList;
import java.util.List;

/**
 * The certificate authorities a sandbox trusts besides the host's system bundle, as PEM text
 * already checked (the organisation's and the project's {@code trust:}; later, Airlock's own CA
 * the same way). The launcher turns them into the sandbox's one bundle ({@link CaBundle}).
 */
public record TrustBundle(List<String> pems) {

    /** Only the host's system bundle. */
    public static final TrustBundle SYSTEM = new TrustBundle(List.of());

    public TrustBundle {
        pems = List.copyOf(pems);
        for (String p : pems) {
            if (!p.startsWith("-----BEGIN CERTIFICATE-----")) {
                throw new IllegalArgumentException("a trusted CA is PEM certificate text, not " + p.lines().findFirst().orElse("(empty)"));
            }
        }
    }

    /** The organisation's CAs, then the project's: what one sandbox of that project trusts. */
    @SafeVarargs
    public static TrustBundle of(List<TrustedCa>... lists) {
        List<String> pems = new ArrayList<>();
        for (List<TrustedCa> list : lists) {
            list.forEach(ca -> pems.add(ca.pem()));
        }
        return new TrustBundle(pems);
    }
}
