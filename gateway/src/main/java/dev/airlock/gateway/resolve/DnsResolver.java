package dev.airlock.gateway.resolve;

import dev.airlock.policy.address.IpAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ExtendedResolver;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;
import org.xbill.DNS.lookup.LookupResult;
import org.xbill.DNS.lookup.LookupSession;
import org.xbill.DNS.lookup.NoSuchDomainException;
import org.xbill.DNS.lookup.NoSuchRRSetException;

/**
 * Resolves through the system's configured name servers with dnsjava: A and AAAA, following CNAME
 * chains (which are returned as aliases so the engine can check them). Used when no hosts map is
 * given. Never used by tests, which resolve through {@link HostsFile} or fakes.
 */
final class DnsResolver implements Resolver {

    /** Upper bound on the addresses accepted for one name; more is treated as a hostile answer. */
    static final int MAX_ADDRESSES = 64;

    private final LookupSession session;
    private final Duration timeout;

    public DnsResolver(Duration timeout) {
        ExtendedResolver resolver = new ExtendedResolver();
        resolver.setTimeout(timeout);
        this.session = LookupSession.defaultBuilder().resolver(resolver).build();
        this.timeout = timeout;
    }

    /** The per-try timeout this resolver was built with (for the factory's test). */
    Duration timeout() {
        return timeout;
    }

    @Override
    public Resolution resolve(String canonicalName) {
        Name name;
        try {
            name = Name.fromString(canonicalName + ".");
        } catch (TextParseException e) {
            return new Resolution.Failure(Resolution.Kind.ERROR, "not a DNS name: " + e.getMessage());
        }
        CompletableFuture<LookupResult> a = session.lookupAsync(name, Type.A).toCompletableFuture();
        CompletableFuture<LookupResult> aaaa = session.lookupAsync(name, Type.AAAA).toCompletableFuture();
        List<IpAddress> addresses = new ArrayList<>();
        List<String> aliases = new ArrayList<>();
        long ttl = Long.MAX_VALUE;
        Resolution.Failure failure = null;
        for (CompletableFuture<LookupResult> f : List.of(a, aaaa)) {
            try {
                LookupResult r = f.get(timeout.toMillis() * 2, TimeUnit.MILLISECONDS);
                for (Name alias : r.getAliases()) {
                    String s = trimDot(alias.toString(true));
                    if (!s.equals(canonicalName) && !aliases.contains(s)) {
                        aliases.add(s);
                    }
                }
                for (Record rec : r.getRecords()) {
                    ttl = Math.min(ttl, rec.getTTL());
                    if (rec instanceof ARecord ar) {
                        addresses.add(IpAddress.fromBytes(ar.getAddress().getAddress()));
                    } else if (rec instanceof AAAARecord qr) {
                        addresses.add(IpAddress.fromBytes(qr.getAddress().getAddress()));
                    }
                }
            } catch (TimeoutException e) {
                failure = new Resolution.Failure(Resolution.Kind.TIMEOUT, canonicalName + ": no answer in " + timeout.toMillis() + " ms");
            } catch (ExecutionException | CompletionException e) {
                Throwable cause = e.getCause() == null ? e : e.getCause();
                if (cause instanceof NoSuchDomainException) {
                    return new Resolution.Failure(Resolution.Kind.NXDOMAIN, canonicalName + ": no such name");
                } else if (!(cause instanceof NoSuchRRSetException)) {
                    failure = new Resolution.Failure(Resolution.Kind.SERVFAIL, canonicalName + ": " + cause.getMessage());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return new Resolution.Failure(Resolution.Kind.ERROR, "interrupted");
            }
        }
        if (failure != null) {
            // A partial answer is not trusted: the missing half might be the one that is protected.
            return failure;
        }
        if (addresses.isEmpty()) {
            return new Resolution.Failure(Resolution.Kind.NO_ADDRESS, canonicalName + " has no A or AAAA record");
        }
        if (addresses.size() > MAX_ADDRESSES) {
            return new Resolution.Failure(Resolution.Kind.TOO_LARGE, canonicalName + " has " + addresses.size() + " addresses");
        }
        return new Resolution.Answer(addresses, aliases, Duration.ofSeconds(ttl == Long.MAX_VALUE ? 0 : ttl));
    }

    private static String trimDot(String s) {
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }
}
