package dev.airlock.runtime;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.policy.Advice;
import dev.airlock.policy.Reason;
import dev.airlock.policy.address.AddressClassifier;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.address.IpLiterals;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a run tried and was refused, grouped by target and reason, with the YAML that would allow
 * each one (naming the policy file the run or the daemon loaded), or why nothing a project writes
 * can. Printed to stderr after the command ends.
 */
public final class BlockedSummary {

    private BlockedSummary() {
    }

    record Line(String target, Reason reason, int count, String fix) {
    }

    /** The summary printed after a command: what was blocked, how often, and what to do about it. */
    public static String text(List<AuditEvent> events, String policyFile, AddressClassifier classifier) {
        return render(of(events, policyFile, classifier));
    }

    static List<Line> of(List<AuditEvent> events, String policyFile, AddressClassifier classifier) {
        Map<String, Line> grouped = new LinkedHashMap<>();
        for (AuditEvent e : events) {
            if (e.event() != AuditEvent.Event.DECISION || e.decision() != AuditEvent.Decision.DENY) {
                continue;
            }
            String target = (e.name().indexOf(':') >= 0 ? "[" + e.name() + "]" : e.name()) + (e.port() > 0 ? ":" + e.port() : "");
            String key = target + " " + e.reason().code;
            Line old = grouped.get(key);
            grouped.put(key, new Line(target, e.reason(), old == null ? 1 : old.count() + 1, fix(e, policyFile, classifier)));
        }
        return new ArrayList<>(grouped.values());
    }

    /** The advice line for one denial, composed where every surface composes it ({@link Advice}). */
    public static String fix(AuditEvent e, String policyFile, AddressClassifier classifier) {
        Optional<IpAddress> address = e.addresses().isEmpty() ? Optional.empty() : parse(e.addresses().get(0));
        Optional<String> rule = e.rule() == null || e.rule().equals("-") ? Optional.empty() : Optional.of(e.rule());
        return Advice.of(e.reason(), e.name(), e.port(), address, rule, classifier).line(policyFile);
    }

    private static Optional<IpAddress> parse(String text) {
        return IpLiterals.shape(text) instanceof IpLiterals.Canonical c ? Optional.of(c.address()) : Optional.empty();
    }

    static String render(List<Line> lines) {
        if (lines.isEmpty()) {
            return "airlock: nothing was blocked\n";
        }
        int total = lines.stream().mapToInt(Line::count).sum();
        StringBuilder sb = new StringBuilder("airlock: blocked " + total + (total == 1 ? " attempt" : " attempts") + ":\n");
        int width = lines.stream().mapToInt(l -> l.target().length()).max().orElse(10);
        for (Line l : lines) {
            sb.append(String.format("  %-" + width + "s  %-18s x%-3d %s%n", l.target(), l.reason().code, l.count(), l.fix()));
        }
        return sb.toString();
    }
}
