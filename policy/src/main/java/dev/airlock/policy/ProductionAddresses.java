package dev.airlock.policy;

import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.model.Rule;
import java.util.Map;
import java.util.Optional;

/**
 * The addresses the organisation's exact production names resolved to, each with the production
 * rule it came from: data the gateway's own resolver keeps current (at load and when each answer's
 * TTL runs out). Production is denied by address too, so an IP literal, or another allowed name
 * whose answer points there, is as closed as the production name itself. Immutable.
 */
public record ProductionAddresses(Map<IpAddress, Rule> rules) {

    public static final ProductionAddresses NONE = new ProductionAddresses(Map.of());

    public ProductionAddresses {
        rules = Map.copyOf(rules);
    }

    /** The production rule whose name resolved to {@code a}, if any. */
    public Optional<Rule> ruleFor(IpAddress a) {
        return Optional.ofNullable(rules.get(a));
    }

    public boolean isEmpty() {
        return rules.isEmpty();
    }
}
