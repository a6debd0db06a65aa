package dev.airlock.server;

import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.policy.model.TrustedCa;
import dev.airlock.runtime.SandboxHost;
import dev.airlock.sandbox.Resources;
import dev.airlock.sandbox.WorkspaceProtection;
import java.util.List;

/**
 * One project's policy as the daemon has it in force: the file as loaded, its run-phase engine
 * (the members' gateway decisions) and its setup-phase engine (template setups). A reload replaces
 * all three at once.
 *
 * <p>Design: the swap and a new member's registration are ordered by this object's lock. A member
 * is built under the engine in force when its build began; once registered at the gateway it is
 * {@link #adopt adopted}, which puts it under the engine in force now. A reload sets the new engine
 * and switches every registered member still under the old one. Whichever of the two comes
 * first, the member ends under the newest engine: no member built during a reload keeps the old
 * rules. Template setups are registered under the setup engine, which the switch leaves alone.
 */
final class LivePolicy {

    /**
     * The policy in force: the file, and the engines compiled from it with the organisation policy,
     * and the CAs its sandboxes trust (the organisation's and the project's {@code trust:}).
     */
    record Compiled(ProjectPolicy policy, PolicyEngine engine, PolicyEngine setupEngine, List<TrustedCa> trust) {
    }

    private final String project;
    private volatile Compiled current;

    LivePolicy(Compiled initial) {
        this.project = initial.policy().project();
        this.current = initial;
    }

    ProjectPolicy policy() {
        return current.policy();
    }

    PolicyEngine engine() {
        return current.engine();
    }

    PolicyEngine setupEngine() {
        return current.setupEngine();
    }

    /**
     * What a member is built with besides its network rules: its cgroup limits, what of its workspace is read-only, the CAs it trusts,
     * and what {@code image:} names.
     */
    record Settings(Resources resources, WorkspaceProtection protection, List<TrustedCa> trust, String image) {
    }

    /** What {@code image:} names (not where it was written): a change rotates the members like one of resources. */
    private static String image(ProjectPolicy p) {
        return p.image().map(ProjectPolicy.Image::describe).orElse("");
    }

    /**
     * The settings new members get now: the policy's resources, and the members' .git/hooks and
     * .git/config read-only unless the project opts out. A build reads them once and compares them
     * after (a reload's rotation cannot reach a member still being built).
     */
    Settings settings() {
        ProjectPolicy p = current.policy();
        ProjectPolicy.Resources r = p.resources();
        return new Settings(new Resources(r.memoryBytes(), r.cpus(), r.pids()), new WorkspaceProtection(!p.writableGitConfig(), List.of()),
                current.trust(), image(p));
    }

    /** The cgroup limits new members get (template setups). */
    Resources resources() {
        return settings().resources();
    }

    /** Puts a member just registered at the gateway under the engine in force now (a reload may have run during its build). */
    synchronized void adopt(SandboxHost host, SandboxHost.Member m) {
        host.policy(m, current.engine());
    }

    /**
     * Puts {@code next} in force: members built from now on use it, and every registered member
     * under the old engine decides with the new one from its next connection (the gateway reads a
     * sandbox's engine once per connection). Returns what was in force before.
     */
    synchronized Compiled apply(SandboxHost host, Compiled next) {
        Compiled old = current;
        current = next;
        host.swapPolicy(project, old.engine(), next.engine());
        return old;
    }
}
