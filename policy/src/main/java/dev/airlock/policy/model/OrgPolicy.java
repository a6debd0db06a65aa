package dev.airlock.policy.model;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/** The organisation policy, owned by the security team. Its production set always wins. */
public record OrgPolicy(String file, List<Rule> production, Map<String, Preset> presets, Duration auditEvery) {

    /** The audit schedule when the org policy gives none. */
    public static final Duration DEFAULT_AUDIT_EVERY = Duration.ofDays(7);

    /** No org policy: nothing is production beyond the built-in protected addresses. */
    public static final OrgPolicy NONE = new OrgPolicy("(no org policy)", List.of(), Map.of(), DEFAULT_AUDIT_EVERY);

    public OrgPolicy {
        production = List.copyOf(production);
        presets = Map.copyOf(presets);
    }
}
