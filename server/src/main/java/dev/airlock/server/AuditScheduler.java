package dev.airlock.server;

import dev.airlock.audit.battery.AuditException;
import dev.airlock.audit.battery.Battery;
import dev.airlock.audit.report.Audits;
import dev.airlock.audit.report.Format;
import dev.airlock.audit.report.ReportStore;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Continuous auditing (issue: audits): the full battery runs for a project when it has none yet,
 * when its policy or the organisation policy changed since its last full audit (the report keeps
 * both files' SHA-256), and when the last one is older than {@code audit.every}; the quick subset
 * runs after warm-pool claims, at most one at a time (claims that arrive while one runs are covered
 * by one more run after it). Audits run one after another on their own thread and never delay a
 * claim. Their gateway records to {@code STATE/audit.log}, the chain the daemon's own gateway and
 * every cold run append to as well (docs/audit-log.md, "Many writers, one chain").
 */
final class AuditScheduler implements AutoCloseable {

    /** One audited project: its files as the daemon loaded them. */
    record Target(String project, Path policy, Optional<Path> org, Optional<Path> hosts) {
    }

    private final Path stateDir;
    private final Audits audits;
    private final List<Target> targets;
    private final Duration every;
    private final Clock clock;
    private final PrintStream log;
    private final ExecutorService runner = Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon().name("airlock-audit").factory());
    /** When this scheduler started: a project with no full audit yet is overdue only once its first one has had time to run. */
    private final Instant started;
    /**
     * The first full audit is queued at start and the scheduler ticks hourly; a full battery takes
     * minutes. So "overdue" before a first audit means one tick period passed without one.
     */
    static final Duration FIRST_AUDIT_GRACE = Duration.ofHours(1);
    private volatile boolean closing;
    private final AtomicBoolean fullQueued = new AtomicBoolean();
    private final AtomicBoolean quickQueued = new AtomicBoolean();
    /** The kept reports, oldest first, as of the last {@link #refresh()}: scrapes and the dashboard read this, not the disk. */
    private volatile List<ReportStore.Entry> entries = List.of();

    AuditScheduler(Path stateDir, String version, List<Target> targets, Duration every, Clock clock, PrintStream log, MeterRegistry meters) {
        this.stateDir = stateDir;
        this.audits = new Audits(stateDir, version, log);
        this.targets = List.copyOf(targets);
        this.every = every;
        this.clock = clock;
        this.log = log;
        this.started = clock.instant();
        refresh();
        for (String result : List.of("pass", "fail")) {
            Gauge.builder("airlock.audit.last.run.timestamp.seconds", () -> lastWith(result)).tag("result", result).register(meters);
        }
        Gauge.builder("airlock.audit.probes.failed", () -> last().map(e -> e.counts().getOrDefault("fail", 0L)
                + e.counts().getOrDefault("error", 0L)).orElse(0L)).register(meters);
        for (Target t : targets) {
            Gauge.builder("airlock.audit.overdue", () -> overdue(t) ? 1 : 0).tag("project", t.project()).register(meters);
        }
    }

    /** Queues a full audit of every project that is due. Called at start and every hour. */
    void tick() {
        refresh(); // audits run by `airlock audit` count too
        if (targets.stream().anyMatch(this::due) && fullQueued.compareAndSet(false, true)) {
            runner.execute(() -> {
                fullQueued.set(false);
                for (Target t : targets) {
                    if (due(t)) {
                        audit(t, Battery.Scope.FULL);
                    }
                }
            });
        }
    }

    /** A warm-pool claim happened: the quick subset runs (coalesced) for that project. */
    void claimed(String project) {
        Optional<Target> t = targets.stream().filter(x -> x.project().equals(project)).findFirst();
        if (t.isPresent() && quickQueued.compareAndSet(false, true)) {
            runner.execute(() -> {
                quickQueued.set(false);
                audit(t.get(), Battery.Scope.QUICK);
            });
        }
    }

    private void audit(Target t, Battery.Scope scope) {
        try {
            // a stop under the audit (SIGTERM, Ctrl-C) tears its sandbox down: a run that then found no failure is not kept
            Audits.Done done = audits.run(t.policy(), t.org(), t.hosts(), scope, EnumSet.allOf(Format.class), Optional.empty(),
                    () -> closing || jvmStopping());
            log.println("airlock daemon: " + scope.name().toLowerCase(java.util.Locale.ROOT) + " audit of " + t.project() + ": "
                    + (done.passed() ? "pass" : "FAIL") + " (" + done.dir() + ")");
        } catch (AuditException e) {
            log.println(notRun(t.project(), e, closing));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            log.println(notRun(t.project(), e, closing));
        }
        refresh();
    }

    /** No full audit yet, a policy file changed since the last one, or it is older than {@code audit.every}. */
    boolean due(Target t) {
        Optional<ReportStore.Entry> lastFull = lastFull(t.project());
        if (lastFull.isEmpty()) {
            return true;
        }
        ReportStore.Entry e = lastFull.get();
        if (!sha256(t.policy()).equals(Optional.of(e.policySha256()))) {
            return true;
        }
        if (t.org().isPresent() && !sha256(t.org().get()).equals(e.orgSha256())) {
            return true;
        }
        return overdue(t);
    }

    /**
     * The last full audit is older than {@code audit.every}, or there is none although the daemon has
     * run for {@link #FIRST_AUDIT_GRACE} (a daemon started a minute ago is not overdue: its first audit is queued).
     */
    boolean overdue(Target t) {
        Instant now = clock.instant();
        return lastFull(t.project()).map(e -> e.started().plus(every).isBefore(now))
                .orElse(started.plus(FIRST_AUDIT_GRACE).isBefore(now));
    }

    /**
     * The line an audit that did not finish prints. One stopped by the daemon's own shutdown (SIGTERM:
     * the JVM refuses new shutdown hooks, the sandbox launcher's among them) says so in words, with no
     * exception: nothing is wrong with the audit or the host.
     */
    static String notRun(String project, Exception e, boolean closing) {
        if (closing || shutdownInProgress(e) || String.valueOf(e.getMessage()).startsWith(Audits.STOPPED_UNDER_IT)) {
            return "airlock daemon: audit of " + project + " stopped: the daemon is shutting down";
        }
        return "airlock daemon: audit of " + project + (e instanceof AuditException ? " could not run: " + e.getMessage() : " failed: " + e);
    }

    /** The JVM runs its shutdown hooks (the daemon's stop may not have reached {@link #close} yet). */
    static boolean jvmStopping() {
        Thread probe = new Thread(() -> { });
        try {
            Runtime.getRuntime().addShutdownHook(probe);
            Runtime.getRuntime().removeShutdownHook(probe);
            return false;
        } catch (IllegalStateException e) {
            return true; // "Shutdown in progress"
        }
    }

    private static boolean shutdownInProgress(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            // The JDK's own words (ApplicationShutdownHooks); wrappers such as AuditException may carry them in their message only.
            if (String.valueOf(c.getMessage()).contains("Shutdown in progress")) {
                return true;
            }
            if (c.getCause() == c) {
                break;
            }
        }
        return false;
    }

    /** The latest full audit of any project, and the latest quick one: the dashboard shows both. */
    Optional<ReportStore.Entry> lastOf(Battery.Scope scope) {
        return entries().stream().filter(e -> e.scope().equalsIgnoreCase(scope.name())).reduce((a, b) -> b);
    }

    Optional<ReportStore.Entry> last() {
        List<ReportStore.Entry> all = entries;
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    }

    Duration every() {
        return every;
    }

    List<Target> targets() {
        return targets;
    }

    private Optional<ReportStore.Entry> lastFull(String project) {
        return entries().stream().filter(e -> e.project().equals(project) && e.scope().equalsIgnoreCase("full")).reduce((a, b) -> b);
    }

    private double lastWith(String result) {
        return entries().stream().filter(e -> e.result().equalsIgnoreCase(result)).reduce((a, b) -> b)
                .map(e -> (double) e.started().getEpochSecond()).orElse(0.0);
    }

    private List<ReportStore.Entry> entries() {
        return entries;
    }

    /** Re-reads the kept reports. */
    private void refresh() {
        try {
            entries = List.copyOf(new ReportStore(stateDir).list(new ArrayList<>()));
        } catch (IOException e) {
            // keep what was read last; the next refresh tries again
        }
    }

    private static Optional<String> sha256(Path file) {
        try {
            return Optional.of(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file))));
        } catch (IOException | NoSuchAlgorithmException e) {
            return Optional.empty();
        }
    }

    @Override
    public void close() {
        closing = true;
        runner.shutdownNow();
    }

    /** When the last audit started, for the dashboard. */
    static String age(Instant started, Instant now) {
        Duration d = Duration.between(started, now);
        return d.toDays() > 0 ? d.toDays() + " d ago" : d.toHours() > 0 ? d.toHours() + " h ago" : d.toMinutes() + " min ago";
    }
}
