package dev.airlock.server;

import dev.airlock.runtime.RunAs;
import dev.airlock.sandbox.SandboxUser;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the daemon shows of its runs of policies it does not pool ({@link ColdRuns}): the runs in
 * progress ({@code GET /v1/sandboxes}, the dashboard), how many run and have run per project since
 * the daemon started ({@code GET /v1/status}), and the meters {@code airlock_cold_runs_active} and
 * {@code airlock_cold_runs_total}, both labelled by project. Without it such a run, which is every
 * {@code airlock run} of an unpooled project once the daemon is socket-activated, would be invisible.
 *
 * <p>Label values: a cold run's project is whatever policy file a root caller names, so the set is
 * not the configuration's. Projects are few in practice, and names are already {@code
 * [a-z0-9-]{1,40}}; still, past {@link #MAX_PROJECT_LABELS} distinct projects the meters count
 * under {@link #OTHER}, so that no caller can grow the registry without bound.
 */
final class ColdRunTally {

    /** Distinct project labels before the rest share one: far above the projects one host runs, far below a scrape's worry. */
    static final int MAX_PROJECT_LABELS = 64;
    /** The shared label past the cap: not a valid project name ({@code [a-z0-9-]}), so never one project's. */
    static final String OTHER = "_other";

    /** One run in progress, as the API lists it. */
    record Entry(String id, String project, Path workspace, String policy, Instant startedAt, RunAs as) {
        /** {@code nobody}, or the caller's {@code uid:gid} that the sandbox's processes run as. */
        String runAs() {
            return as.uid() == SandboxUser.NOBODY && as.gid() == SandboxUser.NOBODY ? "nobody" : as.uid() + ":" + as.gid();
        }
    }

    /** Per project: running now and started since the daemon did. */
    record Count(String project, long running, long total) {
    }

    private final MeterRegistry registry;
    private final Map<String, Entry> live = new ConcurrentHashMap<>();
    /** Per project (all of them, for status): runs started since the daemon did. */
    private final Map<String, AtomicLong> totals = new ConcurrentHashMap<>();
    /** Per label (bounded): the running count the gauge reads; a strong reference, as Micrometer holds gauges' objects weakly. */
    private final Map<String, AtomicLong> active = new ConcurrentHashMap<>();

    ColdRunTally(MeterRegistry registry) {
        this.registry = registry;
    }

    /** {@code e}'s sandbox is ready and its command about to start. */
    void started(Entry e) {
        live.put(e.id(), e);
        totals.computeIfAbsent(e.project(), p -> new AtomicLong()).incrementAndGet();
        String label = label(e.project());
        gauge(label).incrementAndGet();
        Counter.builder("airlock.cold.runs").description("runs of policies the daemon does not pool, since it started")
                .tag("project", label).register(registry).increment();
    }

    /** The run {@code id} ended and its sandbox is gone. Idempotent. */
    void finished(String id) {
        Entry e = live.remove(id);
        if (e != null) {
            gauge(label(e.project())).decrementAndGet();
        }
    }

    /** The runs in progress, oldest first. */
    List<Entry> live() {
        return live.values().stream().sorted(Comparator.comparing(Entry::startedAt).thenComparing(Entry::id)).toList();
    }

    /** Every project that had a cold run since the daemon started, by name. */
    List<Count> counts() {
        Map<String, Long> running = new TreeMap<>();
        live.values().forEach(e -> running.merge(e.project(), 1L, Long::sum));
        return new TreeMap<>(totals).entrySet().stream()
                .map(t -> new Count(t.getKey(), running.getOrDefault(t.getKey(), 0L), t.getValue().get())).toList();
    }

    /** The project's label, its gauge registered with it: one decision under one lock, so the cap holds. */
    private String label(String project) {
        synchronized (active) {
            String label = active.containsKey(project) || active.size() < MAX_PROJECT_LABELS ? project : OTHER;
            active.computeIfAbsent(label, l -> {
                AtomicLong running = new AtomicLong();
                Gauge.builder("airlock.cold.runs.active", running, AtomicLong::get)
                        .description("runs of policies the daemon does not pool, running now").tags(Tags.of("project", l))
                        .register(registry);
                return running;
            });
            return label;
        }
    }

    private AtomicLong gauge(String label) {
        return active.get(label);
    }
}
