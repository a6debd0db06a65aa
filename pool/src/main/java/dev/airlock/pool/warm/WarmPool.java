package dev.airlock.pool.warm;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

/**
 * The warm pool of one project: members built ahead of demand, handed out once, destroyed on
 * release, refilled in the background.
 *
 * <p>Design: one lock guards the counts and the ready queue; building and destroying members happen
 * outside it. A claim takes a ready member under the lock, so two claims can never receive the
 * same member. When none is ready the claim builds one itself (a cold start) unless the project is
 * at its hard limit. Refills keep {@code ready + warming} at the desired size, within the hard limit
 * ({@code ready + warming + inUse}); a failed build backs off exponentially (base doubling to a
 * cap), and the last failure stays visible in {@link #status()} until a build succeeds. Members are
 * never reused: a released member is destroyed, because whatever ran in it may have changed it.
 *
 * <p>{@code ready} is the kernel's truth: every ready member is watched ({@link MemberFactory#death}),
 * and one that dies leaves {@code ready} at once, is reported ({@link PoolListener#memberDied}) and
 * replaced. A claim also skips a member found dead before its exit was reported.
 *
 * @param <M> a member: in production a prepared sandbox; in tests a fake
 */
public final class WarmPool<M> implements AutoCloseable {

    /**
     * @param hardLimit at most this many members of the project exist at once (ready, warming or in use)
     * @param backoffBase the wait after the first failed build; it doubles per further failure
     * @param backoffMax the longest wait between failed builds
     */
    public record Settings(int hardLimit, Duration backoffBase, Duration backoffMax) {
        public static final Settings DEFAULT = new Settings(64, Duration.ofSeconds(1), Duration.ofMinutes(5));

        /** A project's {@code hardLimit} when the daemon's configuration gives none: on one host and on Kubernetes alike. */
        public static final int PROJECT_HARD_LIMIT = 16;

        public Settings {
            if (hardLimit < 1) {
                throw new IllegalArgumentException("hardLimit must be at least 1, got " + hardLimit);
            }
        }
    }

    /** A member handed to a claim: {@code warm} when it was ready; {@code age} how long it had waited ready. */
    public record Claim<M>(M member, boolean warm, Duration age) {
    }

    /** The pool as the status command and the metrics show it. */
    public record Status(String project, int desired, int ready, int warming, int inUse, long warmClaims, long coldClaims,
            long failedClaims, Optional<String> lastFailure, int consecutiveFailures, long memberDeaths) {

        public double warmHitRate() {
            long all = warmClaims + coldClaims;
            return all == 0 ? Double.NaN : (double) warmClaims / all;
        }

        public double coldStartRate() {
            long all = warmClaims + coldClaims;
            return all == 0 ? Double.NaN : (double) coldClaims / all;
        }
    }

    /** No member can be had: the project is at its hard limit, or a cold build failed. */
    public static final class ClaimException extends Exception {
        ClaimException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private record Ready<M>(M member, long readySince, Duration built) {
    }

    private final String project;
    private final Settings settings;
    private final MemberFactory<M> factory;
    private final IntSupplier desired;
    private final ScheduledExecutorService background;
    private final LongSupplier nanoTime;
    private final PoolListener listener;

    private final Object lock = new Object();
    private final Deque<Ready<M>> ready = new ArrayDeque<>();
    private final List<M> inUse = new ArrayList<>();
    private int warming;
    private long warmClaims;
    private long coldClaims;
    private long failedClaims;
    private int consecutiveFailures;
    private long memberDeaths;
    private long retryAt;
    private boolean retryScheduled;
    private String lastFailure;
    private boolean closed;

    /**
     * @param desired the size to keep ready right now (a fixed minimum, or the sizing recommendation);
     *     read at every refill
     * @param background runs builds, destroys and retries
     */
    public WarmPool(String project, Settings settings, MemberFactory<M> factory, IntSupplier desired, ScheduledExecutorService background,
            LongSupplier nanoTime, PoolListener listener) {
        this.project = project;
        this.settings = settings;
        this.factory = factory;
        this.desired = desired;
        this.background = background;
        this.nanoTime = nanoTime;
        this.listener = listener;
    }

    public String project() {
        return project;
    }

    /** A ready member if there is one, else one built now. Either way a refill follows. */
    public Claim<M> claim() throws ClaimException {
        long start = nanoTime.getAsLong();
        Ready<M> r;
        synchronized (lock) {
            if (closed) {
                throw new ClaimException("the pool of " + project + " is closed", null);
            }
            r = ready.pollFirst();
            while (r != null && !factory.usable(r.member())) {
                Ready<M> dead = r;
                memberDeaths++;
                // its exit status may not be reported yet; the watch finds it gone from ready and stays quiet
                factory.death(dead.member()).thenAccept(d -> listener.memberDied(project, new MemberDeath("gone", d.detail())));
                background.execute(() -> factory.destroy(dead.member()));
                r = ready.pollFirst();
            }
            if (r != null) {
                inUse.add(r.member());
                warmClaims++;
            } else if (total() >= settings.hardLimit()) {
                failedClaims++;
                String why = "project " + project + " has " + total() + " sandboxes, its hard limit. Fix: release some, or raise"
                        + " the hard limit in the daemon configuration.";
                listener.claimed(project, PoolListener.Result.FAILED, Duration.ofNanos(nanoTime.getAsLong() - start), Duration.ZERO,
                        Duration.ZERO);
                throw new ClaimException(why, null);
            } else {
                warming++; // counted against the hard limit while it builds
            }
        }
        refill();
        if (r != null) {
            Duration age = Duration.ofNanos(start - r.readySince());
            listener.claimed(project, PoolListener.Result.WARM, Duration.ofNanos(nanoTime.getAsLong() - start), age, r.built());
            return new Claim<>(r.member(), true, age);
        }
        M built;
        try {
            built = factory.create(project);
        } catch (Exception e) {
            synchronized (lock) {
                warming--;
                failedClaims++;
            }
            listener.claimed(project, PoolListener.Result.FAILED, Duration.ofNanos(nanoTime.getAsLong() - start), Duration.ZERO,
                    Duration.ZERO);
            throw new ClaimException("could not build a sandbox for " + project + ": " + e.getMessage(), e);
        }
        boolean keep;
        synchronized (lock) {
            warming--;
            keep = !closed;
            if (keep) {
                inUse.add(built);
                coldClaims++;
            }
        }
        if (!keep) {
            factory.destroy(built);
            throw new ClaimException("the pool of " + project + " closed during the claim", null);
        }
        Duration took = Duration.ofNanos(nanoTime.getAsLong() - start);
        listener.claimed(project, PoolListener.Result.COLD, took, Duration.ZERO, took);
        return new Claim<>(built, false, Duration.ZERO);
    }

    /** Destroys a claimed member (never reused) in the background, then refills. */
    public void release(M member) {
        synchronized (lock) {
            if (!inUse.remove(member)) {
                return;
            }
        }
        background.execute(() -> {
            factory.destroy(member);
            refill();
        });
    }

    /** Destroys the idle members (their template changed) and builds new ones. */
    public void rotate() {
        List<Ready<M>> old;
        synchronized (lock) {
            old = new ArrayList<>(ready);
            ready.clear();
        }
        background.execute(() -> {
            old.forEach(r -> factory.destroy(r.member()));
            refill();
        });
    }

    /**
     * Starts builds until {@code ready + warming} reaches the desired size, within the hard limit and
     * the backoff; above it, destroys the oldest idle members. Call it whenever the desired size may
     * have changed.
     */
    public void refill() {
        int toBuild;
        synchronized (lock) {
            if (closed) {
                return;
            }
            long now = nanoTime.getAsLong();
            if (consecutiveFailures > 0 && now - retryAt < 0) {
                if (!retryScheduled) {
                    retryScheduled = true;
                    background.schedule(() -> {
                        synchronized (lock) {
                            retryScheduled = false;
                        }
                        refill();
                    }, retryAt - now, TimeUnit.NANOSECONDS);
                }
                return;
            }
            int want = Math.max(0, desired.getAsInt());
            if (ready.size() > want) {
                // the desired size fell (auto mode, a quiet hour): the oldest idle members go first
                List<M> extra = new ArrayList<>();
                while (ready.size() > want) {
                    extra.add(ready.pollFirst().member());
                }
                background.execute(() -> extra.forEach(factory::destroy));
                return;
            }
            toBuild = Math.min(want - ready.size() - warming, settings.hardLimit() - total());
            // after a failure, one build at a time until one succeeds
            if (consecutiveFailures > 0) {
                toBuild = Math.min(toBuild, warming == 0 ? 1 : 0);
            }
            if (toBuild <= 0) {
                return;
            }
            warming += toBuild;
        }
        for (int i = 0; i < toBuild; i++) {
            background.execute(this::buildOne);
        }
    }

    private void buildOne() {
        long start = nanoTime.getAsLong();
        M m;
        try {
            m = factory.create(project);
        } catch (Exception | LinkageError e) {
            synchronized (lock) {
                warming--;
                consecutiveFailures++;
                lastFailure = e.getMessage() == null ? e.toString() : e.getMessage();
                long wait = Math.min(settings.backoffMax().toNanos(),
                        settings.backoffBase().toNanos() << Math.min(30, consecutiveFailures - 1));
                retryAt = nanoTime.getAsLong() + wait;
            }
            listener.refillFailed(project, e);
            refill();
            return;
        }
        boolean keep;
        synchronized (lock) {
            warming--;
            keep = !closed;
            if (keep) {
                ready.addLast(new Ready<>(m, nanoTime.getAsLong(), Duration.ofNanos(nanoTime.getAsLong() - start)));
                consecutiveFailures = 0;
                lastFailure = null;
            }
        }
        if (!keep) {
            factory.destroy(m);
            return;
        }
        // registered once it is ready: a member that died already is removed right here
        factory.death(m).thenAccept(d -> died(m, d));
        listener.refilled(project, Duration.ofNanos(nanoTime.getAsLong() - start));
        refill();
    }

    /** A member's death was reported: if it was still ready, it leaves ready now, is counted, destroyed and replaced. */
    private void died(M member, MemberDeath death) {
        synchronized (lock) {
            if (!ready.removeIf(r -> r.member() == member)) {
                return; // claimed (its command ended), rotated, shrunk or closed: not a death of a ready member
            }
            memberDeaths++;
        }
        listener.memberDied(project, death);
        background.execute(() -> factory.destroy(member));
        refill();
    }

    public Status status() {
        synchronized (lock) {
            return new Status(project, Math.max(0, desired.getAsInt()), ready.size(), warming, inUse.size(), warmClaims, coldClaims,
                    failedClaims, Optional.ofNullable(lastFailure), consecutiveFailures, memberDeaths);
        }
    }

    /** The members this pool holds now (ready and in use), for listing. */
    public List<M> members() {
        synchronized (lock) {
            List<M> all = new ArrayList<>(inUse);
            ready.forEach(r -> all.add(r.member()));
            return all;
        }
    }

    public boolean inUse(M member) {
        synchronized (lock) {
            return inUse.contains(member);
        }
    }

    private int total() {
        return ready.size() + warming + inUse.size();
    }

    /** Destroys every member it holds, ready and in use. Builds still running destroy theirs on completion. */
    @Override
    public void close() {
        List<M> all;
        synchronized (lock) {
            closed = true;
            all = new ArrayList<>(inUse);
            ready.forEach(r -> all.add(r.member()));
            ready.clear();
            inUse.clear();
        }
        all.forEach(factory::destroy);
    }
}
