package dev.airlock.runtime;

import dev.airlock.gateway.host.HostFactsService;
import dev.airlock.gateway.host.InterfaceAddresses;
import dev.airlock.gateway.resolve.Resolver;
import dev.airlock.gateway.resolve.Resolvers;
import dev.airlock.policy.HostFacts;
import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.sandbox.LinkRange;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * What every project's engine on this host is compiled with besides the project's own policy: the
 * organisation policy, the resolver the gateway uses ({@code --hosts}, else the system's DNS,
 * cached), the host's own addresses and the production names' addresses kept current, and
 * Airlock's own links (never opened, whatever a cidr says). {@code airlock run}, {@code airlock
 * audit} and the daemon open one; {@link #close} stops following the host.
 */
public final class PolicyContext implements AutoCloseable {

    /** Airlock's own links, the gateway's and every sandbox's: protected in every engine. */
    private static final List<Cidr> LINKS = List.of(LinkRange.DEFAULT.range());

    private final OrgPolicy org;
    private final Resolver resolver;
    private final HostFactsService facts;

    private PolicyContext(OrgPolicy org, Resolver resolver, HostFactsService facts) {
        this.org = org;
        this.resolver = resolver;
        this.facts = facts;
    }

    /**
     * Loads the organisation policy at {@code org} (none: {@link OrgPolicy#NONE}), chooses the
     * resolver, and starts following the host's addresses and the production names' (warnings to
     * {@code log}).
     *
     * @throws PolicyException the organisation policy or the hosts map does not load
     * @throws IOException     the host's addresses cannot be read (Airlock must protect them)
     */
    public static PolicyContext open(Optional<Path> org, Optional<Path> hosts, PrintStream log) throws PolicyException, IOException {
        OrgPolicy o = PolicyFiles.loadOrg(org);
        Resolver r = Resolvers.cached(hosts);
        return new PolicyContext(o, r, HostFactsService.start(InterfaceAddresses.SYSTEM, o.production(), r, log));
    }

    /** The organisation policy as loaded at {@link #open} (a reload brings its own, see {@link #production}). */
    public OrgPolicy org() {
        return org;
    }

    /** The resolver the gateway decides with: one answer, checked and dialled. */
    public Resolver resolver() {
        return resolver;
    }

    /** The host's addresses and the production names' addresses, current. */
    public HostFacts facts() {
        return facts.facts();
    }

    /** Airlock's own link ranges, which every engine protects. */
    public List<Cidr> links() {
        return LINKS;
    }

    /** {@code project}'s engine for {@code phase} under the organisation policy loaded at {@link #open}. */
    public PolicyEngine engine(ProjectPolicy project, Phase phase) throws PolicyException {
        return engine(project, org, phase);
    }

    /** {@code project}'s engine for {@code phase} under {@code org} (a reloaded one). */
    public PolicyEngine engine(ProjectPolicy project, OrgPolicy org, Phase phase) throws PolicyException {
        return PolicyEngine.compile(project, org, phase, LINKS, facts.facts());
    }

    /** A reload put {@code reloaded} in force: its production names are resolved and followed from now on. */
    public void production(OrgPolicy reloaded) {
        facts.production(reloaded.production());
    }

    @Override
    public void close() {
        facts.close();
    }
}
