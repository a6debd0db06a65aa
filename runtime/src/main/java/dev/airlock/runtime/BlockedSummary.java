package dev.airlock.runtime;

import dev.airlock.gateway.audit.AuditEvent;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a run tried and was refused, grouped by target and reason, with the YAML that would allow
 * each one, or why nothing can. Printed to stderr after the command ends.
 */
public final class BlockedSummary {

    private BlockedSummary() {
    }

    record Line(String target, String reason, int count, String fix) {
    }

    /** The summary printed after a command: what was blocked, how often, and the YAML that would allow it. */
    public static String text(List<AuditEvent> events) {
        return render(of(events));
    }

    static List<Line> of(List<AuditEvent> events) {
        Map<String, Line> grouped = new LinkedHashMap<>();
        for (AuditEvent e : events) {
            if (e.event() != AuditEvent.Event.DECISION || !"deny".equals(e.decision())) {
                continue;
            }
            String target = (e.name().indexOf(':') >= 0 ? "[" + e.name() + "]" : e.name()) + (e.port() > 0 ? ":" + e.port() : "");
            String key = target + " " + e.reason();
            Line old = grouped.get(key);
            grouped.put(key, new Line(target, e.reason(), old == null ? 1 : old.count() + 1, fix(e)));
        }
        return new ArrayList<>(grouped.values());
    }

    static String fix(AuditEvent e) {
        String name = e.name();
        int port = e.port();
        return switch (e.reason()) {
            case "production" -> "production: cannot be allowed";
            case "no-rule", "port-not-allowed" -> "add to network.allow: - " + name + (port == 80 || port == 443 || port == 0 ? "" : ":" + port);
            case "protected-address", "ip-literal" -> {
                String addr = e.addresses().isEmpty() ? name : e.addresses().get(0);
                int bits = addr.indexOf(':') >= 0 ? 128 : 32;
                yield "add to network.allow: - {cidr: " + addr + "/" + bits + ", ports: [" + port + "]}";
            }
            case "deny-rule" -> "a deny rule matches: " + e.rule();
            case "sni-mismatch", "host-mismatch" ->
                    "the bytes named another host than the one allowed (fronting or a host switch); allow that host itself if it is needed";
            case "no-sni", "not-tls" -> "the client sent no server name, or not TLS, where one was required";
            case "http2-cleartext" -> "HTTP/2 without TLS is refused (its hosts cannot be checked); use TLS or HTTP/1.1";
            case "dns-failure" -> "the name did not resolve";
            case "limit" -> "a gateway limit was reached";
            case "fail-closed" -> "the audit log failed, so Airlock denied";
            default -> "see the audit log";
        };
    }

    static String render(List<Line> lines) {
        if (lines.isEmpty()) {
            return "airlock: nothing was blocked\n";
        }
        int total = lines.stream().mapToInt(Line::count).sum();
        StringBuilder sb = new StringBuilder("airlock: blocked " + total + (total == 1 ? " attempt" : " attempts") + ":\n");
        int width = lines.stream().mapToInt(l -> l.target().length()).max().orElse(10);
        for (Line l : lines) {
            sb.append(String.format("  %-" + width + "s  %-18s x%-3d %s%n", l.target(), l.reason(), l.count(), l.fix()));
        }
        return sb.toString();
    }
}
