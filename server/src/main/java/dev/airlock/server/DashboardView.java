package dev.airlock.server;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.pool.warm.WarmPool;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;

/**
 * What the dashboard shows, whichever backend runs the pools: {@link Dashboard} renders it, the
 * local daemon ({@link LocalDashboard}) and the Kubernetes one ({@link ClusterDashboard}) each
 * supply it from their own state, so both pages have the same panels, wording and escaping.
 */
interface DashboardView {

    /** The line under the heading: the configuration file and state directory (and the backend, when not local). */
    String where();

    List<PoolRow> pools();

    /** Policy files that do not load, by project: the old policy stays in force. */
    Map<String, String> policyProblems();

    List<SessionRow> sessions();

    /**
     * Runs in progress of policies the daemon does not pool ({@link ColdRuns}), oldest first; none
     * on a backend that has no such runs.
     */
    List<ColdRunTally.Entry> coldRuns();

    /** Released sandboxes whose work was not exported (none on a backend that keeps no work). */
    List<WorkReturn.KeptView> kept();

    /** Epoch hour → {warm, cold} claims, for the hit-rate plot. */
    SortedMap<Long, long[]> hourlyClaims();

    /** The zone the auto-sizer's hours of the week are in. */
    ZoneId weeklyZone();

    List<ProjectWeek> weeks();

    Denials denials();

    /** The advice a run's summary gives for {@code e}, naming its project's policy file. */
    String advice(AuditEvent e);

    Audits audits();

    /** One pool: its status, whether its size is fixed, claim latency quantiles (null: none yet), its last failure. */
    record PoolRow(WarmPool.Status status, boolean fixed, Duration claimP50, Duration claimP99, Optional<String> lastFailure) {
    }

    /**
     * One claimed sandbox: its id, name, project, whether it is one {@code airlock run}'s, whether
     * the claim was warm, when it was claimed, and its activity where the daemon follows it (empty:
     * idle time unknown, no idle timeout).
     */
    record SessionRow(String id, Optional<String> name, String project, boolean oneShot, boolean warm, Instant claimed,
            Optional<SessionActivity> activity) {
    }

    /** One project's week, with the Erlang-B recommendation per hour of the week (auto-sized) or its fixed size. */
    record ProjectWeek(String project, WeeklyUsage.Week week, Optional<int[]> recommended, Optional<Integer> fixedSize) {
    }

    /** Where the denials come from, or why there are none to show. */
    sealed interface Denials permits Recorded, NotCollected {
    }

    /** The denials the daemon holds. */
    record Recorded(RecentDenials denials) implements Denials {
    }

    /** The daemon sees no denials, and the sentence why (with the fix). */
    record NotCollected(String why) implements Denials {
    }

    /** The continuous audits: scheduled, turned off, or not run by this backend. */
    sealed interface Audits permits Scheduled, Off, NotRun {
    }

    record Scheduled(AuditScheduler scheduler) implements Audits {
    }

    /** {@code audits: false} in the daemon configuration. */
    record Off() implements Audits {
    }

    /** This backend does not run them, and what checks it instead. */
    record NotRun(String why) implements Audits {
    }
}
