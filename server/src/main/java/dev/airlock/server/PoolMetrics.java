package dev.airlock.server;

import dev.airlock.pool.warm.PoolListener;
import dev.airlock.pool.warm.WarmPool;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The pool's metrics under the names of DESIGN.md §2, and the recent claim durations that
 * {@code airlock pool status} turns into p50/p99. Label values are project names (already
 * {@code [a-z0-9-]{1,40}}) and the fixed result vocabulary, so they are bounded.
 */
final class PoolMetrics implements PoolListener {

    /** Claims kept per project for the percentiles in status. */
    static final int WINDOW = 1000;

    private final MeterRegistry registry;
    private final Map<String, Deque<Duration>> claimTimes = new ConcurrentHashMap<>();
    private final Map<String, Deque<Duration>> ages = new ConcurrentHashMap<>();
    private final Map<String, String> lastRefillFailure = new ConcurrentHashMap<>();
    /** Warm and cold claims per hour (epoch hour → {warm, cold}), all projects: the dashboard's hit-rate chart. */
    private final java.util.NavigableMap<Long, long[]> hourly = new java.util.concurrent.ConcurrentSkipListMap<>();
    private final java.time.Clock clock;
    /** Claims and ready sizes by hour of the week, per project, in the auto-sizer's zone: the dashboard's weekly plot. */
    private final WeeklyUsage weekly = new WeeklyUsage(java.time.ZoneId.systemDefault());

    PoolMetrics(MeterRegistry registry, java.time.Clock clock) {
        this.registry = registry;
        this.clock = clock;
    }

    WeeklyUsage weekly() {
        return weekly;
    }

    /** Adds a past claim to the hourly series and the weekly plot (history reloaded at start). */
    void history(String project, java.time.Instant time, boolean warm) {
        weekly.claim(project, time, warm);
        hour(time, warm);
    }

    private void hour(java.time.Instant time, boolean warm) {
        long[] c = hourly.computeIfAbsent(time.getEpochSecond() / 3600, k -> new long[2]);
        synchronized (c) {
            c[warm ? 0 : 1]++;
        }
        while (hourly.size() > 24 * 14) {
            hourly.pollFirstEntry();
        }
    }

    /** The hourly {warm, cold} counts, oldest first. */
    java.util.SortedMap<Long, long[]> hourly() {
        java.util.SortedMap<Long, long[]> copy = new java.util.TreeMap<>();
        hourly.forEach((h, c) -> {
            synchronized (c) {
                copy.put(h, c.clone());
            }
        });
        return copy;
    }

    /** Registers the gauges of one project's pool. */
    void watch(String project, Supplier<WarmPool.Status> status) {
        Gauge.builder("airlock.pool.desired", () -> status.get().desired()).tag("project", project).register(registry);
        Gauge.builder("airlock.pool.ready", () -> status.get().ready()).tag("project", project).register(registry);
        Gauge.builder("airlock.pool.warming", () -> status.get().warming()).tag("project", project).register(registry);
        Gauge.builder("airlock.pool.in.use", () -> status.get().inUse()).tag("project", project).register(registry);
        for (Result r : Result.values()) {
            counter(project, r);
        }
        for (String reason : DEATH_REASONS) {
            deaths(project, reason);
        }
    }

    /** The closed set of {@link dev.airlock.pool.warm.MemberDeath#reason()} values: bounded labels. */
    static final List<String> DEATH_REASONS = List.of("killed", "exited", "gone");

    private Counter deaths(String project, String reason) {
        return Counter.builder("airlock.pool.member.deaths").tag("project", project)
                .tag("reason", DEATH_REASONS.contains(reason) ? reason : "exited").register(registry);
    }

    @Override
    public void memberDied(String project, dev.airlock.pool.warm.MemberDeath death) {
        deaths(project, death.reason()).increment();
    }

    private Counter counter(String project, Result r) {
        return Counter.builder("airlock.claims").tag("project", project).tag("result", r.code()).register(registry);
    }

    @Override
    public void claimed(String project, Result result, Duration took, Duration age, Duration built) {
        counter(project, result).increment();
        Timer.builder("airlock.claim.duration").tag("result", result.code()).publishPercentiles(0.5, 0.99).register(registry).record(took);
        if (result == Result.COLD) {
            Timer.builder("airlock.cold.start.duration").register(registry).record(took);
        }
        if (result == Result.WARM) {
            Timer.builder("airlock.pool.age.at.claim").register(registry).record(age);
            keep(ages, project, age);
        }
        if (result != Result.FAILED) {
            keep(claimTimes, project, took);
            history(project, clock.instant(), result == Result.WARM);
        }
    }

    @Override
    public void refilled(String project, Duration took) {
        Timer.builder("airlock.refill.duration").register(registry).record(took);
        lastRefillFailure.remove(project);
    }

    @Override
    public void refillFailed(String project, Throwable error) {
        lastRefillFailure.put(project, String.valueOf(error.getMessage()));
    }

    /** The last background build failure of {@code project} since its last success, if any. */
    java.util.Optional<String> lastRefillFailure(String project) {
        return java.util.Optional.ofNullable(lastRefillFailure.get(project));
    }

    private static void keep(Map<String, Deque<Duration>> m, String project, Duration d) {
        Deque<Duration> q = m.computeIfAbsent(project, k -> new ArrayDeque<>());
        synchronized (q) {
            q.addLast(d);
            if (q.size() > WINDOW) {
                q.removeFirst();
            }
        }
    }

    /** The q-quantile (nearest rank) of the project's recent claim durations, or null with no claims. */
    Duration claimQuantile(String project, double q) {
        return quantile(claimTimes.get(project), q);
    }

    Duration ageQuantile(String project, double q) {
        return quantile(ages.get(project), q);
    }

    static Duration quantile(Deque<Duration> q, double p) {
        if (q == null) {
            return null;
        }
        List<Duration> sorted;
        synchronized (q) {
            sorted = new ArrayList<>(q);
        }
        if (sorted.isEmpty()) {
            return null;
        }
        Collections.sort(sorted);
        int rank = (int) Math.ceil(p * sorted.size());
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, rank - 1)));
    }
}
