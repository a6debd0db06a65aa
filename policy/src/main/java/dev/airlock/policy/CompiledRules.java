package dev.airlock.policy;

import dev.airlock.policy.model.PortSet;
import dev.airlock.policy.model.Rule;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Every rule of an engine under a dense id, with what a decision needs from it computed once: the
 * {@code Optional} a {@link Decision} holds, and the rule's part of the detail text. A decision
 * then copies references instead of building text.
 *
 * <p>Design: the indexes ({@link NameRules}, {@link CidrRules}) store rule references as packed
 * {@code long}s ({@link #ref}): the list the rule came from (its gate), its id and its ports, so
 * a lookup decides which rule wins without reading the {@link Rule} objects; only the winner is
 * read, when the decision is built. The gate is the list the rule was given in, not
 * {@link Rule#kind()}, as in every earlier version of the engine.
 *
 * <p>Immutable after {@link #freeze}; built by one thread in the engine's constructor.
 */
final class CompiledRules {

    /** Gates, by priority: a production match beats a deny match beats an allow match. */
    static final int ALLOW = 1;
    static final int DENY = 2;
    static final int PRODUCTION = 3;

    /** Ports code for a rule on every port. */
    private static final int ANY_PORT = 0;
    /** Ports code for a rule with more than two ports: ask its {@link PortSet}. */
    private static final int MANY_PORTS = 1;
    /** Rule ids fit below the gate bits of a reference. */
    private static final int MAX_RULES = 1 << 28;

    private final List<Rule> building = new ArrayList<>();
    private final List<Integer> gates = new ArrayList<>();
    private Rule[] rules;
    private PortSet[] ports;
    /** Per rule, side by side so a decision reads one cache line: its Optional, then its text. */
    private Object[] decisionParts;

    /** Registers a rule of the given gate; returns its packed reference. */
    long add(Rule rule, int gate) {
        if (rules != null) {
            throw new IllegalStateException("rules are frozen");
        }
        if (building.size() == MAX_RULES) {
            throw new IllegalArgumentException("more than " + MAX_RULES + " rules");
        }
        int id = building.size();
        building.add(rule);
        gates.add(gate);
        return ref(gate, id, portsCode(rule.ports()));
    }

    void freeze() {
        int n = building.size();
        rules = building.toArray(new Rule[0]);
        ports = new PortSet[n];
        decisionParts = new Object[2 * n];
        // The Optionals first, in one run: an allow reads its rule's Optional, so they sit together
        // in memory (16 bytes each) rather than between texts.
        for (int i = 0; i < n; i++) {
            decisionParts[2 * i] = Optional.of(rules[i]);
        }
        for (int i = 0; i < n; i++) {
            Rule r = rules[i];
            ports[i] = r.ports();
            decisionParts[2 * i + 1] = switch (gates.get(i)) {
                case ALLOW -> Decision.allowDetail(r);
                case DENY -> " matches the deny rule " + r.describe() + " at " + r.position();
                default -> " is in the organisation's production set (" + r.describe() + " at " + r.position() + ")";
            };
        }
    }

    Rule rule(int id) {
        return rules[id];
    }

    @SuppressWarnings("unchecked")
    Optional<Rule> optional(int id) {
        return (Optional<Rule>) decisionParts[2 * id];
    }

    /**
     * Per gate: an allow rule's whole detail ("allowed by …"), or the tail a deny or production
     * denial appends to the name (" matches the deny rule …", " is in the organisation's
     * production set (…)").
     */
    String text(int id) {
        return (String) decisionParts[2 * id + 1];
    }

    // ---- packed references: gate (2 bits) | id (28 bits) in the high int, ports code in the low ----

    static long ref(int gate, int id, int portsCode) {
        return ((long) (gate << 28 | id) << 32) | (portsCode & 0xFFFF_FFFFL);
    }

    static int gate(long ref) {
        return (int) (ref >>> 60);
    }

    static int id(long ref) {
        return (int) (ref >>> 32) & (MAX_RULES - 1);
    }

    /** True when the referenced rule applies to {@code port}. */
    boolean allows(long ref, int port) {
        int code = (int) ref;
        if (code == ANY_PORT) {
            return true;
        }
        if (code == MANY_PORTS) {
            return ports[id(ref)].contains(port);
        }
        return code >>> 16 == port || (code & 0xFFFF) == port;
    }

    static boolean anyPort(long ref) {
        return (int) ref == ANY_PORT;
    }

    /** One or two ports inline (both halves equal for one port); 0 for any, 1 for more. */
    private static int portsCode(PortSet set) {
        if (set.isAny()) {
            return ANY_PORT;
        }
        int[] p = set.ports();
        if (p.length == 1) {
            return p[0] << 16 | p[0];
        }
        return p.length == 2 ? p[0] << 16 | p[1] : MANY_PORTS;
    }
}
