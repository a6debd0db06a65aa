package dev.airlock.server;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.policy.address.AddressClassifier;
import dev.airlock.pool.sizing.HourOfWeek;
import dev.airlock.pool.warm.WarmPool;
import dev.airlock.runtime.BlockedSummary;
import java.time.ZoneId;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;

/** The dashboard of the local daemon: its sandboxes, its gateway's denials, its audit scheduler. */
final class LocalDashboard implements DashboardView {

    /** The classifier of a denial whose project this daemon no longer pools: the built-in address classes. */
    static final AddressClassifier BUILT_IN = new AddressClassifier();

    private final Daemon d;

    LocalDashboard(Daemon d) {
        this.d = d;
    }

    @Override
    public String where() {
        return d.config().file() + " · state " + d.config().state();
    }

    @Override
    public List<PoolRow> pools() {
        return d.projects().values().stream().map(p -> {
            WarmPool.Status s = p.pool().status();
            return new PoolRow(s, p.config().size().isPresent(), d.poolMetrics().claimQuantile(s.project(), 0.5),
                    d.poolMetrics().claimQuantile(s.project(), 0.99), s.lastFailure());
        }).toList();
    }

    @Override
    public Map<String, String> policyProblems() {
        Map<String, String> out = new LinkedHashMap<>();
        for (String project : d.projects().keySet()) {
            d.reloads().flatMap(r -> r.problem(project)).ifPresent(problem -> out.put(project, problem));
        }
        return out;
    }

    @Override
    public List<SessionRow> sessions() {
        return d.sessions().stream().map(s -> new SessionRow(s.id(), s.name, s.member.project(), s.oneShot, s.warm, s.claimed,
                Optional.of(s.activity))).toList();
    }

    @Override
    public List<ColdRunTally.Entry> coldRuns() {
        return d.cold().tally().live();
    }

    @Override
    public List<WorkReturn.KeptView> kept() {
        return d.kept();
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
        return d.projects().values().stream().map(p -> new ProjectWeek(p.project(), d.poolMetrics().weekly().week(p.project()),
                d.recommendation(p.project()).map(LocalDashboard::sizes), p.config().size())).toList();
    }

    /** The recommendation's chosen size per hour-of-week index. */
    static int[] sizes(dev.airlock.pool.sizing.Recommendation r) {
        int[] sizes = new int[HourOfWeek.COUNT];
        r.hours().forEach(x -> sizes[x.hour().index()] = x.chosen().size());
        return sizes;
    }

    @Override
    public Denials denials() {
        return new Recorded(d.events().denials());
    }

    /** The same advice a run's summary gives (one composer, {@link dev.airlock.policy.Advice}), naming the project's file. */
    @Override
    public String advice(AuditEvent e) {
        Daemon.ProjectPool p = d.projects().get(e.project());
        return p == null ? BlockedSummary.fix(e, "the project's airlock.yaml", BUILT_IN)
                : BlockedSummary.fix(e, p.config().policy().toString(), p.engine().classifier());
    }

    @Override
    public Audits audits() {
        return d.audits().<Audits>map(Scheduled::new).orElseGet(Off::new);
    }
}
