package dev.airlock.gateway.reload;

import dev.airlock.gateway.registry.SandboxRegistry;
import dev.airlock.policy.HostFacts;
import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Hot reload of a project policy (and the organisation policy) during live traffic.
 *
 * <p>Design: a reload compiles a complete new engine first and only then swaps the reference in
 * the registry, so a connection sees either the old policy or the new one, never a mix. A file
 * that does not load keeps the old policy in force, prints every problem, and raises the
 * {@code airlock_policy_reload_failures_total} counter, which an alert can watch.
 */
public final class PolicyReloader {

    private final Path policy;
    private final Optional<Path> org;
    private final SandboxRegistry registry;
    private final List<Cidr> airlockLinks;
    private final HostFacts facts;
    private final PrintStream err;
    private final Counter failures;
    private final Counter successes;
    private final AtomicReference<PolicyEngine> current = new AtomicReference<>();
    private FileTime policySeen;
    private FileTime orgSeen;
    private String project;

    public PolicyReloader(Path policy, Optional<Path> org, SandboxRegistry registry, List<Cidr> airlockLinks,
            MeterRegistry meters, PrintStream err) {
        this(policy, org, registry, airlockLinks, HostFacts.NONE, meters, err);
    }

    /** @param facts the host's addresses and the production names' addresses, kept current by the caller */
    public PolicyReloader(Path policy, Optional<Path> org, SandboxRegistry registry, List<Cidr> airlockLinks, HostFacts facts,
            MeterRegistry meters, PrintStream err) {
        this.facts = facts;
        this.policy = policy;
        this.org = org;
        this.registry = registry;
        this.airlockLinks = airlockLinks;
        this.err = err;
        this.failures = Counter.builder("airlock.policy.reload.failures").description("Policy reloads refused (old policy kept)")
                .register(meters);
        this.successes = Counter.builder("airlock.policy.reloads").description("Policy reloads applied").register(meters);
    }

    /** The first load: failures here are fatal to the caller, not kept-old. */
    public PolicyEngine loadInitial() throws PolicyException {
        PolicyEngine e = compile();
        current.set(e);
        project = e.project();
        policySeen = mtime(policy);
        orgSeen = org.map(PolicyReloader::mtime).orElse(null);
        return e;
    }

    public PolicyEngine current() {
        return current.get();
    }

    /** Reloads when either file changed since the last look. Returns true when a new policy took effect. */
    public synchronized boolean reloadIfChanged() {
        FileTime p = mtime(policy);
        FileTime o = org.map(PolicyReloader::mtime).orElse(null);
        if (java.util.Objects.equals(p, policySeen) && java.util.Objects.equals(o, orgSeen)) {
            return false;
        }
        policySeen = p;
        orgSeen = o;
        return reload();
    }

    /** Compiles and swaps; on any problem keeps the old policy and says so. */
    public synchronized boolean reload() {
        try {
            PolicyEngine e = compile();
            if (!e.project().equals(project)) {
                failures.increment();
                err.println("airlock: policy reload refused: " + policy + " now names project \"" + e.project()
                        + "\", not \"" + project + "\"; the old policy stays in force");
                return false;
            }
            current.set(e);
            registry.updatePolicy(project, e);
            successes.increment();
            err.println("airlock: policy reloaded from " + policy);
            return true;
        } catch (PolicyException ex) {
            failures.increment();
            err.println("airlock: policy reload failed; the old policy stays in force:");
            ex.problems().forEach(pr -> err.println("  " + pr));
            return false;
        } catch (RuntimeException ex) {
            failures.increment();
            err.println("airlock: policy reload failed (" + ex + "); the old policy stays in force");
            return false;
        }
    }

    private PolicyEngine compile() throws PolicyException {
        ProjectPolicy p = PolicyFiles.loadProject(policy);
        OrgPolicy o = org.isPresent() ? PolicyFiles.loadOrg(org.get()) : OrgPolicy.NONE;
        return PolicyEngine.compile(p, o, Phase.RUN, airlockLinks, facts);
    }

    private static FileTime mtime(Path p) {
        try {
            return Files.getLastModifiedTime(p);
        } catch (IOException e) {
            return null;
        }
    }

    public double failureCount() {
        return failures.count();
    }
}
