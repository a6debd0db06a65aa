package dev.airlock.gateway.reload;

import dev.airlock.gateway.registry.SandboxRegistry;
import dev.airlock.policy.HostFacts;
import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.load.Problem;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Hot reload of a project policy (and the organisation policy) during live traffic: the standalone
 * gateway's ({@code airlock gateway}) and, one per project, the daemon's.
 *
 * <p>Design: a reload compiles a complete new engine first and only then hands it to its
 * {@link Target} (the registry's swap, or the daemon's pool), so a connection sees either the old
 * policy or the new one, never a mix. Each file keeps its own last good version: a broken project
 * file keeps the project's old rules while a valid change of the organisation policy (a new
 * production name) still takes effect, and the other way round. Every problem is printed with its
 * file, line, column and fix, kept in {@link #problem()} until a reload succeeds, and counted in
 * {@code airlock_policy_reloads_total{project,result="failed"}} (and
 * {@code airlock_policy_reload_failures_total}), which an alert can watch.
 */
public final class PolicyReloader {

    /** What a reload loaded, and the engine (run phase) compiled from it. */
    public record Loaded(ProjectPolicy project, OrgPolicy org, PolicyEngine engine) {
    }

    /** Where a compiled policy goes; a {@link PolicyException} refuses it and keeps the old one in force. */
    @FunctionalInterface
    public interface Target {
        void apply(Loaded loaded) throws PolicyException;
    }

    /** A check before anything is loaded; a problem (its text says the fix) refuses the reload. */
    @FunctionalInterface
    public interface Guard {
        Optional<String> problem();
    }

    private final Path policy;
    private final Optional<Path> org;
    private final List<Cidr> airlockLinks;
    private final HostFacts facts;
    private final MeterRegistry meters;
    private final PrintStream err;
    private final Guard guard;
    private final Target target;
    private final Counter failures;
    private final AtomicReference<PolicyEngine> current = new AtomicReference<>();
    private volatile Optional<String> problem = Optional.empty();
    private long failed;
    private long applied;
    private Fingerprint policySeen;
    private Fingerprint orgSeen;
    private ProjectPolicy lastProject;
    private OrgPolicy lastOrg;
    private String project;

    public PolicyReloader(Path policy, Optional<Path> org, SandboxRegistry registry, List<Cidr> airlockLinks,
            MeterRegistry meters, PrintStream err) {
        this(policy, org, registry, airlockLinks, HostFacts.NONE, meters, err);
    }

    /** @param facts the host's addresses and the production names' addresses, kept current by the caller */
    public PolicyReloader(Path policy, Optional<Path> org, SandboxRegistry registry, List<Cidr> airlockLinks, HostFacts facts,
            MeterRegistry meters, PrintStream err) {
        this(policy, org, airlockLinks, facts, meters, err, Optional::empty, l -> registry.updatePolicy(l.engine().project(), l.engine()));
    }

    /**
     * A reloader whose compiled policies go to {@code target} (the daemon's pools), after
     * {@code guard} passed.
     */
    public PolicyReloader(Path policy, Optional<Path> org, List<Cidr> airlockLinks, HostFacts facts, MeterRegistry meters,
            PrintStream err, Guard guard, Target target) {
        this.policy = policy;
        this.org = org;
        this.airlockLinks = List.copyOf(airlockLinks);
        this.facts = facts;
        this.meters = meters;
        this.err = err;
        this.guard = guard;
        this.target = target;
        this.failures = Counter.builder("airlock.policy.reload.failures").description("Policy reloads refused (old policy kept)")
                .register(meters);
    }

    /** The first load: failures here are fatal to the caller, not kept-old. */
    public synchronized PolicyEngine loadInitial() throws PolicyException {
        Fingerprint p = Fingerprint.of(policy);
        Fingerprint o = org.map(Fingerprint::of).orElse(null);
        ProjectPolicy pp = PolicyFiles.loadProject(policy);
        OrgPolicy op = PolicyFiles.loadOrg(org);
        PolicyEngine e = PolicyEngine.compile(pp, op, Phase.RUN, airlockLinks, facts);
        inForce(pp, op, e);
        policySeen = p;
        orgSeen = o;
        return e;
    }

    /**
     * What the caller loaded itself at its start. The first {@link #reloadIfChanged} then reads
     * both files once and applies them only if they differ from these.
     */
    public synchronized void inForce(ProjectPolicy p, OrgPolicy o, PolicyEngine e) {
        lastProject = p;
        lastOrg = o;
        project = p.project();
        current.set(e);
    }

    public PolicyEngine current() {
        return current.get();
    }

    /** The problems of the last reload (file:line:col: message; fix: …), or empty when it succeeded. */
    public Optional<String> problem() {
        return problem;
    }

    /** Reloads when either file changed since the last look. Returns true when a new policy took effect. */
    public synchronized boolean reloadIfChanged() {
        Fingerprint p = Fingerprint.of(policy);
        Fingerprint o = org.map(Fingerprint::of).orElse(null);
        if (policySeen != null && Objects.equals(p, policySeen) && Objects.equals(o, orgSeen)) {
            return false;
        }
        // taken before the files are loaded: a write during the reload is seen by the next look
        policySeen = p;
        orgSeen = o;
        return reload();
    }

    /**
     * Loads both files; compiles each one's newest valid version (a broken file contributes its
     * last good one) and applies the result when it differs from what is in force. Returns true
     * when a new policy took effect; problems are printed and kept in {@link #problem()}.
     */
    public synchronized boolean reload() {
        List<String> problems = new ArrayList<>();
        Optional<String> refused = guard.problem();
        if (refused.isPresent()) {
            return finish(false, List.of(refused.get()));
        }
        ProjectPolicy p = lastProject;
        OrgPolicy o = lastOrg;
        try {
            ProjectPolicy loaded = PolicyFiles.loadProject(policy);
            if (!loaded.project().equals(project)) {
                problems.add(policy + ": now names project \"" + loaded.project() + "\", not \"" + project
                        + "\"; fix: restore `project: " + project + "` (a new project needs its own entry and a restart)");
            } else {
                p = loaded;
            }
        } catch (PolicyException e) {
            e.problems().stream().map(Problem::toString).forEach(problems::add);
        }
        if (org.isPresent()) {
            try {
                o = PolicyFiles.loadOrg(org.get());
            } catch (PolicyException e) {
                e.problems().stream().map(Problem::toString).forEach(problems::add);
            }
        }
        if (p.equals(lastProject) && o.equals(lastOrg)) {
            return finish(false, problems);
        }
        try {
            PolicyEngine e = PolicyEngine.compile(p, o, Phase.RUN, airlockLinks, facts);
            target.apply(new Loaded(p, o, e));
            current.set(e);
            lastProject = p;
            lastOrg = o;
        } catch (PolicyException ex) {
            ex.problems().stream().map(Problem::toString).forEach(problems::add);
            return finish(false, problems);
        } catch (RuntimeException ex) {
            problems.add(policy + ": " + ex + "; fix: see the daemon's or gateway's log");
            return finish(false, problems);
        }
        applied++;
        count("applied");
        err.println("airlock: policy of " + project + " reloaded from " + policy + org.map(f -> " and " + f).orElse("")
                + (problems.isEmpty() ? "" : " (a broken file kept its last good version)"));
        return finish(true, problems);
    }

    private boolean finish(boolean took, List<String> problems) {
        if (problems.isEmpty()) {
            if (problem.isPresent()) {
                err.println("airlock: the policy files of " + project + " load again; the earlier problem is cleared");
            }
            problem = Optional.empty();
            return took;
        }
        failed++;
        failures.increment();
        count("failed");
        problem = Optional.of(String.join("\n", problems));
        err.println("airlock: policy reload of " + project + " failed; the old policy stays in force" + (took ? " for the broken file" : "")
                + ":");
        problems.forEach(pr -> err.println("  " + pr));
        return took;
    }

    private void count(String result) {
        Counter.builder("airlock.policy.reloads").description("Policy reloads, applied or failed (old policy kept)")
                .tag("project", project == null ? "" : project).tag("result", result).register(meters).increment();
    }

    public synchronized double failureCount() {
        return failed;
    }

    /** Reloads that put a new policy in force. */
    public synchronized long appliedCount() {
        return applied;
    }

    /**
     * What tells a changed file: a digest of its content. Two saves within one tick of the file
     * system's clock can leave the same modification time and size; reading two small files every
     * poll costs next to nothing. A missing or unreadable file has its own value.
     */
    private record Fingerprint(String digest) {
        static Fingerprint of(Path p) {
            try {
                byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p));
                return new Fingerprint(java.util.HexFormat.of().formatHex(d));
            } catch (IOException e) {
                return new Fingerprint("unreadable: " + e.getClass().getSimpleName());
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException("every Java platform has SHA-256", e);
            }
        }
    }
}
