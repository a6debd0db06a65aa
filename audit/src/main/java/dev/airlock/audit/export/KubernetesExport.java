package dev.airlock.audit.export;

import static dev.airlock.audit.export.YamlOut.map;

import dev.airlock.audit.k8s.CidrSet;
import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.model.Destination;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.policy.model.Rule;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Two NetworkPolicies. The first isolates the agent pods: every egress denied except to the egress
 * gateway pods on the proxy, transparent and DNS ports, and every ingress denied except from the
 * gateway pods. Plain NetworkPolicy matches addresses and ports, never names, so the policy's name
 * rules stay with the gateway; this only makes the gateway the agents' one exit, as nftables does
 * for a sandbox. The second limits the gateway pods' own egress to everything but the production
 * CIDRs and the project's denied CIDRs: if the gateway were ever talked into dialling production,
 * the cluster drops it.
 */
final class KubernetesExport {

    private KubernetesExport() {
    }

    static String render(ProjectPolicy project, OrgPolicy org, ExportSettings s) {
        String base = K8sNames.label("airlock-" + project.project());
        Map<String, Object> labels = map("app.kubernetes.io/managed-by", "airlock", "airlock.dev/project", K8sNames.label(project.project()));
        Map<String, Object> gatewayPeer = map(
                "podSelector", map("matchLabels", new TreeMap<>(s.gatewayPods().labels())),
                "namespaceSelector", map("matchLabels", map("kubernetes.io/metadata.name", s.gatewayNamespace())));
        List<Object> ports = List.of(
                map("protocol", "TCP", "port", s.proxyPort()),
                map("protocol", "TCP", "port", s.transparentPort()),
                map("protocol", "UDP", "port", s.dnsPort()),
                map("protocol", "TCP", "port", s.dnsPort()));
        Map<String, Object> agents = map(
                "apiVersion", "networking.k8s.io/v1",
                "kind", "NetworkPolicy",
                "metadata", map("name", K8sNames.label(base + "-agents"), "namespace", s.namespace(), "labels", labels),
                "spec", map(
                        "podSelector", map("matchLabels", new TreeMap<>(s.pods().labels())),
                        "policyTypes", List.of("Ingress", "Egress"),
                        "ingress", List.of(map("from", List.of(gatewayPeer))),
                        "egress", List.of(map("to", List.of(gatewayPeer), "ports", distinct(ports)))));

        List<Cidr> blocked = new ArrayList<>();
        List<String> blockedFrom = new ArrayList<>();
        for (Rule r : org.production()) {
            if (r.destination() instanceof Destination.Addresses a) {
                blocked.add(a.cidr());
                blockedFrom.add("production " + r.describe() + " (" + r.position() + ")");
            }
        }
        for (Rule r : project.deny()) {
            if (r.destination() instanceof Destination.Addresses a) {
                blocked.add(a.cidr());
                blockedFrom.add("deny " + r.describe() + " (" + r.position() + ")");
            }
        }
        List<Object> peers = new ArrayList<>();
        for (Cidr family : List.of(Cidr.of("0.0.0.0/0"), Cidr.of("::/0"))) {
            CidrSet open = CidrSet.of(family).minus(CidrSet.of(blocked));
            if (open.isEmpty()) {
                continue; // production covers the whole family: no ipBlock at all
            }
            List<String> except = CidrSet.of(family).minus(open).toCidrs().stream().map(Cidr::toString).toList();
            peers.add(map("ipBlock", except.isEmpty() ? map("cidr", family.toString()) : map("cidr", family.toString(), "except", except)));
        }
        Map<String, Object> gatewaySpec = map(
                "podSelector", map("matchLabels", new TreeMap<>(s.gatewayPods().labels())),
                "policyTypes", List.of("Egress"),
                "egress", peers.isEmpty() ? List.of() : List.of(map("to", peers)));
        Map<String, Object> gateway = map(
                "apiVersion", "networking.k8s.io/v1",
                "kind", "NetworkPolicy",
                "metadata", map("name", K8sNames.label(base + "-gateway"), "namespace", s.gatewayNamespace(), "labels", labels),
                "spec", gatewaySpec);

        List<String> header = new ArrayList<>(List.of(
                "Airlock NetworkPolicy export for project " + project.project() + " (" + project.file() + "); see docs/exports.md.",
                "1. " + base + "-agents: pods " + s.pods() + " in " + s.namespace() + " may only talk to the egress gateway",
                "   (pods " + s.gatewayPods() + " in " + s.gatewayNamespace() + ") on TCP " + s.proxyPort() + " (proxy), TCP "
                        + s.transparentPort() + " (transparent) and UDP/TCP " + s.dnsPort() + " (DNS); only the gateway may connect to them.",
                "   Names (allow, deny, production names) cannot be written in a NetworkPolicy: the gateway enforces them.",
                "2. " + base + "-gateway: the gateway pods may reach every address except:"));
        if (blockedFrom.isEmpty()) {
            header.add("   (none: the organisation policy names no production CIDR)");
        }
        blockedFrom.forEach(b -> header.add("   " + b));
        header.add("   A NetworkPolicy cannot restrict ports inside an except: a CIDR denied on some ports is excluded on all.");
        header.add("Apply: kubectl apply -f FILE (needs a CNI that enforces NetworkPolicy egress, such as Calico or Cilium).");
        return YamlOut.documents(header, List.of(agents, gateway));
    }

    /** Port entries without repeats (the proxy and DNS ports may coincide), in their order. */
    private static List<Object> distinct(List<Object> ports) {
        List<Object> out = new ArrayList<>();
        ports.forEach(p -> {
            if (!out.contains(p)) {
                out.add(p);
            }
        });
        return out;
    }
}
