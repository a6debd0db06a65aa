package dev.airlock.gateway.resolve;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * A bounded, coalescing cache in front of another {@link Resolver}.
 *
 * <p>Design. A lookup reads top to bottom: a fresh cache entry answers at once; otherwise the caller
 * joins the lookup of the same name already in flight, or becomes its leader. The leader takes one
 * of {@code maxInFlight} permits (waiting at most {@code acquireTimeout}), asks the delegate, caches
 * the result and hands it to every caller that joined. Followers wait at most {@code joinTimeout}.
 * So one name costs at most one upstream query at a time however many callers ask, the number of
 * upstream queries in flight is bounded, and a caller that cannot get a slot in time gets
 * {@link Resolution.Kind#TIMEOUT} instead of a new thread or an unbounded queue. This class starts
 * no threads: every lookup runs on its caller's thread, and callers are bounded by their own pools.
 *
 * <p>What is cached, and for how long: answers for their TTL clamped to [{@code minTtl},
 * {@code maxTtl}]; names that do not exist or have no address (and answers too large to accept) for
 * {@code negativeTtl}; resolver failures (SERVFAIL, TIMEOUT, ERROR) for {@code failureTtl}, so a
 * flapping upstream is not hammered yet recovers quickly. A caller that timed out waiting for a
 * permit is not cached: that says nothing about the name. At most {@code maxEntries} names are
 * kept; the oldest entry is evicted first.
 *
 * <p>Rebinding: a cached answer may be served to a later caller, but every caller dials only the
 * addresses of the one {@link Resolution} it was given and checked, so an answer changing between
 * check and connect cannot redirect a connection (docs/dns.md).
 *
 * <p>Time for expiry comes from an injected ticker (nanoseconds, like {@link System#nanoTime}); the
 * two waits use real time, as {@link Semaphore} and {@link CompletableFuture} do. Thread-safe.
 */
public final class CachingResolver implements Resolver {

    /** Floors TTL-0 answers so one busy name is not re-queried for every connection. */
    public static final Duration DEFAULT_MIN_TTL = Duration.ofSeconds(5);
    /** Caps long TTLs so a changed or bad record leaves the cache within minutes. */
    public static final Duration DEFAULT_MAX_TTL = Duration.ofSeconds(300);
    /** NXDOMAIN and no-address rarely change within seconds; random names must not each cost a query. */
    public static final Duration DEFAULT_NEGATIVE_TTL = Duration.ofSeconds(30);
    /** Short: long enough to shed load from a flapping upstream, short enough to recover quickly. */
    public static final Duration DEFAULT_FAILURE_TTL = Duration.ofSeconds(2);
    /** Upstream queries in flight at once; enough for a busy host, far below thread or socket limits. */
    public static final int DEFAULT_MAX_IN_FLIGHT = 64;
    /** Names kept; about a few MiB at most, far more than the live working set of a host's sandboxes. */
    public static final int DEFAULT_MAX_ENTRIES = 10_000;
    /** How long a caller waits for a free upstream slot: about one upstream timeout. */
    public static final Duration DEFAULT_ACQUIRE_TIMEOUT = Duration.ofSeconds(5);
    /** How long a caller waits for a lookup another caller started: a slot wait plus two upstream tries. */
    public static final Duration DEFAULT_JOIN_TIMEOUT = Duration.ofSeconds(15);

    private final Resolver delegate;
    private final LongSupplier ticker;
    private final long minTtlNanos;
    private final long maxTtlNanos;
    private final long negativeTtlNanos;
    private final long failureTtlNanos;
    private final int maxEntries;
    private final Duration acquireTimeout;
    private final Duration joinTimeout;
    private final Semaphore permits;

    /** Insertion-ordered, so the first entry is the oldest; guarded by itself. */
    private final LinkedHashMap<String, Cached> cache;
    private final ConcurrentHashMap<String, InFlight> inFlight = new ConcurrentHashMap<>();

    private record Cached(Resolution resolution, long expiresAt) {
    }

    /** One upstream lookup and the number of callers that joined it (for tests and metrics). */
    private static final class InFlight {
        final CompletableFuture<Resolution> result = new CompletableFuture<>();
        final AtomicInteger followers = new AtomicInteger();
    }

    private CachingResolver(Builder b) {
        this.delegate = b.delegate;
        this.ticker = b.ticker;
        this.minTtlNanos = b.minTtl.toNanos();
        this.maxTtlNanos = b.maxTtl.toNanos();
        this.negativeTtlNanos = b.negativeTtl.toNanos();
        this.failureTtlNanos = b.failureTtl.toNanos();
        this.maxEntries = b.maxEntries;
        this.acquireTimeout = b.acquireTimeout;
        this.joinTimeout = b.joinTimeout;
        this.permits = new Semaphore(b.maxInFlight, true);
        this.cache = new LinkedHashMap<>(16, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Cached> eldest) {
                return size() > maxEntries;
            }
        };
    }

    /** A cache with every default, on the system ticker. */
    public static CachingResolver of(Resolver delegate) {
        return builder(delegate).build();
    }

    public static Builder builder(Resolver delegate) {
        return new Builder(delegate);
    }

    /**
     * The cached resolution if it is still fresh, or null; never calls the delegate, so it is
     * cheap enough for an event loop.
     */
    public Resolution peek(String canonicalName) {
        return cached(canonicalName);
    }

    @Override
    public Resolution resolve(String canonicalName) {
        Resolution cached = cached(canonicalName);
        if (cached != null) {
            return cached;
        }
        InFlight mine = new InFlight();
        InFlight leader = inFlight.putIfAbsent(canonicalName, mine);
        if (leader != null) {
            return join(canonicalName, leader);
        }
        Resolution r = null;
        try {
            // The previous leader may have finished between our cache read and putIfAbsent.
            r = cached(canonicalName);
            if (r == null) {
                r = lead(canonicalName);
            }
            return r;
        } catch (RuntimeException e) {
            // The delegate broke its contract (it must not throw); deny this lookup, cache nothing.
            r = new Resolution.Failure(Resolution.Kind.ERROR, canonicalName + ": the resolver failed: " + e);
            return r;
        } finally {
            // Followers are released whatever happened, even on an Error.
            mine.result.complete(r != null ? r
                    : new Resolution.Failure(Resolution.Kind.ERROR, canonicalName + ": the lookup was abandoned"));
            inFlight.remove(canonicalName, mine);
        }
    }

    private Resolution lead(String name) {
        try {
            if (!permits.tryAcquire(acquireTimeout.toNanos(), TimeUnit.NANOSECONDS)) {
                return new Resolution.Failure(Resolution.Kind.TIMEOUT,
                        name + ": " + permits.availablePermits() + " free of the upstream lookup slots after "
                                + acquireTimeout.toMillis() + " ms; the resolver is overloaded");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Resolution.Failure(Resolution.Kind.ERROR, name + ": interrupted while waiting for a lookup slot");
        }
        Resolution r;
        try {
            r = Objects.requireNonNull(delegate.resolve(name), "the delegate returned null");
        } finally {
            permits.release();
        }
        store(name, r);
        return r;
    }

    private Resolution join(String name, InFlight leader) {
        leader.followers.incrementAndGet();
        try {
            return leader.result.get(joinTimeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            return new Resolution.Failure(Resolution.Kind.TIMEOUT,
                    name + ": the lookup in progress did not finish in " + joinTimeout.toMillis() + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Resolution.Failure(Resolution.Kind.ERROR, name + ": interrupted while waiting for a lookup");
        } catch (ExecutionException e) {
            // Never completed exceptionally; kept for completeness.
            return new Resolution.Failure(Resolution.Kind.ERROR, name + ": " + e.getCause());
        } finally {
            leader.followers.decrementAndGet();
        }
    }

    private Resolution cached(String name) {
        long now = ticker.getAsLong();
        synchronized (cache) {
            Cached e = cache.get(name);
            if (e == null) {
                return null;
            }
            if (now - e.expiresAt >= 0) {
                cache.remove(name);
                return null;
            }
            return e.resolution;
        }
    }

    private void store(String name, Resolution r) {
        long ttl = ttlNanos(r);
        if (ttl <= 0) {
            return;
        }
        long expiresAt = ticker.getAsLong() + ttl;
        synchronized (cache) {
            // Remove first so a refreshed name moves to the young end of the eviction order.
            cache.remove(name);
            cache.put(name, new Cached(r, expiresAt));
        }
    }

    /** How long a result may be served from the cache; 0 for results that must not be. */
    long ttlNanos(Resolution r) {
        return switch (r) {
            case Resolution.Answer a -> Math.min(maxTtlNanos, Math.max(minTtlNanos, saturatedNanos(a.ttl())));
            case Resolution.Failure f -> switch (f.kind()) {
                case NXDOMAIN, NO_ADDRESS, TOO_LARGE -> negativeTtlNanos;
                case SERVFAIL, TIMEOUT, ERROR -> failureTtlNanos;
            };
        };
    }

    private static long saturatedNanos(Duration d) {
        if (d == null || d.isNegative()) {
            return 0;
        }
        try {
            return d.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    /** Names cached now, expired ones included until they are next read. */
    public int size() {
        synchronized (cache) {
            return cache.size();
        }
    }

    /** Upstream lookups running now. */
    public int inFlight() {
        return inFlight.size();
    }

    /** Callers waiting for the lookup of {@code name} that another caller leads (tests). */
    int followers(String name) {
        InFlight f = inFlight.get(name);
        return f == null ? 0 : f.followers.get();
    }

    /** Drops every entry (policy tools, tests); lookups in flight are unaffected. */
    public void invalidateAll() {
        synchronized (cache) {
            cache.clear();
        }
    }

    /** Settings, each defaulting to the constant of the same name. */
    public static final class Builder {
        private final Resolver delegate;
        private LongSupplier ticker = System::nanoTime;
        private Duration minTtl = DEFAULT_MIN_TTL;
        private Duration maxTtl = DEFAULT_MAX_TTL;
        private Duration negativeTtl = DEFAULT_NEGATIVE_TTL;
        private Duration failureTtl = DEFAULT_FAILURE_TTL;
        private int maxInFlight = DEFAULT_MAX_IN_FLIGHT;
        private int maxEntries = DEFAULT_MAX_ENTRIES;
        private Duration acquireTimeout = DEFAULT_ACQUIRE_TIMEOUT;
        private Duration joinTimeout = DEFAULT_JOIN_TIMEOUT;

        private Builder(Resolver delegate) {
            this.delegate = Objects.requireNonNull(delegate, "delegate");
        }

        /** Nanoseconds from an arbitrary origin, like {@link System#nanoTime}; tests pass a fake. */
        public Builder ticker(LongSupplier ticker) {
            this.ticker = Objects.requireNonNull(ticker, "ticker");
            return this;
        }

        public Builder ttl(Duration min, Duration max) {
            requireNonNegative(min, "minTtl");
            requireNonNegative(max, "maxTtl");
            if (min.compareTo(max) > 0) {
                throw new IllegalArgumentException("minTtl " + min + " is above maxTtl " + max);
            }
            this.minTtl = min;
            this.maxTtl = max;
            return this;
        }

        public Builder negativeTtl(Duration d) {
            this.negativeTtl = requireNonNegative(d, "negativeTtl");
            return this;
        }

        public Builder failureTtl(Duration d) {
            this.failureTtl = requireNonNegative(d, "failureTtl");
            return this;
        }

        public Builder maxInFlight(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("maxInFlight must be at least 1: " + n);
            }
            this.maxInFlight = n;
            return this;
        }

        public Builder maxEntries(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("maxEntries must be at least 1: " + n);
            }
            this.maxEntries = n;
            return this;
        }

        public Builder acquireTimeout(Duration d) {
            this.acquireTimeout = requireNonNegative(d, "acquireTimeout");
            return this;
        }

        public Builder joinTimeout(Duration d) {
            this.joinTimeout = requireNonNegative(d, "joinTimeout");
            return this;
        }

        public CachingResolver build() {
            return new CachingResolver(this);
        }

        private static Duration requireNonNegative(Duration d, String what) {
            Objects.requireNonNull(d, what);
            if (d.isNegative()) {
                throw new IllegalArgumentException(what + " must not be negative: " + d);
            }
            return d;
        }
    }
}
