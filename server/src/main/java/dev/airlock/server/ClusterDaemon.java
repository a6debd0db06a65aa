package dev.airlock.server;

import dev.airlock.gateway.audit.AuditIngest;
import dev.airlock.gateway.audit.AuditLog;
import dev.airlock.k8s.ClusterSettings;
import dev.airlock.k8s.KubeBackendException;
import dev.airlock.k8s.KubeClients;
import dev.airlock.k8s.KubernetesBackend;
import dev.airlock.k8s.PodCommand;
import dev.airlock.k8s.PodExec;
import dev.airlock.k8s.PodPool;
import dev.airlock.k8s.ProjectNames;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.pool.sizing.AutoSizer;
import dev.airlock.pool.state.StateDatabase;
import dev.airlock.pool.state.StateDatabaseException;
import dev.airlock.pool.usage.ClaimRecord;
import dev.airlock.pool.warm.PoolListener;
import dev.airlock.pool.warm.WarmPool;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * {@code airlock daemon} with {@code backend: kubernetes}: every configured project applied to the
 * cluster with its warm pool of agent pods ({@link KubernetesBackend}), sized as on one host (fixed,
 * or the Erlang-B recommendation from the usage history), its claims recorded in the same usage
 * history and reported to the same {@link PoolMetrics}, and its policy files followed. Commands
 * ({@code airlock run}, {@code sandbox exec}) run in a claimed pod through the API server's
 * {@code pods/exec} ({@link PodExec}; docs/kubernetes.md).
 */
final class ClusterDaemon implements AutoCloseable {

    /** How the daemon reaches the API server: {@link KubeClients#connect}, or a test's. */
    @FunctionalInterface
    interface Connect {
        KubernetesClient connect(Optional<Path> kubeconfig) throws KubeBackendException;
    }

    private static final Duration SIZING_WINDOW = Duration.ofDays(28);

    private final DaemonConfig config;
    private final PrintStream log;
    private final Clock clock;
    private final PrometheusMeterRegistry meters;
    private final PoolMetrics poolMetrics;
    private final UsageRecorder recorder;
    private final StateDatabase state;
    private final KubernetesClient client;
    private final PodExec exec;
    private final ScheduledExecutorService background;
    private final Map<String, Optional<AutoSizer>> sizers = new ConcurrentHashMap<>();
    private final Map<String, Integer> fixedSizes = new ConcurrentHashMap<>();
    /** The dashboard's denials, read from the chain; null without the audit ingest. */
    private ForwardedDenials denials;
    private KubernetesBackend backend;
    private ClusterPolicyWatch policies;
    private AuditLog auditLog;
    private AuditIngestServer ingestServer;
    private IngestTls ingestTls;

    private ClusterDaemon(DaemonConfig config, PrintStream log, Clock clock, StateDatabase state, KubernetesClient client) {
        this.config = config;
        this.log = log;
        this.clock = clock;
        this.meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        this.poolMetrics = new PoolMetrics(meters, clock);
        this.state = state;
        this.recorder = new UsageRecorder(state, poolMetrics, clock, log);
        this.client = client;
        this.exec = new PodExec(client);
        this.background = Daemon.backgroundExecutor();
    }

    /** Connects, applies every project, starts the pools and follows the policy files; nothing is left running on failure. */
    static ClusterDaemon start(DaemonConfig config, DaemonBackend.Kubernetes cluster, PrintStream log, Connect connect) throws DaemonException {
        try {
            // checked before anything connects; the settings with audit forwarding need the ingest's CA, read after connecting
            new ClusterSettings(cluster.namespace(), cluster.gatewayImage(), cluster.agentImage(), cluster.podCidr());
        } catch (IllegalArgumentException e) {
            throw new DaemonException(config.file() + ": kubernetes: " + e.getMessage() + ".");
        }
        StateDatabase state = openState(config);
        KubernetesClient client;
        try {
            client = connect.connect(cluster.kubeconfig());
        } catch (KubeBackendException e) {
            closeQuietly(state, log);
            throw new DaemonException(e.getMessage());
        }
        ClusterDaemon d = new ClusterDaemon(config, log, Clock.systemUTC(), state, client);
        try {
            // The ingest's certificate first: the gateway pods' objects carry its CA.
            if (cluster.auditIngest().isPresent()) {
                d.ingestTls = IngestTls.load(client, cluster.namespace(), cluster.auditIngest().get(), d.clock, log);
            }
            ClusterSettings settings = new ClusterSettings(cluster.namespace(), cluster.gatewayImage(), cluster.agentImage(), cluster.podCidr(),
                    cluster.auditIngest().map(a -> new ClusterSettings.AuditForward(a.url(), a.listen().getPort(), d.ingestTls.caPem())));
            d.reloadHistory();
            List<KubernetesBackend.Project> projects = new ArrayList<>();
            for (DaemonConfig.Project p : config.projects()) {
                projects.add(new KubernetesBackend.Project(p.policy(), policy -> d.desired(p, policy), cluster.coldStartTimeout(),
                        p.hardLimit()));
            }
            d.backend = KubernetesBackend.start(client, settings, config.org(), projects, d.recorder, d.clock);
            Map<String, Path> files = new LinkedHashMap<>();
            for (String project : d.backend.policies().keySet()) {
                files.put(project, d.backend.policyFile(project));
                d.poolMetrics.watch(project, () -> d.status(project));
            }
            d.policies = new ClusterPolicyWatch(files, config.org(), project -> {
                d.backend.reload(project);
                log.println("airlock daemon: the policy of " + project + " changed: its ConfigMap was applied and its pods rotate");
            });
            if (cluster.auditIngest().isPresent()) {
                d.startIngest(cluster.auditIngest().get());
                d.followDenials();
            }
            d.background.scheduleWithFixedDelay(d.policies::check, PolicyReloads.POLL.toMillis(), PolicyReloads.POLL.toMillis(), TimeUnit.MILLISECONDS);
            d.background.scheduleAtFixedRate(d::resize, 60, 60, TimeUnit.MINUTES);
            d.background.scheduleAtFixedRate(d::everyMinute, 1, 1, TimeUnit.MINUTES);
            return d;
        } catch (DaemonException e) {
            d.close();
            throw e;
        } catch (KubeBackendException | PolicyException | IOException | GeneralSecurityException | RuntimeException e) {
            d.close();
            throw new DaemonException(e instanceof PolicyException pe ? String.join("\n", pe.problems().stream().map(Object::toString).toList())
                    : e.getMessage());
        }
    }

    /**
     * The daemon's own chain ({@code STATE/audit.log}, where {@code airlock log} looks) and the
     * endpoint that takes the gateway pods' records into it.
     */
    private void startIngest(DaemonBackend.AuditIngest a) throws IOException, GeneralSecurityException {
        Path file = config.state().resolve("audit.log");
        auditLog = AuditLog.open(file, clock, AuditLog.Options.DEFAULTS, meters);
        AuditIngest ingest = AuditIngest.open(auditLog, file, backend::auditTokens, p -> new ProjectNames(p).gateway() + "-", meters);
        try {
            ingestServer = AuditIngestServer.start(a.listen(), ingest, ingestTls.context());
        } catch (IOException e) {
            throw new IOException("cannot take audit records on " + a.listen() + " (kubernetes.auditListen in " + config.file() + "): "
                    + e.getMessage() + ". Fix: choose a free port", e);
        }
        // Hourly: a given Secret is read again (cert-manager renews it), the daemon's own certificate renewed when due.
        background.scheduleAtFixedRate(ingestTls::check, 1, 1, TimeUnit.HOURS);
        log.println("airlock daemon: gateway pods' audit records are taken over TLS on " + a.listen() + " into " + file + " (certificate for "
                + IngestCertificates.namesFor(a.url()) + ", valid until " + ingestTls.certificate().getNotAfter().toInstant() + ")");
    }

    /** How often the dashboard's denials catch up with the chain (the page refreshes every 5 s). */
    private static final Duration DENIALS_POLL = Duration.ofSeconds(2);

    /** The dashboard's denials: those in the daemon's chain, which the gateway pods' records join. */
    private void followDenials() {
        denials = new ForwardedDenials(config.state().resolve("audit.log"));
        background.scheduleWithFixedDelay(this::readDenials, 0, DENIALS_POLL.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void readDenials() {
        try {
            denials.poll();
        } catch (IOException | RuntimeException e) {
            log.println("airlock daemon: cannot read the denials in " + config.state().resolve("audit.log") + " for the dashboard: " + e.getMessage());
        }
    }

    /** The ingest listener's address, when it runs (tests bind port 0). */
    Optional<java.net.InetSocketAddress> ingestAddress() {
        return Optional.ofNullable(ingestServer).map(AuditIngestServer::address);
    }

    private static StateDatabase openState(DaemonConfig config) throws DaemonException {
        try {
            Files.createDirectories(config.state());
            return StateDatabase.open(config.state().resolve("airlock.db"));
        } catch (IOException e) {
            throw new DaemonException("cannot create the state directory " + config.state() + ": " + e + ". Fix: check `state:` in " + config.file() + ".");
        } catch (StateDatabaseException e) {
            throw new DaemonException(e.getMessage());
        }
    }

    /** The pool size of {@code p}: its fixed {@code size:}, else the recommendation of the hour (pool.min while there is none). */
    private java.util.function.IntSupplier desired(DaemonConfig.Project p, ProjectPolicy policy) {
        if (p.size().isPresent()) {
            int fixed = p.size().get();
            fixedSizes.put(policy.project(), fixed);
            return () -> fixed;
        }
        String project = policy.project();
        sizers.put(project, sizer(project, policy));
        return () -> sizers.getOrDefault(project, Optional.empty()).map(AutoSizer::desiredSize).orElse(policy.pool().min());
    }

    private Optional<AutoSizer> sizer(String project, ProjectPolicy policy) {
        try {
            return Optional.of(AutoSizer.fromHistory(state, project, policy.pool(), SIZING_WINDOW, java.time.ZoneId.systemDefault(), clock));
        } catch (StateDatabaseException | RuntimeException e) {
            log.println("airlock daemon: cannot size the pool of " + project + " from its history (" + e.getMessage()
                    + "); keeping pool.min until the next hourly try");
            return Optional.empty();
        }
    }

    /** Recomputes every auto-sized pool's recommendation from the history (hourly), then reconciles. */
    void resize() {
        backend.policies().forEach((project, policy) -> {
            if (sizers.containsKey(project)) {
                sizers.put(project, sizer(project, policy));
            }
        });
        backend.refill();
    }

    /** Reconciles every pool with its desired size, and records the sizes, as the local daemon does. */
    private void everyMinute() {
        backend.refill();
        for (Map.Entry<String, PodPool.Figures> e : backend.status().entrySet()) {
            PodPool.Figures f = e.getValue();
            poolMetrics.weekly().size(e.getKey(), clock.instant(), f.ready());
            try {
                state.sample(e.getKey(), clock.instant(), f.desired(), f.ready(), f.warming(), f.inUse());
            } catch (StateDatabaseException ex) {
                log.println("airlock daemon: cannot record the pool size of " + e.getKey() + ": " + ex.getMessage());
            }
        }
    }

    private void reloadHistory() {
        try {
            for (ClaimRecord r : state.queryAll(clock.instant().minus(Duration.ofDays(14)))) {
                if (r.result() != ClaimRecord.Result.FAILED) {
                    poolMetrics.history(r.project(), r.time(), r.result() == ClaimRecord.Result.WARM);
                }
            }
        } catch (StateDatabaseException e) {
            log.println("airlock daemon: cannot read the usage history: " + e.getMessage());
        }
    }

    /** {@code project}'s pool as the local daemon's status reports it: sizes from the pods, claims from the metrics. */
    WarmPool.Status status(String project) {
        PodPool.Figures f = backend.status().getOrDefault(project, new PodPool.Figures(0, 0, 0, 0));
        return new WarmPool.Status(project, f.desired(), f.ready(), f.warming(), f.inUse(), count(project, PoolListener.Result.WARM),
                count(project, PoolListener.Result.COLD), count(project, PoolListener.Result.FAILED), Optional.empty(), 0,
                (long) meters.find("airlock.pool.member.deaths").tag("project", project).counters().stream().mapToDouble(Counter::count).sum());
    }

    private long count(String project, PoolListener.Result r) {
        Counter c = meters.find("airlock.claims").tag("project", project).tag("result", r.code()).counter();
        return c == null ? 0 : (long) c.count();
    }

    /** The projects, in configuration order. */
    List<String> projects() {
        return List.copyOf(backend.policies().keySet());
    }

    /** The Erlang-B recommendation an auto-sized pool follows (empty for a fixed size, or when the history could not be read). */
    Optional<dev.airlock.pool.sizing.Recommendation> recommendation(String project) {
        return sizers.getOrDefault(project, Optional.empty()).map(AutoSizer::recommendation);
    }

    /** {@code project}'s fixed {@code size:}, if it has one. */
    Optional<Integer> fixedSize(String project) {
        return Optional.ofNullable(fixedSizes.get(project));
    }

    /** The denials among the gateway pods' forwarded records, when they are forwarded ({@code kubernetes.auditListen}). */
    Optional<ForwardedDenials> forwardedDenials() {
        return Optional.ofNullable(denials);
    }

    /** {@code project}'s policy file, while the daemon pools it. */
    Optional<Path> policyFile(String project) {
        try {
            return Optional.of(backend.policyFile(project));
        } catch (KubeBackendException e) {
            return Optional.empty();
        }
    }

    DaemonConfig config() {
        return config;
    }

    /** Whether {@code project}'s pool is auto-sized. */
    boolean autoSized(String project) {
        return sizers.containsKey(project);
    }

    PoolMetrics poolMetrics() {
        return poolMetrics;
    }

    ClusterPolicyWatch policies() {
        return policies;
    }

    PrometheusMeterRegistry meters() {
        return meters;
    }

    DaemonBackend.Kubernetes cluster() {
        return (DaemonBackend.Kubernetes) config.backend();
    }

    /**
     * Claims a Ready pod of {@code project} (relabelled atomically), else starts one for this claim
     * and waits until it is Ready (a cold start, as on one host); {@code abandoned} completes when
     * the client goes away. The pool reports the claim (warm, cold or failed) to the usage history
     * and the metrics.
     */
    PodPool.Claim claim(String project, String claimId, java.util.concurrent.CompletionStage<?> abandoned) throws KubeBackendException {
        return backend.claim(project, claimId, abandoned);
    }

    /**
     * Starts {@code command} in a claimed pod's agent container through the API server's
     * {@code pods/exec}; {@code stdin} false closes its input at once.
     */
    PodCommand exec(PodPool.Claim claim, List<String> command, Map<String, String> env, boolean stdin, Optional<PodExec.Window> terminal)
            throws KubeBackendException {
        return exec.start(claim.pod(), command, env, stdin, terminal);
    }

    /** The project whose policy file is {@code policy} (as {@code airlock run --policy} names it), if this daemon pools it. */
    Optional<String> projectOf(Path policy) {
        Path wanted = Daemon.real(policy);
        for (String project : projects()) {
            try {
                if (Daemon.real(backend.policyFile(project)).equals(wanted)) {
                    return Optional.of(project);
                }
            } catch (KubeBackendException e) {
                // not running (any more): not this one
            }
        }
        return Optional.empty();
    }

    void release(String project, PodPool.Claim claim) throws KubeBackendException {
        backend.release(project, claim);
    }

    /**
     * Stops the pools first, while the API still answers: a claim waiting for a cold pod then tells
     * its client that the daemon stops (and its pod is deleted) instead of losing the connection.
     */
    void stopPools() {
        if (backend != null) {
            backend.close();
        }
    }

    @Override
    public void close() {
        background.shutdownNow();
        if (ingestServer != null) {
            ingestServer.close();
        }
        if (auditLog != null) {
            auditLog.close();
        }
        if (backend != null) {
            backend.close();
        }
        recorder.close();
        client.close();
        closeQuietly(state, log);
    }

    private static void closeQuietly(StateDatabase s, PrintStream log) {
        try {
            s.close();
        } catch (StateDatabaseException e) {
            log.println("airlock daemon: closing the state database: " + e.getMessage());
        }
    }
}
