package dev.airlock.server;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.pool.warm.WarmPool;
import dev.airlock.runtime.BlockedSummary;
import java.time.ZoneId;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;

/**
 * The dashboard of a daemon on {@code backend: kubernetes}, the same page as on one host
 * ({@link Dashboard}): pools from the pods, sessions from the claimed pods, claims by hour and by
 * hour of the week from the same usage figures, denials from the records the gateway pods forward
 * into the daemon's audit chain. Continuous audits do not run on this backend, and the page says so.
 */
final class ClusterDashboard implements DashboardView {

    static final String AUDITS_NOT_RUN = "continuous audits do not run on backend: kubernetes: their probes run from a sandbox on the"
            + " daemon's host, and the agents here are pods. What is enforced where, and what needs a NetworkPolicy-enforcing CNI:"
            + " docs/kubernetes.md";

    private final ClusterDaemon d;
    private final Map<String, ClusterApiHandler.Held> claims;

    ClusterDashboard(ClusterDaemon d, Map<String, ClusterApiHandler.Held> claims) {
        this.d = d;
        this.claims = claims;
    }

    @Override
    public String where() {
        return "backend: kubernetes, namespace " + d.cluster().namespace() + " · " + d.config().file() + " · state " + d.config().state();
    }

    @Override
    public List<PoolRow> pools() {
        return d.projects().stream().map(project -> {
            WarmPool.Status s = d.status(project);
            return new PoolRow(s, !d.autoSized(project), d.poolMetrics().claimQuantile(project, 0.5), d.poolMetrics().claimQuantile(project, 0.99),
                    d.poolMetrics().lastRefillFailure(project));
        }).toList();
    }

    @Override
    public Map<String, String> policyProblems() {
        Map<String, String> out = new LinkedHashMap<>();
        for (String project : d.projects()) {
            d.policies().problem(project).ifPresent(problem -> out.put(project, problem));
        }
        return out;
    }

    /** The claimed pods: warm or cold as the claim was served; the daemon does not follow their idle time. */
    @Override
    public List<SessionRow> sessions() {
        return claims.entrySet().stream().map(e -> new SessionRow(e.getKey(), Optional.empty(), e.getValue().project(), e.getValue().oneShot(), e.getValue().claim().warm(),
                e.getValue().claimedAt(), Optional.empty())).toList();
    }

    /** A released pod is deleted with its workspace: no work is kept on this backend. */
    @Override
    public List<ColdRunTally.Entry> coldRuns() {
        // this backend runs every command in a claimed pod, which the sessions panel lists
        return List.of();
    }

    @Override
    public List<WorkReturn.KeptView> kept() {
        return List.of();
    }

    @Override
    public SortedMap<Long, long[]> hourlyClaims() {
        return d.poolMetrics().hourly();
    }

    @Override
    public ZoneId weeklyZone() {
        return d.poolMetrics().weekly().zone();
    }

    @Override
    public List<ProjectWeek> weeks() {
        return d.projects().stream().map(project -> new ProjectWeek(project, d.poolMetrics().weekly().week(project),
                d.recommendation(project).map(LocalDashboard::sizes), d.fixedSize(project))).toList();
    }

    @Override
    public Denials denials() {
        return d.forwardedDenials().<Denials>map(f -> new Recorded(f.denials())).orElseGet(() -> new NotCollected(
                "no denials here: the gateway pods' audit records are not forwarded to this daemon (kubernetes.auditListen and auditUrl are"
                        + " not set in " + d.config().file() + "), so they stay in each gateway pod's own log. Fix: set both (docs/kubernetes.md)"));
    }

    /** The advice a run's summary gives, naming the project's policy file; addresses classed by the built-in ranges (no host here). */
    @Override
    public String advice(AuditEvent e) {
        return BlockedSummary.fix(e, d.policyFile(e.project()).map(Object::toString).orElse("the project's airlock.yaml"), LocalDashboard.BUILT_IN);
    }

    @Override
    public Audits audits() {
        return new NotRun(AUDITS_NOT_RUN);
    }
}
