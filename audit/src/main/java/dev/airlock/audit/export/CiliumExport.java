package dev.airlock.audit.export;

import static dev.airlock.audit.export.YamlOut.map;

import dev.airlock.audit.k8s.CidrSet;
import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.model.Destination;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.PortSet;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.policy.model.Rule;
import dev.airlock.policy.name.NamePattern;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A CiliumNetworkPolicy that enforces the policy's allows without the gateway: names through
 * {@code toFQDNs} (Cilium learns their addresses from the DNS answers its proxy sees, so DNS to
 * kube-dns is allowed, and only for the allowed names), CIDR allows through {@code toCIDRSet}, each
 * group with its ports. Production and project-denied CIDRs are in {@code egressDeny}, which wins
 * over every allow.
 *
 * <p>What it cannot say: Cilium has no deny by name, so production names and project deny names
 * are enforced only by being absent from the allows (an allow wildcard that covers a denied name
 * lets it through here). Cilium's {@code *.x} matches one label ({@code a.x}, not {@code a.b.x});
 * Airlock's matches any depth: the export is narrower, never wider (see docs/exports.md).
 */
final class CiliumExport {

    /** kube-dns as Cilium labels it (the k8s: prefix is Cilium's source for Kubernetes labels). */
    private static final Map<String, Object> KUBE_DNS = map("k8s:io.kubernetes.pod.namespace", "kube-system", "k8s:k8s-app", "kube-dns");

    private CiliumExport() {
    }

    static String render(ProjectPolicy project, OrgPolicy org, List<Rule> allows, ExportSettings s) {
        // Names and CIDRs grouped by their port set; TreeMaps keep the output sorted and stable.
        Map<String, TreeSet<String>> exact = new TreeMap<>();
        Map<String, TreeSet<String>> patterns = new TreeMap<>();
        Map<String, TreeSet<Cidr>> cidrs = new TreeMap<>();
        Map<String, PortSet> portSets = new TreeMap<>();
        TreeSet<String> dnsNames = new TreeSet<>();
        TreeSet<String> dnsPatterns = new TreeSet<>();
        for (Rule r : allows) {
            String key = r.ports().toString();
            portSets.put(key, r.ports());
            switch (r.destination()) {
                case Destination.Names n -> {
                    switch (n.pattern()) {
                        case NamePattern.Exact e -> {
                            exact.computeIfAbsent(key, k -> new TreeSet<>()).add(e.name());
                            dnsNames.add(e.name());
                        }
                        case NamePattern.Subdomains sub -> {
                            patterns.computeIfAbsent(key, k -> new TreeSet<>()).add("*." + sub.name());
                            dnsPatterns.add("*." + sub.name());
                        }
                    }
                }
                case Destination.Addresses a -> cidrs.computeIfAbsent(key, k -> new TreeSet<>(CiliumExport::compare)).add(a.cidr());
            }
        }
        List<Object> egress = new ArrayList<>();
        if (!dnsNames.isEmpty() || !dnsPatterns.isEmpty()) {
            List<Object> dns = new ArrayList<>();
            dnsNames.forEach(n -> dns.add(map("matchName", n)));
            dnsPatterns.forEach(p -> dns.add(map("matchPattern", p)));
            egress.add(map(
                    "toEndpoints", List.of(map("matchLabels", KUBE_DNS)),
                    "toPorts", List.of(map("ports", List.of(map("port", "53", "protocol", "UDP"), map("port", "53", "protocol", "TCP")),
                            "rules", map("dns", dns)))));
        }
        for (String key : portSets.keySet()) {
            List<Object> fqdns = new ArrayList<>();
            exact.getOrDefault(key, new TreeSet<>()).forEach(n -> fqdns.add(map("matchName", n)));
            patterns.getOrDefault(key, new TreeSet<>()).forEach(p -> fqdns.add(map("matchPattern", p)));
            if (!fqdns.isEmpty()) {
                egress.add(withPorts(map("toFQDNs", fqdns), portSets.get(key)));
            }
            TreeSet<Cidr> c = cidrs.get(key);
            if (c != null) {
                egress.add(withPorts(map("toCIDRSet", c.stream().map(x -> (Object) map("cidr", x.toString())).toList()), portSets.get(key)));
            }
        }

        Map<String, TreeSet<Cidr>> denied = new TreeMap<>();
        Map<String, PortSet> denyPorts = new TreeMap<>();
        List<String> notExpressible = new ArrayList<>();
        List<String> deniedFrom = new ArrayList<>();
        for (Rule r : concat(org.production(), project.deny())) {
            String what = (r.kind() == Rule.Kind.PRODUCTION ? "production " : "deny ") + r.describe() + " (" + r.position() + ")";
            if (r.destination() instanceof Destination.Addresses a) {
                denied.computeIfAbsent(r.ports().toString(), k -> new TreeSet<>(CiliumExport::compare)).add(a.cidr());
                denyPorts.put(r.ports().toString(), r.ports());
                deniedFrom.add(what);
            } else {
                notExpressible.add(what);
            }
        }
        List<Object> egressDeny = new ArrayList<>();
        for (String key : denied.keySet()) {
            // Merge overlapping entries (CidrSet) so each address is listed once.
            List<Object> set = CidrSet.of(List.copyOf(denied.get(key))).toCidrs().stream().map(x -> (Object) map("cidr", x.toString())).toList();
            egressDeny.add(withPorts(map("toCIDRSet", set), denyPorts.get(key)));
        }

        Map<String, Object> spec = map(
                "description", "Airlock policy of project " + project.project() + ": allowed names and CIDRs; production and denied CIDRs denied.",
                "endpointSelector", map("matchLabels", new TreeMap<>(s.pods().labels())),
                "egress", egress);
        if (!egressDeny.isEmpty()) {
            spec.put("egressDeny", egressDeny);
        }
        if (egress.isEmpty()) {
            // An empty egress list would not select the pods for egress at all; an empty rule denies everything.
            spec.put("egress", List.of(map()));
        }
        Map<String, Object> doc = map(
                "apiVersion", "cilium.io/v2",
                "kind", "CiliumNetworkPolicy",
                "metadata", map("name", K8sNames.label("airlock-" + project.project() + "-agents"), "namespace", s.namespace(),
                        "labels", map("app.kubernetes.io/managed-by", "airlock", "airlock.dev/project", K8sNames.label(project.project()))),
                "spec", spec);

        List<String> header = new ArrayList<>(List.of(
                "Airlock CiliumNetworkPolicy export for project " + project.project() + " (" + project.file() + "); see docs/exports.md.",
                "Pods " + s.pods() + " in " + s.namespace() + " may reach the allowed names (toFQDNs) and CIDRs (toCIDRSet) on their ports,",
                "and kube-dns for the allowed names only. Denied whatever the allows say (egressDeny):"));
        if (deniedFrom.isEmpty()) {
            header.add("  (none: no production or denied CIDR)");
        }
        deniedFrom.forEach(d -> header.add("  " + d));
        header.add("NOT enforceable here: Cilium cannot deny by name, so these hold only because no allow names them:");
        if (notExpressible.isEmpty()) {
            header.add("  (none)");
        }
        notExpressible.forEach(d -> header.add("  " + d));
        header.add("Cilium's \"*.x\" matches one label (a.x, not a.b.x); Airlock's matches any depth: deeper names are dropped here.");
        header.add("Not carried over: setup-only allows, the protected-address gate, SNI/Host checks. Apply: kubectl apply -f FILE");
        return YamlOut.documents(header, List.of(doc));
    }

    private static Map<String, Object> withPorts(Map<String, Object> rule, PortSet ports) {
        if (!ports.isAny()) {
            List<Object> p = Arrays.stream(ports.ports()).mapToObj(x -> (Object) map("port", Integer.toString(x), "protocol", "TCP")).toList();
            rule.put("toPorts", List.of(map("ports", p)));
        }
        return rule;
    }

    private static int compare(Cidr a, Cidr b) {
        int c = a.network().compareTo(b.network());
        return c != 0 ? c : Integer.compare(a.prefixLength(), b.prefixLength());
    }

    private static List<Rule> concat(List<Rule> a, List<Rule> b) {
        List<Rule> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }
}
