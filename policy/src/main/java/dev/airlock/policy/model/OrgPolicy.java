package dev.airlock.policy.model;

import dev.airlock.policy.address.Cidr;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The organisation policy, owned by the security team. Its production set always wins, and its
 * {@code exceptions:} are the only way to open what no project can (the host's loopback,
 * link-local and metadata, the host's own addresses).
 */
public record OrgPolicy(String file, List<Rule> production, Map<String, Preset> presets, Duration auditEvery,
        List<Grant> exceptions, List<TrustedCa> trust) {

    /** The audit schedule when the org policy gives none. */
    public static final Duration DEFAULT_AUDIT_EVERY = Duration.ofDays(7);

    /** No org policy: nothing is production beyond the built-in protected addresses, and no exceptions. */
    public static final OrgPolicy NONE = new OrgPolicy("(no org policy)", List.of(), Map.of(), DEFAULT_AUDIT_EVERY, List.of(), List.of());

    public OrgPolicy {
        production = List.copyOf(production);
        presets = Map.copyOf(presets);
        exceptions = List.copyOf(exceptions);
        trust = List.copyOf(trust);
    }

    /** {@code trust}: the company CAs ({@code trust:}) every sandbox trusts besides the host's system bundle. */
    public OrgPolicy(String file, List<Rule> production, Map<String, Preset> presets, Duration auditEvery, List<Grant> exceptions) {
        this(file, production, presets, auditEvery, exceptions, List.of());
    }

    public OrgPolicy(String file, List<Rule> production, Map<String, Preset> presets, Duration auditEvery) {
        this(file, production, presets, auditEvery, List.of());
    }

    /**
     * One entry of {@code exceptions:}: this project may reach these addresses on these ports,
     * although no project rule could open them. Production still wins.
     */
    public record Grant(String project, Cidr cidr, PortSet ports, SourcePosition position) {

        /** The grant as an allow rule, for the engine and for messages. */
        public Rule rule() {
            return new Rule(Rule.Kind.ALLOW, new Destination.Addresses(cidr), ports, position,
                    "organisation exception for " + project);
        }
    }

    /** The exceptions granted to {@code project}. */
    public List<Grant> exceptionsFor(String project) {
        return exceptions.stream().filter(g -> g.project().equals(project)).toList();
    }
}
