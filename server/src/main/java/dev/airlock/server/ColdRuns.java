package dev.airlock.server;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.policy.model.TrustedCa;
import dev.airlock.pool.state.MemberLog;
import dev.airlock.pool.state.StateDatabaseException;
import dev.airlock.runtime.BlockedSummary;
import dev.airlock.runtime.PolicyContext;
import dev.airlock.runtime.ProjectImage;
import dev.airlock.runtime.RunAs;
import dev.airlock.runtime.SandboxHost;
import dev.airlock.runtime.SandboxRun;
import dev.airlock.runtime.TerminalCommand;
import dev.airlock.sandbox.Resources;
import dev.airlock.sandbox.SandboxException;
import dev.airlock.sandbox.WindowSize;
import dev.airlock.sandbox.WorkspaceProtection;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The daemon's runs of policies it does not pool, with a cold run's semantics (docs/daemon.md,
 * "Policies the daemon does not pool"): for each run, a sandbox prepared now for that policy whose
 * /workspace is the caller's directory, decided by the daemon's gateway under the policy compiled
 * with the daemon's own organisation policy (production always wins; the caller names no other),
 * its records in the daemon's audit chain under the policy's project, and destroyed when the run
 * ends. Nothing of one run's sandbox is reused by the next; only parsed policies are
 * ({@link ColdPolicies}).
 *
 * <p>Who may ask is {@link CallerCheck}'s decision, made before anything here runs.
 */
final class ColdRuns implements AutoCloseable {

    /** One run's sandbox, and what its summary needs. */
    record Run(SandboxHost.Member member, ProjectPolicy policy, PolicyEngine engine, Duration took, List<String> notes) {
        String id() {
            return member.id();
        }
    }

    private final SandboxHost host;
    private final PolicyContext context;
    private final DaemonConfig config;
    private final DaemonEvents events;
    private final MemberLog records;
    private final ColdPolicies policies;
    private final Clock clock;
    private final PrintStream log;
    private final Map<String, Run> live = new ConcurrentHashMap<>();
    /** What the API, the status and /metrics show of these runs. */
    private final ColdRunTally tally;

    ColdRuns(SandboxHost host, PolicyContext context, DaemonConfig config, DaemonEvents events, MemberLog records, ColdRunTally tally,
            Clock clock, PrintStream log) {
        this.host = host;
        this.context = context;
        this.config = config;
        this.events = events;
        this.records = records;
        this.tally = tally;
        this.policies = new ColdPolicies(clock);
        this.clock = clock;
        this.log = log;
    }

    /**
     * Prepares the sandbox of one run of {@code policyFile} on {@code workspace} (absolute paths
     * the client sends), its processes running as {@code as} (the caller's sudo user, else nobody:
     * never the daemon's own). Nothing is left when it fails.
     */
    Run prepare(Path policyFile, Path workspace, RunAs as) throws DaemonException {
        long start = System.nanoTime();
        if (!policyFile.isAbsolute() || !workspace.isAbsolute()) {
            throw new DaemonException("the policy and the workspace must be absolute paths, not " + policyFile + " and " + workspace
                    + ". Fix: update the client (it sends them absolute).");
        }
        Path ws = workspace.normalize();
        if (!Files.isDirectory(ws)) {
            throw new DaemonException("workspace " + ws + " is not a directory; pass --workspace DIR");
        }
        ProjectPolicy policy;
        OrgPolicy org;
        PolicyEngine engine;
        try {
            policy = policies.project(policyFile);
            // the organisation policy as the daemon's configuration names it, read now: a caller names no other
            org = policies.org(config.org());
            engine = context.engine(policy, org, Phase.RUN);
        } catch (PolicyException e) {
            throw new DaemonException(String.join("\n", e.problems().stream().map(Object::toString).toList()));
        }
        List<String> notes = SandboxRun.workspaceNotes(ws, policyFile, as);
        WorkspaceProtection protection = SandboxRun.protection(policyFile, config.org(), config.hosts(), policy, Phase.RUN);
        ProjectPolicy.Resources r = policy.resources();
        List<TrustedCa> trust = TrustedCa.both(org.trust(), policy.trust());
        SandboxHost.Member m;
        try {
            Optional<Path> image = ProjectImage.root(host.launcher(), policy);
            m = host.prepare(policy.project(), engine, new Resources(r.memoryBytes(), r.cpus(), r.pids()), ws, protection, trust, image, as);
        } catch (SandboxException e) {
            throw new DaemonException(e.getMessage());
        }
        Run run = new Run(m, policy, engine, Duration.ofNanos(System.nanoTime() - start), notes);
        events.track(run.id());
        live.put(run.id(), run);
        tally.started(new ColdRunTally.Entry(run.id(), policy.project(), ws, policy.file(), clock.instant(), as));
        try {
            // a daemon killed now leaves a record: the next one says what it reaped
            records.put(run.id(), policy.project(), clock.instant(), "cold");
        } catch (StateDatabaseException e) {
            log.println("airlock daemon: cannot record " + run.id() + ": " + e.getMessage());
        }
        return run;
    }

    /** The run's command, handed to its sandbox's waiting init. */
    Process start(Run run, List<String> command, Map<String, String> env) throws DaemonException {
        try {
            return host.start(run.member(), command, env);
        } catch (SandboxException e) {
            throw new DaemonException(e.getMessage());
        }
    }

    /** As {@link #start}, on a terminal of its own in the sandbox. */
    TerminalCommand startWithTerminal(Run run, List<String> command, Map<String, String> env, WindowSize size) throws DaemonException {
        try {
            return host.startWithTerminal(run.member(), command, env, size);
        } catch (SandboxException e) {
            throw new DaemonException(e.getMessage());
        }
    }

    /**
     * Destroys the run's sandbox (every kernel object; the caller's directory stays, as it is not
     * the launcher's) and returns the summary of what it was denied, as a cold run prints it.
     * Idempotent: empty the second time.
     */
    String finish(Run run) {
        if (live.remove(run.id()) == null) {
            return "";
        }
        try {
            host.destroy(run.member());
        } finally {
            tally.finished(run.id());
        }
        List<AuditEvent> denied = events.untrack(run.id());
        try {
            records.remove(run.id());
        } catch (StateDatabaseException e) {
            log.println("airlock daemon: cannot update the database for " + run.id() + ": " + e.getMessage());
        }
        return BlockedSummary.text(denied, run.policy().file(), run.engine().classifier());
    }

    /** The runs in progress (for tests and the daemon's stop). */
    List<Run> live() {
        return List.copyOf(live.values());
    }

    /** What is shown of these runs: the live ones, the counts, the meters. */
    ColdRunTally tally() {
        return tally;
    }

    /** How many times a policy file was parsed (the rest came from the cache). */
    long parses() {
        return policies.parses();
    }

    /** At the daemon's stop: every run still going loses its sandbox (its client sees the connection end). */
    @Override
    public void close() {
        live().forEach(this::finish);
    }
}
