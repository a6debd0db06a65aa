package dev.airlock.gateway.resolve;

import dev.airlock.policy.load.PolicyException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * The one choice of resolver every Airlock process makes: a hosts map when one is given (tests, the
 * demo, air-gapped hosts), else the system's DNS with {@link #DNS_TIMEOUT}.
 */
public final class Resolvers {

    /** One upstream DNS try; {@link CachingResolver}'s waits are sized around it. */
    public static final Duration DNS_TIMEOUT = Duration.ofSeconds(3);

    private Resolvers() {
    }

    /**
     * The resolver for a long-lived or connection-serving process: the choice below behind a
     * {@link CachingResolver}, so one busy name costs one upstream query at a time.
     */
    public static Resolver cached(Optional<Path> hosts) throws PolicyException {
        return CachingResolver.of(uncached(hosts));
    }

    /**
     * The bare choice, without a cache: for a one-shot lookup (e.g. {@code policy explain}), which
     * asks once and reports exactly what the hosts map or DNS answered, TTL unclamped.
     */
    public static Resolver uncached(Optional<Path> hosts) throws PolicyException {
        return hosts.isPresent() ? HostsFile.load(hosts.get()) : new DnsResolver(DNS_TIMEOUT);
    }
}
