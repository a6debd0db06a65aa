package dev.airlock.audit.k8s;

import dev.airlock.audit.k8s.StaticCheck.ByRule;
import dev.airlock.audit.k8s.StaticCheck.Cause;
import dev.airlock.audit.k8s.StaticCheck.DnsWarning;
import dev.airlock.audit.k8s.StaticCheck.Finding;
import dev.airlock.audit.k8s.StaticCheck.Report;
import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.model.Rule;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A static-check report as text for people and as a JSON-ready map for scripts. */
public final class StaticReportFormat {

    private StaticReportFormat() {
    }

    public static String human(Report r) {
        StringBuilder b = new StringBuilder();
        b.append("pods ").append(r.pods()).append(" in namespace ").append(r.namespace()).append(": ");
        if (!r.isolated()) {
            b.append("no NetworkPolicy selects them for egress (of ").append(r.policiesRead()).append(" read), so all egress is open\n");
        } else {
            b.append("egress limited by ").append(r.selecting().stream().map(NetworkPolicy::qualifiedName).toList()).append('\n');
        }
        if (r.findings().isEmpty()) {
            b.append("OK: no production CIDR is reachable\n");
        }
        for (Finding f : r.findings()) {
            b.append("REACHABLE  production ").append(f.production().describe()).append(" (").append(f.production().position()).append(")\n");
            b.append("    ranges ").append(join(f.reachable())).append('\n');
            b.append("    ports  ").append(String.join("; ", f.ports())).append('\n');
            b.append("    by     ").append(cause(f.cause())).append('\n');
        }
        for (DnsWarning w : r.dnsWarnings()) {
            b.append("WARNING    DNS to any address is allowed (").append(String.join("; ", w.ports()))
                    .append("): a channel to exfiltrate data through DNS; by ").append(cause(w.cause())).append('\n');
        }
        for (Rule u : r.uncheckedProduction()) {
            b.append("NOTE       production ").append(u.describe()).append(" (").append(u.position())
                    .append(") is a name: NetworkPolicy matches addresses only, so it is not checked here\n");
        }
        return b.toString();
    }

    private static String cause(Cause c) {
        return switch (c) {
            case StaticCheck.Open o -> "no NetworkPolicy selecting these pods for egress (egress is open)";
            case ByRule br -> "NetworkPolicy " + br.policy().qualifiedName() + " egress[" + br.rule().index() + "] at "
                    + br.rule().position();
        };
    }

    private static String join(List<Cidr> cidrs) {
        List<String> s = new ArrayList<>();
        cidrs.forEach(c -> s.add(c.toString()));
        return String.join(", ", s);
    }

    public static Map<String, Object> json(Report r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("pods", r.pods().labels());
        m.put("namespace", r.namespace());
        m.put("productionReachable", r.productionReachable());
        m.put("isolated", r.isolated());
        m.put("policiesRead", r.policiesRead());
        m.put("selectingPolicies", r.selecting().stream().map(p -> Map.of("namespace", p.namespace(), "name", p.name(), "file", p.file())).toList());
        List<Object> findings = new ArrayList<>();
        for (Finding f : r.findings()) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("production", rule(f.production()));
            x.put("reachable", f.reachable().stream().map(Cidr::toString).toList());
            x.put("ports", f.ports());
            x.put("cause", cause(f.cause(), true));
            findings.add(x);
        }
        m.put("findings", findings);
        List<Object> warnings = new ArrayList<>();
        for (DnsWarning w : r.dnsWarnings()) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("kind", "dns-exfiltration");
            x.put("ports", w.ports());
            x.put("cause", cause(w.cause(), true));
            warnings.add(x);
        }
        m.put("warnings", warnings);
        m.put("uncheckedProductionNames", r.uncheckedProduction().stream().map(StaticReportFormat::rule).toList());
        return m;
    }

    private static Map<String, Object> cause(Cause c, boolean unused) {
        Map<String, Object> m = new LinkedHashMap<>();
        switch (c) {
            case StaticCheck.Open o -> m.put("kind", "no-policy");
            case ByRule br -> {
                m.put("kind", "rule");
                m.put("file", br.policy().file());
                m.put("namespace", br.policy().namespace());
                m.put("policy", br.policy().name());
                m.put("rule", br.rule().index());
                m.put("line", br.rule().position().line());
                m.put("column", br.rule().position().column());
            }
        }
        return m;
    }

    private static Map<String, Object> rule(Rule r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("rule", r.describe());
        m.put("file", r.position().file());
        m.put("line", r.position().line());
        m.put("column", r.position().column());
        return m;
    }
}
