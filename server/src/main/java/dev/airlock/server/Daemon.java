package dev.airlock.server;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.audit.AuditLog;
import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.policy.model.TrustedCa;
import dev.airlock.pool.sizing.AutoSizer;
import dev.airlock.pool.usage.ClaimRecord;
import dev.airlock.pool.state.MemberLog;
import dev.airlock.pool.state.PoolHistory;
import dev.airlock.pool.state.StateDatabase;
import dev.airlock.pool.state.StateDatabaseException;
import dev.airlock.pool.state.UsageHistory;
import dev.airlock.pool.template.CatchUp;
import dev.airlock.pool.template.Template;
import dev.airlock.pool.template.TemplateException;
import dev.airlock.pool.warm.MemberFactory;
import dev.airlock.pool.warm.WarmPool;
import dev.airlock.runtime.BlockedSummary;
import dev.airlock.runtime.PolicyContext;
import dev.airlock.runtime.SandboxHost;
import dev.airlock.runtime.TerminalCommand;
import dev.airlock.sandbox.SandboxException;
import dev.airlock.sandbox.WindowSize;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The daemon's core, without its API: one {@link SandboxHost} (the shared gateway and launcher),
 * one warm pool per configured project, the claimed sandboxes, the metrics, and the SQLite state.
 *
 * <p>Recovery: at start the host reaps every sandbox whose owner is dead (the kernel objects of a
 * daemon killed with {@code kill -9}), the member table of the last run is read, reported and
 * cleared, and the pools refill. Claimed sandboxes are never handed to anyone else and are
 * destroyed on release; the daemon's own shutdown destroys everything it holds.
 */
public final class Daemon implements AutoCloseable {

    /** A pool member: a prepared sandbox, and the template its workspace is an overlay of (if the project has one). */
    record PoolMember(SandboxHost.Member sandbox, Optional<Template> template) {
        String id() {
            return sandbox.id();
        }

        String project() {
            return sandbox.project();
        }
    }

    /**
     * A claimed sandbox: its member, its project's pool, and whether its first command started; a
     * session ({@code POST /v1/claims}, {@code airlock sandbox create}) or the sandbox of one
     * {@code run} ({@code oneShot}), its optional name, and its activity (what the idle timeout reads).
     */
    static final class Session {
        final PoolMember member;
        final ProjectPool pool;
        final Instant claimed;
        final boolean warm;
        final Duration took;
        final Optional<String> name;
        final boolean oneShot;
        final SessionActivity activity;
        private boolean started;

        Session(PoolMember member, ProjectPool pool, Instant claimed, boolean warm, Duration took, Optional<String> name, boolean oneShot,
                SessionActivity activity) {
            this.member = member;
            this.pool = pool;
            this.claimed = claimed;
            this.warm = warm;
            this.took = took;
            this.name = name;
            this.oneShot = oneShot;
            this.activity = activity;
        }

        String id() {
            return member.id();
        }

        private int behind = -1;
        private int behindAtStart = -1;

        synchronized void behind(int behind, int atStart) {
            this.behind = behind;
            this.behindAtStart = atStart;
        }

        /** Commits the template was behind HEAD, and how many the first command started behind (the goal: 0); -1 unknown. */
        synchronized int[] behind() {
            return new int[] {behind, behindAtStart};
        }

        /** The commits the workspace started at, newest first (export's base); empty: none known, every commit is new. */
        private volatile List<String> bases = List.of();

        List<String> bases() {
            return bases;
        }

        void bases(List<String> bases) {
            this.bases = List.copyOf(bases);
        }

        /** Whether a command ever started in it (one that never ran anything has no work to bring back). */
        synchronized boolean started() {
            return started;
        }

        /** True once: the first command uses the waiting init, later ones a fresh bubblewrap. */
        synchronized boolean firstStart() {
            boolean first = !started;
            started = true;
            return first;
        }
    }

    /** One project: its policy in force (replaced by reloads), and its pool. */
    record ProjectPool(String project, LivePolicy live, WarmPool<PoolMember> pool,
            DaemonConfig.Project config, Optional<ProjectTemplates> templates) {
        ProjectPolicy policy() {
            return live.policy();
        }

        PolicyEngine engine() {
            return live.engine();
        }
    }

    private final DaemonConfig config;
    private final PrintStream log;
    private final Clock clock;
    private final PrometheusMeterRegistry meters;
    private final PoolMetrics poolMetrics;
    private final DaemonEvents events;
    private final SandboxHost host;
    /** The state database: {@link #records}, {@link #usage} and {@link #sizes} are its parts; closed at stop. */
    private final StateDatabase state;
    private final MemberLog records;
    private final UsageHistory usage;
    private final PoolHistory sizes;
    private final UsageRecorder recorder;
    private final ScheduledExecutorService background;
    private final Map<String, ProjectPool> projects = new LinkedHashMap<>();
    private final Map<String, Session> sessions = new ConcurrentHashMap<>();
    /** The names of live sessions (reserved before their claim, so two creates cannot take one name). */
    private final java.util.Set<String> names = ConcurrentHashMap.newKeySet();
    private final IdleSessions idleSessions;
    /** Auto-sized projects and their current sizer (empty while the history cannot be read). */
    private final Map<String, Optional<AutoSizer>> sizers = new ConcurrentHashMap<>();
    /** How much usage history auto mode reads (DESIGN: sizing per hour of the week). */
    private static final Duration SIZING_WINDOW = Duration.ofDays(28);
    private final List<MemberLog.Member> recovered;
    /** Airlock's version: part of every template's environment hash. */
    private final String version;
    /** Continuous audits, unless the configuration turns them off. */
    private volatile Optional<AuditScheduler> audits = Optional.empty();
    /** The organisation policy, the resolver and the host's facts every engine is compiled with; closed at stop. */
    private Optional<PolicyContext> policies = Optional.empty();
    /** The daemon follows its policy files (docs/daemon.md, "Policy changes"). */
    private volatile Optional<PolicyReloads> reloads = Optional.empty();
    /** The agents' work: exported at release, or kept (docs/daemon.md, "Getting the work back"). */
    private final WorkReturn work;
    /** Runs of policies no project here pools, with cold semantics (docs/daemon.md, "Policies the daemon does not pool"). */
    private final ColdRuns cold;

    private Daemon(DaemonConfig config, PrintStream log, Clock clock, PrometheusMeterRegistry meters, DaemonEvents events, SandboxHost host,
            StateDatabase state, ScheduledExecutorService background, List<MemberLog.Member> recovered, String version, PolicyContext context) {
        this.config = config;
        this.log = log;
        this.clock = clock;
        this.meters = meters;
        this.poolMetrics = new PoolMetrics(meters, clock);
        this.events = events;
        this.host = host;
        this.state = state;
        this.records = state;
        this.usage = state;
        this.sizes = state;
        this.recorder = new UsageRecorder(usage, poolMetrics, clock, log);
        this.background = background;
        this.recovered = recovered;
        this.version = version;
        this.idleSessions = new IdleSessions(() -> sessions.values().stream()
                .map(s -> new IdleSessions.Tracked(s.id(), s.member.project(), s.activity)).toList(), this::release, log, meters);
        this.work = new WorkReturn(new KeptWork(config.state(), clock, host.launcher().kernel()),
                new RepoImport(SandboxHost.sandboxAreas(config.state())), config.export(), clock, log);
        this.cold = new ColdRuns(host, context, config, events, state, new ColdRunTally(meters), clock, log);
    }

    /** Loads every project, reaps what a crashed daemon left, starts the gateway, and fills the pools. */
    public static Daemon start(DaemonConfig config, PrintStream log, String version) throws DaemonException {
        return start(config, log, version, SandboxHost::start);
    }

    /** How the daemon's host starts: on this machine's kernel ({@link SandboxHost#start(SandboxHost.Config)}), or a test's. */
    @FunctionalInterface
    interface HostStart {
        SandboxHost start(SandboxHost.Config c) throws SandboxException, IOException;
    }

    /** As {@link #start(DaemonConfig, PrintStream, String)}, with the host that {@code hosts} starts. */
    static Daemon start(DaemonConfig config, PrintStream log, String version, HostStart hosts) throws DaemonException {
        List<LoadedProject> loaded = new ArrayList<>();
        Optional<String> writable = PolicyLocations.problem(config);
        if (writable.isPresent()) {
            throw new DaemonException(writable.get());
        }
        PolicyContext context;
        try {
            // The host's own addresses and the production names' addresses, kept current for every project's engines.
            context = PolicyContext.open(config.org(), config.hosts(), log);
        } catch (PolicyException e) {
            throw new DaemonException(String.join("\n", e.problems().stream().map(Object::toString).toList()));
        } catch (IOException e) {
            throw new DaemonException(e.getMessage() + ". Airlock does not start without the host's addresses, which it must protect.");
        }
        try {
            for (DaemonConfig.Project p : config.projects()) {
                ProjectPolicy policy = PolicyFiles.loadProject(p.policy());
                loaded.add(new LoadedProject(p, policy, context.engine(policy, Phase.RUN), context.engine(policy, Phase.SETUP),
                        TrustedCa.both(context.org().trust(), policy.trust())));
            }
        } catch (PolicyException e) {
            context.close();
            throw new DaemonException(String.join("\n", e.problems().stream().map(Object::toString).toList()));
        }
        java.util.Set<String> names = new java.util.HashSet<>();
        for (LoadedProject l : loaded) {
            if (!names.add(l.policy().project())) {
                context.close();
                throw new DaemonException(config.file() + ": two policies name project '" + l.policy().project()
                        + "'. Fix: each project appears once; its name comes from `project:` in airlock.yaml.");
            }
        }
        try {
            // 0711: searchable, not listable. The sandbox user's bubblewrap must reach a template's
            // staging tree and a sandbox's overlay mount point below it; everything else in it is
            // 0700 or 0600 on its own (records, templates, the audit log, the socket, the database).
            Files.createDirectories(config.state());
            Files.setPosixFilePermissions(config.state(), PosixFilePermissions.fromString("rwx--x--x"));
            Path db = config.state().resolve("airlock.db");
            if (!Files.exists(db)) {
                // SQLite gives its WAL and shared-memory files the database file's mode: create it 0600 first
                Files.createFile(db, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            }
            Files.setPosixFilePermissions(db, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException e) {
            throw new DaemonException("cannot create the state directory " + config.state() + ": " + e + ". Fix: check `state:` in "
                    + config.file() + ".");
        }
        StateDatabase state;
        List<MemberLog.Member> previous;
        try {
            state = StateDatabase.open(config.state().resolve("airlock.db"));
        } catch (StateDatabaseException e) {
            throw new DaemonException(e.getMessage());
        }
        try {
            previous = state.all();
            state.clear();
        } catch (StateDatabaseException e) {
            closeQuietly(state, log);
            throw new DaemonException(e.getMessage());
        }
        PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        DaemonEvents events = null;
        SandboxHost host;
        try {
            events = new DaemonEvents(AuditLog.open(config.state().resolve("audit.log"), Clock.systemUTC(), AuditLog.Options.DEFAULTS, meters),
                    Clock.systemUTC());
            // the host's gateway owns the events (and the audit log under them) from here: its close closes them
            host = hosts.start(new SandboxHost.Config(config.state(), context.resolver(), events, meters, 2, "daemon"));
        } catch (IOException | SandboxException e) {
            if (events != null) {
                events.close(); // idempotent: a gateway that failed to start closed it already
            }
            context.close();
            closeQuietly(state, log);
            throw new DaemonException(e.getMessage());
        }
        // workspaces of members whose daemon died before their sandbox was recorded (the reap in
        // SandboxHost.start removed those it had records for); this daemon holds the state's lock
        List<String> swept = host.launcher().sweepMemberWorkspaces();
        if (!swept.isEmpty()) {
            log.println("airlock daemon: removed " + swept.size() + " workspace(s) no sandbox held: " + swept);
        }
        ScheduledExecutorService background = backgroundExecutor();
        Daemon d = new Daemon(config, log, Clock.systemUTC(), meters, events, host, state, background, previous, version, context);
        d.policies = Optional.of(context);
        d.reloadHistory();
        if (!previous.isEmpty()) {
            log.println("airlock daemon: recovered from an unclean stop: " + previous.size()
                    + " sandbox(es) of the previous daemon were reaped: " + previous.stream().map(MemberLog.Member::id).toList());
        }
        loaded.forEach(d::addProject);
        d.followPolicies(context);
        d.projects.values().forEach(p -> p.templates().ifPresent(t -> {
            try {
                if (t.current().isEmpty()) {
                    t.build();
                }
            } catch (TemplateException e) {
                log.println("airlock daemon: " + e.getMessage());
            }
        }));
        d.projects.values().forEach(p -> p.pool().refill());
        if (config.audits()) {
            List<AuditScheduler.Target> targets = d.projects.values().stream()
                    .map(p -> new AuditScheduler.Target(p.project(), p.config().policy(), config.org(), config.hosts())).toList();
            AuditScheduler scheduler = new AuditScheduler(config.state(), version, targets, context.org().auditEvery(), d.clock, log, meters);
            d.audits = Optional.of(scheduler);
            // the first check waits for the pools' first fill; then hourly
            background.scheduleAtFixedRate(scheduler::tick, 2, 60, java.util.concurrent.TimeUnit.MINUTES);
        }
        // auto sizes follow the hour of the week: re-read the history hourly, reconcile every minute
        background.scheduleAtFixedRate(d::resize, 1, 60, java.util.concurrent.TimeUnit.MINUTES);
        background.scheduleAtFixedRate(d::everyMinute, 1, 1, java.util.concurrent.TimeUnit.MINUTES);
        Duration idleCheck = IdleSessions.period(config.projects().stream().map(config::idleTimeoutOf).toList());
        background.scheduleAtFixedRate(d.idleSessions::tick, idleCheck.toMillis(), idleCheck.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        return d;
    }

    /**
     * The pool's builds, destroys, retries and ticks: up to four platform threads that end after
     * {@code airlock.daemon.threadKeepAlive} (ISO-8601 duration, default PT30S) of idleness. No
     * sandbox depends on these threads living (sandboxes are forked by the launcher's spawner
     * thread); the soak test shortens the keep-alive so its idle gaps outlast it within minutes.
     */
    static ScheduledExecutorService backgroundExecutor() {
        java.util.concurrent.ScheduledThreadPoolExecutor e = new java.util.concurrent.ScheduledThreadPoolExecutor(4,
                Thread.ofPlatform().daemon().name("airlock-pool-", 0).factory());
        e.setKeepAliveTime(threadKeepAlive().toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS);
        e.allowCoreThreadTimeOut(true);
        e.setRemoveOnCancelPolicy(true);
        // at shutdown, a retry waiting out its backoff is dropped, not awaited
        e.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        return e;
    }

    /** The keep-alive of the daemon's idle worker threads (see {@link #backgroundExecutor}). */
    static Duration threadKeepAlive() {
        String v = System.getProperty("airlock.daemon.threadKeepAlive", "PT30S");
        try {
            Duration d = Duration.parse(v);
            return d.isNegative() || d.isZero() ? Duration.ofSeconds(30) : d;
        } catch (java.time.format.DateTimeParseException e) {
            return Duration.ofSeconds(30);
        }
    }

    /** A configured project with its policy compiled for runs and for template setups. */
    private record LoadedProject(DaemonConfig.Project config, ProjectPolicy policy, PolicyEngine engine, PolicyEngine setupEngine,
            List<TrustedCa> trust) {
    }

    /** Reloads of every project's policy and the organisation policy, looked at every {@link PolicyReloads#POLL}. */
    private void followPolicies(PolicyContext context) {
        // a policy in force that changed is audited (the scheduler sees the change and queues the full battery)
        PolicyReloads r = new PolicyReloads(config, context, host, meters, log,
                () -> audits.ifPresent(AuditScheduler::tick));
        projects.values().forEach(p -> r.follow(p, context.org(), () -> {
            if (sizers.containsKey(p.project())) {
                sizers.put(p.project(), sizer(p.project(), p.policy()));
            }
            p.pool().refill();
        }));
        reloads = Optional.of(r);
        long poll = PolicyReloads.POLL.toMillis();
        background.scheduleWithFixedDelay(r::check, poll, poll, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    Optional<PolicyReloads> reloads() {
        return reloads;
    }

    private void addProject(LoadedProject loaded) {
        DaemonConfig.Project cfg = loaded.config();
        ProjectPolicy policy = loaded.policy();
        // the factory and the setups read the policy in force at each build: a reload applies to the next one
        LivePolicy live = new LivePolicy(new LivePolicy.Compiled(policy, loaded.engine(), loaded.setupEngine(), loaded.trust()));
        String project = policy.project();
        Optional<ProjectTemplates> templates = Optional.empty();
        if (policy.workspace().isPresent()) {
            try {
                templates = Optional.of(new ProjectTemplates(policy, new HostSetupRunner(host, live), config.state(), version,
                        clock, log, meters));
            } catch (TemplateException e) {
                log.println("airlock daemon: templates of " + project + " are unavailable: " + e.getMessage());
            }
        }
        Optional<ProjectTemplates> tpl = templates;
        // The members' .git/hooks and .git/config are read-only unless the project opts out
        // (LivePolicy.settings()); the policy itself is the daemon's file, never one inside a member's workspace.
        MemberFactory<PoolMember> factory = new MemberFactory<>() {
            @Override
            public PoolMember create(String p) throws Exception {
                // A reload that changed resources or git protection during the build rotated the ready
                // members but could not reach this one: it is built again under the new settings.
                for (int tries = 1; ; tries++) {
                    LivePolicy.Settings settings = live.settings();
                    PoolMember m = build(settings);
                    if (tries == 3 || live.settings().equals(settings)) {
                        return m;
                    }
                    destroy(m);
                }
            }

            /**
             * The template's sealed root layer, stacked read-only over the image for every member
             * (docs/images.md, "Setup as root"); none when its setup had no root step. Mounted per
             * member, not once per template: the mount lives and dies with the member's own
             * objects (teardown, reaper), and a mount costs one mount call.
             */
            private Optional<dev.airlock.runtime.TemplateLayer> rootLayer(Template t) throws Exception {
                String name = t.id().rootLayer();
                if (host.launcher().rootLayerSealed(project, name)) {
                    return Optional.of(new dev.airlock.runtime.TemplateLayer(name, false));
                }
                if (live.policy().workspace().map(w -> w.rootSteps() > 0).orElse(false)) {
                    throw new TemplateException("template " + t.id() + " of " + project + " has root: true steps but no sealed root layer "
                            + name + ". Fix: rebuild the template (airlock template build).");
                }
                return Optional.empty();
            }

            private PoolMember build(LivePolicy.Settings settings) throws Exception {
                // The project's image (docs/images.md), unpacked once per digest; the template's id includes its digest.
                Optional<Path> image = dev.airlock.runtime.ProjectImage.root(host.launcher(), live.policy());
                if (tpl.isPresent()) {
                    Template t = tpl.get().current().orElseThrow(() -> new TemplateException("no template of " + project
                            + " yet: its first build runs (the daemon's log shows its progress)" + tpl.get().lastFailure()
                                    .map(f -> "; the last build failed: " + f).orElse("")));
                    SandboxHost.Member m = host.prepare(project, live.engine(), settings.resources(), t.tree(), true, settings.protection(),
                            settings.trust(), image, rootLayer(t));
                    live.adopt(host, m);
                    records.put(m.id(), project, clock.instant(), "ready");
                    return new PoolMember(m, Optional.of(t));
                }
                Path ws = host.launcher().memberWorkspace(project);
                try {
                    SandboxHost.Member m = host.prepare(project, live.engine(), settings.resources(), ws, false, settings.protection(),
                            settings.trust(), image);
                    live.adopt(host, m);
                    records.put(m.id(), project, clock.instant(), "ready");
                    return new PoolMember(m, Optional.empty());
                } catch (SandboxException | StateDatabaseException | RuntimeException e) {
                    host.launcher().discardMemberWorkspace(ws);
                    throw e;
                }
            }

            @Override
            public boolean usable(PoolMember m) {
                return m.sandbox().init().isAlive();
            }

            @Override
            public java.util.concurrent.CompletionStage<dev.airlock.pool.warm.MemberDeath> death(PoolMember m) {
                // the JVM's process reaper waits on the init (waitpid): completes the moment the kernel reports its exit
                Process init = m.sandbox().init();
                java.util.concurrent.CompletableFuture<dev.airlock.pool.warm.MemberDeath> death = new java.util.concurrent.CompletableFuture<>();
                init.onExit().thenAccept(p -> {
                    // at shutdown the launcher kills every sandbox (its own hook may run before the daemon's): not a death to replace
                    if (!host.launcher().closed()) {
                        death.complete(dev.airlock.pool.warm.MemberDeath.ofExit("sandbox " + m.id(), p.exitValue()));
                    }
                });
                return death;
            }

            @Override
            public void destroy(PoolMember m) {
                host.destroy(m.sandbox()); // its workspace too (the launcher owns member workspaces)
                try {
                    records.remove(m.id());
                } catch (StateDatabaseException e) {
                    log.println("airlock daemon: cannot update the database for " + m.id() + ": " + e.getMessage());
                }
            }
        };
        java.util.function.IntSupplier desired;
        if (cfg.size().isPresent()) {
            int fixed = cfg.size().get();
            desired = () -> fixed;
        } else {
            sizers.put(project, sizer(project, policy));
            desired = () -> sizers.get(project).map(AutoSizer::desiredSize).orElse(live.policy().pool().min());
        }
        WarmPool<PoolMember> pool = new WarmPool<>(project,
                new WarmPool.Settings(cfg.hardLimit(), Duration.ofSeconds(1), Duration.ofMinutes(5)), factory, desired, background,
                System::nanoTime, recorder);
        poolMetrics.watch(project, pool::status);
        idleSessions.watch(project);
        templates.ifPresent(t -> t.onNewTemplate(pool::rotate));
        projects.put(project, new ProjectPool(project, live, pool, cfg, templates));
    }

    private static void closeQuietly(StateDatabase store, PrintStream log) {
        try {
            store.close();
        } catch (StateDatabaseException e) {
            log.println("airlock daemon: closing the state database: " + e.getMessage());
        }
    }

    /** Auto mode: the recommendation from this project's usage history (empty when it cannot be read). */
    private Optional<AutoSizer> sizer(String project, ProjectPolicy policy) {
        try {
            return Optional.of(AutoSizer.fromHistory(usage, project, policy.pool(), SIZING_WINDOW, java.time.ZoneId.systemDefault(), clock));
        } catch (StateDatabaseException | RuntimeException e) {
            log.println("airlock daemon: cannot size the pool of " + project + " from its history (" + e.getMessage()
                    + "); keeping pool.min until the next hourly try");
            return Optional.empty();
        }
    }

    /** Recomputes every auto-sized pool's recommendation from the history, then reconciles. */
    private void resize() {
        for (ProjectPool p : projects.values()) {
            if (sizers.containsKey(p.project())) {
                sizers.put(p.project(), sizer(p.project(), p.policy()));
            }
            p.pool().refill();
        }
    }

    /** Checks every project's branch (fetch) and acts on what moved; off the pool's threads, as fetches can be slow. */
    void refreshTemplates() {
        for (ProjectPool p : projects.values()) {
            p.templates().ifPresent(t -> Thread.ofVirtual().name("airlock-template-check-" + p.project()).start(t::refresh));
        }
    }

    /** Reconciles every pool with its desired size, and records the sizes (the evidence's pool size over time). */
    private void everyMinute() {
        refreshTemplates();
        sweepKept();
        for (ProjectPool p : projects.values()) {
            p.pool().refill();
            WarmPool.Status s = p.pool().status();
            poolMetrics.weekly().size(p.project(), clock.instant(), s.ready());
            try {
                sizes.sample(p.project(), clock.instant(), s.desired(), s.ready(), s.warming(), s.inUse());
            } catch (StateDatabaseException e) {
                log.println("airlock daemon: cannot record the pool size of " + p.project() + ": " + e.getMessage());
            }
        }
    }

    /** Ends kept work whose retention window has passed. */
    void sweepKept() {
        for (String r : work.sweep()) {
            log.println("airlock daemon: retention window passed, removed " + r);
        }
    }

    /** The hourly warm/cold series of the dashboard, from the recorded history. */
    private void reloadHistory() {
        try {
            for (ClaimRecord r : usage.queryAll(clock.instant().minus(Duration.ofDays(14)))) {
                if (r.result() != ClaimRecord.Result.FAILED) {
                    poolMetrics.history(r.project(), r.time(), r.result() == ClaimRecord.Result.WARM);
                }
            }
        } catch (StateDatabaseException e) {
            log.println("airlock daemon: cannot read the usage history: " + e.getMessage());
        }
    }

    /** Claims a sandbox of {@code project} for one run: a ready member when there is one, else one built now. */
    Session claim(String project) throws DaemonException {
        return claim(project, Optional.empty(), true);
    }

    /** Claims a sandbox of {@code project} for a session of several commands, optionally named (unique among live sessions). */
    Session claimSession(String project, Optional<String> name) throws DaemonException {
        return claim(project, name, false);
    }

    private Session claim(String project, Optional<String> name, boolean oneShot) throws DaemonException {
        ProjectPool p = projects.get(project);
        if (p == null) {
            throw new DaemonException("no project '" + project + "' in " + config.file() + ". Fix: one of " + projects.keySet() + ".");
        }
        if (name.isPresent() && !names.add(name.get())) {
            throw new DaemonException("a session named " + name.get() + " exists. Fix: choose another name, or stop it first with `airlock sandbox stop "
                    + name.get() + "`.");
        }
        long start = System.nanoTime();
        WarmPool.Claim<PoolMember> c;
        try {
            c = p.pool().claim();
        } catch (WarmPool.ClaimException e) {
            name.ifPresent(names::remove);
            throw new DaemonException(e.getMessage());
        } catch (RuntimeException e) {
            name.ifPresent(names::remove);
            throw e;
        }
        Session s = new Session(c.member(), p, clock.instant(), c.warm(), Duration.ofNanos(System.nanoTime() - start), name, oneShot,
                new SessionActivity(clock, config.idleTimeoutOf(p.config())));
        if (c.warm()) {
            audits.ifPresent(a -> a.claimed(project));
        }
        events.track(s.id());
        sessions.put(s.id(), s);
        try {
            records.state(s.id(), "claimed");
        } catch (StateDatabaseException e) {
            log.println("airlock daemon: cannot update the database for " + s.id() + ": " + e.getMessage());
        }
        return s;
    }

    /** Starts {@code command} in a claimed sandbox; its stdio are the returned process's. It counts as the session's activity until it ends. */
    Process exec(String id, List<String> command, Map<String, String> env) throws DaemonException {
        Session s = session(id);
        s.activity.commandStarted();
        Process p;
        try {
            p = start(s, id, command, env);
        } catch (DaemonException | RuntimeException e) {
            s.activity.commandEnded();
            throw e;
        }
        p.onExit().thenRun(s.activity::commandEnded);
        return p;
    }

    private Process start(Session s, String id, List<String> command, Map<String, String> env) throws DaemonException {
        try {
            if (!s.firstStart()) {
                return host.exec(s.member.sandbox(), command, env);
            }
            return host.start(s.member.sandbox(), firstCommand(s, id, command), env);
        } catch (SandboxException e) {
            throw new DaemonException(e.getMessage());
        }
    }

    /**
     * As {@link #exec}, on a terminal of its own in the sandbox, of {@code size} (the client's
     * stdin is a terminal): its stdio and controlling terminal are the returned pty.
     */
    TerminalCommand execWithTerminal(String id, List<String> command, Map<String, String> env, WindowSize size) throws DaemonException {
        Session s = session(id);
        try {
            if (!s.firstStart()) {
                return host.execWithTerminal(s.member.sandbox(), command, env, size);
            }
            return host.startWithTerminal(s.member.sandbox(), firstCommand(s, id, command), env, size);
        } catch (SandboxException e) {
            throw new DaemonException(e.getMessage());
        }
    }

    /** The first command of a sandbox over a template starts at the branch's HEAD (a catch-up runs before it). */
    private List<String> firstCommand(Session s, String id, List<String> command) {
        s.member.template().ifPresent(t -> s.bases(List.of(t.id().commit())));
        if (s.member.template().isPresent() && s.pool.templates().isPresent()) {
            try {
                CatchUp.Result r = s.pool.templates().get().catchUp(s.member.template().get(), s.member.sandbox().workspace(),
                        command);
                s.behind(r.behind(), r.behindAtStart());
                if (r.caughtUp()) {
                    // the first command checks out HEAD; should that fail inside, the template's commit is the base
                    s.bases(List.of(r.head(), s.member.template().get().id().commit()));
                }
                return r.command();
            } catch (TemplateException e) {
                log.println("airlock daemon: catch-up of " + id + " skipped: " + e.getMessage());
            }
        }
        return command;
    }

    /** Destroys a claimed sandbox (after its work came back) and returns the summary of what it was denied, and where its work is. */
    String release(String id) throws DaemonException {
        return releaseWork(id).text();
    }

    /** What a release says: the summary of what the sandbox was denied, and what became of its work. */
    record Released(String summary, WorkReturn.Outcome work) {
        String text() {
            return work.kind() == WorkReturn.Kind.NOTHING ? summary : summary + work.summary() + "\n";
        }
    }

    /**
     * Releases a claimed sandbox: its work is exported or kept first ({@link WorkReturn}), then it
     * is destroyed, unless its work could not even be captured: then it is held until the
     * retention window has passed.
     */
    Released releaseWork(String id) throws DaemonException {
        Session s = sessions.remove(id);
        if (s == null) {
            throw new DaemonException("no claimed sandbox " + id + ". Fix: list them with GET /v1/sandboxes.");
        }
        s.name.ifPresent(names::remove);
        List<AuditEvent> denied = events.untrack(id);
        WorkReturn.Outcome o = returnWork(s);
        if (o.destroyable()) {
            s.pool.pool().release(s.member);
        }
        // The file the daemon loaded, as a cold run names its own.
        return new Released(BlockedSummary.text(denied, s.pool.config().policy().toString(), s.pool.engine().classifier()), o);
    }

    private WorkReturn.Outcome returnWork(Session s) {
        if (!s.started()) {
            return new WorkReturn.Outcome(s.id(), WorkReturn.Kind.NOTHING, "airlock: nothing new in " + s.id() + ": it ran no command",
                    Optional.empty(), Optional.empty());
        }
        return work.release(live(s), () -> s.pool.pool().release(s.member));
    }

    /** Exports the work of a claimed sandbox, or kept work, into {@code to} (default: the project's local workspace.source). */
    WorkReturn.Outcome export(String id, Optional<Path> to) throws DaemonException {
        Session s = sessions.get(id);
        try {
            if (s != null) {
                if (!s.started()) {
                    return new WorkReturn.Outcome(id, WorkReturn.Kind.NOTHING, "airlock: nothing new in " + id + ": it ran no command",
                            Optional.empty(), Optional.empty());
                }
                return work.export(live(s), to);
            }
            return work.exportKept(id, to).orElseThrow(() -> new DaemonException("no claimed sandbox or kept work " + id
                    + ". Fix: list them with GET /v1/sandboxes (kept work is removed once its retention window has passed)."));
        } catch (WorkReturn.ExportException e) {
            throw new DaemonException(e.getMessage());
        }
    }

    /** Work that was not exported, kept as files or in its held sandbox. */
    List<WorkReturn.KeptView> kept() {
        return work.kept();
    }

    /** What export's git inside a sandbox sees of the environment: no configuration but the repository's own. */
    private static final Map<String, String> EXPORT_ENV = Map.of("GIT_CONFIG_NOSYSTEM", "1", "GIT_CONFIG_GLOBAL", "/dev/null", "LC_ALL", "C",
            "GIT_TERMINAL_PROMPT", "0");

    private WorkReturn.Live live(Session s) {
        SandboxHost.Member m = s.member.sandbox();
        return new WorkReturn.Live(s.id(), s.member.project(), localSource(s.pool.policy()), s.bases(), m.workspace(), cmd -> {
            try {
                return host.exec(m, cmd, EXPORT_ENV);
            } catch (SandboxException e) {
                throw new IOException(e.getMessage(), e);
            }
        }, () -> {
            try {
                return host.launcher().changes(m.sandbox());
            } catch (SandboxException e) {
                throw new IOException(e.getMessage(), e);
            }
        });
    }

    /** The project's {@code workspace.source} when it is a local directory (a path or a file:// URL): where its work is exported. */
    static Optional<Path> localSource(ProjectPolicy policy) {
        Optional<String> source = policy.workspace().map(ProjectPolicy.Workspace::source);
        if (source.isEmpty()) {
            return Optional.empty();
        }
        String src = source.get();
        Path p;
        try {
            if (src.startsWith("/")) {
                p = Path.of(src);
            } else if (src.startsWith("file://")) {
                p = Path.of(java.net.URI.create(src));
            } else {
                return Optional.empty();
            }
        } catch (IllegalArgumentException | java.nio.file.FileSystemNotFoundException e) {
            return Optional.empty();
        }
        return Files.isDirectory(p) ? Optional.of(p) : Optional.empty();
    }

    Session session(String id) throws DaemonException {
        Session s = sessions.get(id);
        if (s == null) {
            throw new DaemonException("no claimed sandbox " + id + ". Fix: claim one with POST /v1/claims.");
        }
        return s;
    }

    List<Session> sessions() {
        return new ArrayList<>(sessions.values());
    }

    Map<String, ProjectPool> projects() {
        return projects;
    }

    /** The Erlang-B recommendation an auto-sized pool follows (empty for a fixed size, or when the history could not be read). */
    Optional<dev.airlock.pool.sizing.Recommendation> recommendation(String project) {
        return sizers.getOrDefault(project, Optional.empty()).map(AutoSizer::recommendation);
    }

    PoolMetrics poolMetrics() {
        return poolMetrics;
    }

    /** How long a run's end waits for its audit records to reach the file before it goes on anyway. */
    static final java.time.Duration RECORDS_WAIT = java.time.Duration.ofSeconds(5);

    /**
     * Waits until every gateway record so far is in the audit log's file, so that a run's decisions
     * are readable (and survive a {@code kill -9} of the daemon) once its client has seen it end.
     */
    void awaitRecordsWritten() throws InterruptedException {
        if (!events.awaitWritten(RECORDS_WAIT)) {
            log.println("airlock: audit records were not written within " + RECORDS_WAIT.toSeconds()
                    + " s of a command's exit; the log's writer is slow or has failed (see airlock_audit_queue_depth)");
        }
    }

    DaemonEvents events() {
        return events;
    }

    public PrometheusMeterRegistry meters() {
        return meters;
    }

    Optional<AuditScheduler> audits() {
        return audits;
    }

    DaemonConfig config() {
        return config;
    }

    List<MemberLog.Member> recovered() {
        return recovered;
    }

    /** The pooled project whose configured policy file is {@code policy} (compared as real paths). */
    Optional<String> projectOf(Path policy) {
        Path wanted = real(policy);
        return projects.values().stream().filter(p -> real(p.config().policy()).equals(wanted)).map(ProjectPool::project).findFirst();
    }

    static Path real(Path p) {
        try {
            return p.toRealPath();
        } catch (IOException e) {
            return p.toAbsolutePath().normalize();
        }
    }

    Optional<ProjectPool> project(String name) {
        return Optional.ofNullable(projects.get(name));
    }

    /** Runs of policies the daemon does not pool. */
    ColdRuns cold() {
        return cold;
    }

    @Override
    public void close() {
        for (Session s : List.copyOf(sessions.values())) {
            sessions.remove(s.id());
            // the work of a sandbox still claimed comes back (or is kept) before the daemon stops
            WorkReturn.Outcome o = returnWork(s);
            if (o.kind() == WorkReturn.Kind.HELD) {
                log.println("airlock daemon: stopping: the work of " + s.id() + " could not be captured and goes with its sandbox");
            }
            host.destroy(s.member.sandbox());
        }
        for (WorkReturn.Held h : work.drainHeld()) {
            // its member is still the pool's (in use): the pool's close below destroys it
            log.println("airlock daemon: stopping: the work of " + h.live().id() + " (held: " + h.reason() + ") goes with its sandbox");
        }
        cold.close();
        audits.ifPresent(AuditScheduler::close);
        policies.ifPresent(PolicyContext::close);
        projects.values().forEach(p -> p.pool().close());
        // Builds and destroys in flight finish (a build that ends after the close destroys its own
        // member): interrupting them left half-removed sandboxes whose lease still named this daemon.
        background.shutdown();
        try {
            if (!background.awaitTermination(2, java.util.concurrent.TimeUnit.MINUTES)) {
                log.println("airlock daemon: pool work still running after 2 minutes; interrupting it (`airlock gc` removes what it leaves)");
                background.shutdownNow();
            }
        } catch (InterruptedException e) {
            background.shutdownNow();
            Thread.currentThread().interrupt();
        }
        recorder.close();
        // the gateway stops, then the audit log closes
        host.close();
        try {
            records.clear();
        } catch (StateDatabaseException e) {
            log.println("airlock daemon: cannot clear the database: " + e.getMessage());
        }
        closeQuietly(state, log);
    }
}
