package dev.airlock.gateway.host;

import dev.airlock.gateway.resolve.Resolution;
import dev.airlock.gateway.resolve.Resolver;
import dev.airlock.policy.ProductionAddresses;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.model.Destination;
import dev.airlock.policy.name.NamePattern;
import dev.airlock.policy.model.Rule;
import java.io.PrintStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The addresses of the organisation's exact production names, resolved with the gateway's own
 * resolver at start and again when each answer's TTL runs out, so production is denied by address
 * too (an IP literal, or another allowed name whose answer points there).
 *
 * <p>Design: every {@link #tick} resolves the names that are due, at most {@link #LOOKUPS_PER_TICK}
 * of them; an answer adds its addresses (v4 and v6) and marks them seen; a failure is logged and
 * retried after {@link #RETRY}, and changes nothing, so a failure never opens anything. An address
 * stays in the set until it has not been seen for {@link #RETAIN}: DNS rotates answers, and a
 * production address that left one answer is still production. Wildcard entries cannot be
 * enumerated; docs/policy.md asks the security team to list production CIDRs as well.
 */
final class ProductionAddressWatch {

    /** Names resolved; beyond this the rest are logged once and not resolved (the CIDR rules still hold). */
    static final int MAX_NAMES = 512;
    /** Addresses kept per name, newest first: bounds memory against a hostile or huge answer. */
    static final int MAX_ADDRESSES_PER_NAME = 64;
    /** Lookups per tick: the rate bound, so a long production list cannot flood the resolver. */
    static final int LOOKUPS_PER_TICK = 16;
    /** The shortest re-resolution interval, whatever the TTL says. */
    static final Duration MIN_TTL = Duration.ofSeconds(30);
    /** The longest, so a long TTL cannot hide a move for days. */
    static final Duration MAX_TTL = Duration.ofHours(1);
    /** After a failed lookup. */
    static final Duration RETRY = Duration.ofSeconds(30);
    /** How long an address stays production after its name last answered with it. */
    static final Duration RETAIN = Duration.ofHours(24);

    private static final class Entry {
        final String name;
        final Rule rule;
        Instant due;
        final Map<IpAddress, Instant> seen = new LinkedHashMap<>();

        Entry(String name, Rule rule, Instant due) {
            this.name = name;
            this.rule = rule;
            this.due = due;
        }
    }

    private final List<Entry> entries = new ArrayList<>();
    private final Resolver resolver;
    private final Clock clock;
    private final PrintStream log;
    private final AtomicReference<ProductionAddresses> current = new AtomicReference<>(ProductionAddresses.NONE);

    /** @param production the organisation's production rules; only exact names are resolved */
    public ProductionAddressWatch(List<Rule> production, Resolver resolver, Clock clock, PrintStream log) {
        this.resolver = resolver;
        this.clock = clock;
        this.log = log;
        Instant now = clock.instant();
        for (Rule r : production) {
            if (r.destination() instanceof Destination.Names n && n.pattern() instanceof NamePattern.Exact e) {
                if (entries.size() == MAX_NAMES) {
                    log.println("airlock gateway: more than " + MAX_NAMES + " exact production names; " + e
                            + " and later ones are denied by name only (list their CIDRs in the organisation policy)");
                    break;
                }
                entries.add(new Entry(e.toString(), r, now));
            }
        }
    }

    public ProductionAddresses current() {
        return current.get();
    }

    /** Resolves every name now (at load; bounded by the number of names). */
    public void resolveAll() {
        for (Entry e : entries) {
            resolve(e, clock.instant());
        }
        publish(clock.instant());
    }

    /**
     * A watch of a changed production list (an organisation policy reload): names still listed keep
     * the addresses seen so far and their schedule, so a reload never forgets a production address;
     * new names are resolved now (bounded by {@link #MAX_NAMES}, as at load). Call it on the thread
     * that ticks this watch.
     */
    public ProductionAddressWatch following(List<Rule> production) {
        ProductionAddressWatch next = new ProductionAddressWatch(production, resolver, clock, log);
        Instant now = clock.instant();
        for (Entry e : next.entries) {
            Entry old = entries.stream().filter(o -> o.name.equals(e.name)).findFirst().orElse(null);
            if (old != null) {
                e.seen.putAll(old.seen);
                e.due = old.due;
            } else {
                next.resolve(e, now);
            }
        }
        next.publish(now);
        return next;
    }

    /** Resolves the names that are due, at most {@link #LOOKUPS_PER_TICK}. */
    public void tick() {
        Instant now = clock.instant();
        int lookups = 0;
        for (Entry e : entries) {
            if (lookups == LOOKUPS_PER_TICK) {
                break;
            }
            if (!e.due.isAfter(now)) {
                resolve(e, now);
                lookups++;
            }
        }
        publish(now);
    }

    private void resolve(Entry e, Instant now) {
        Resolution r;
        try {
            r = resolver.resolve(e.name);
        } catch (RuntimeException ex) {
            r = new Resolution.Failure(Resolution.Kind.ERROR, String.valueOf(ex.getMessage()));
        }
        switch (r) {
            case Resolution.Answer a -> {
                for (IpAddress address : a.addresses()) {
                    e.seen.remove(address);
                    e.seen.put(address, now);
                }
                while (e.seen.size() > MAX_ADDRESSES_PER_NAME) {
                    e.seen.remove(e.seen.keySet().iterator().next());
                }
                Duration ttl = a.ttl() == null ? MIN_TTL : a.ttl();
                e.due = now.plus(ttl.compareTo(MIN_TTL) < 0 ? MIN_TTL : ttl.compareTo(MAX_TTL) > 0 ? MAX_TTL : ttl);
            }
            case Resolution.Failure f -> {
                log.println("airlock gateway: cannot resolve the production name " + e.name + " (" + f.kind().description
                        + "); its known addresses stay denied; retrying in " + RETRY.toSeconds() + "s");
                e.due = now.plus(RETRY);
            }
        }
    }

    private void publish(Instant now) {
        Map<IpAddress, Rule> all = new HashMap<>();
        for (Entry e : entries) {
            e.seen.values().removeIf(t -> t.plus(RETAIN).isBefore(now));
            for (IpAddress a : e.seen.keySet()) {
                all.putIfAbsent(a, e.rule);
            }
        }
        current.set(new ProductionAddresses(all));
    }
}
