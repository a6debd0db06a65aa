package dev.airlock.policy;

import dev.airlock.policy.model.Destination;
import dev.airlock.policy.model.Rule;
import java.util.ArrayList;
import java.util.List;

/**
 * Static comparison of a project's allow rules with the production set. Production always wins
 * at decision time, so neither finding is a hole; they are mistakes a reviewer must see:
 * an allow the production set <em>swallows</em> entirely can never take effect (an error), and
 * one that merely <em>overlaps</em> it is partly dead (a warning). Both name both rules.
 */
public final class ProductionOverlap {

    public enum Severity { WARNING, ERROR }

    public record Finding(Severity severity, Rule allow, Rule production, String message) {
        @Override
        public String toString() {
            return allow.position() + ": " + severity.name().toLowerCase(java.util.Locale.ROOT) + ": " + message;
        }
    }

    private ProductionOverlap() {
    }

    public static List<Finding> analyse(List<Rule> allows, List<Rule> production) {
        List<Finding> out = new ArrayList<>();
        for (Rule a : allows) {
            for (Rule p : production) {
                Finding f = compare(a, p);
                if (f != null) {
                    out.add(f);
                }
            }
        }
        return out;
    }

    private static Finding compare(Rule a, Rule p) {
        if (a.destination() instanceof Destination.Names an && p.destination() instanceof Destination.Names pn) {
            if (an.pattern().isCoveredBy(pn.pattern())) {
                return swallowed(a, p);
            }
            if (an.pattern().overlaps(pn.pattern())) {
                return overlap(a, p);
            }
        } else if (a.destination() instanceof Destination.Addresses ac && p.destination() instanceof Destination.Addresses pc) {
            if (pc.cidr().covers(ac.cidr())) {
                return swallowed(a, p);
            }
            if (ac.cidr().overlaps(pc.cidr())) {
                return overlap(a, p);
            }
        }
        return null;
    }

    private static Finding swallowed(Rule a, Rule p) {
        return new Finding(Severity.ERROR, a, p, "allow " + a.describe() + " (" + a.source() + ") can never take effect: "
                + "the production rule " + p.describe() + " at " + p.position() + " covers all of it; "
                + "remove the allow, or ask the security team whether " + p.describe() + " is really production");
    }

    private static Finding overlap(Rule a, Rule p) {
        return new Finding(Severity.WARNING, a, p, "allow " + a.describe() + " (" + a.source() + ") overlaps the production rule "
                + p.describe() + " at " + p.position() + "; the overlap stays denied");
    }
}
