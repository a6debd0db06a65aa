package dev.airlock.audit.k8s;

import dev.airlock.audit.k8s.NetworkPolicy.EgressRule;
import dev.airlock.audit.k8s.NetworkPolicy.PortRange;
import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.model.Destination;
import dev.airlock.policy.model.PortSet;
import dev.airlock.policy.model.Rule;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Whether pods with given labels in a namespace could reach any production CIDR, under the
 * Kubernetes NetworkPolicy semantics:
 * <ol>
 *   <li>A pod's egress is open (everything allowed) until at least one policy of its namespace
 *       selects it and affects egress.</li>
 *   <li>Then exactly the union of the egress rules of every such policy is allowed.</li>
 *   <li>A rule allows its {@code to} peers (every address when {@code to} is empty; each
 *       {@code ipBlock} minus its {@code except}s) on its {@code ports} (every port when empty).</li>
 *   <li>Pod and namespace selector peers are pods of the cluster: they never match an external
 *       production CIDR here (see docs/exports.md for when production overlaps the pod network).</li>
 * </ol>
 * Every finding names the policy, its file and the rule index, the production sub-ranges the
 * rule opens (CIDR arithmetic, so a partial {@code except} shows exactly what is left), and the
 * ports. Pure: no I/O.
 */
public final class StaticCheck {

    private StaticCheck() {
    }

    /** Why a production range is reachable: no policy isolates the pod, or a rule opens it. */
    public sealed interface Cause permits Open, ByRule {
    }

    /** No policy selects the pods for egress. */
    public record Open() implements Cause {
    }

    /** Rule {@code rule} of {@code policy} opens the range. */
    public record ByRule(NetworkPolicy policy, EgressRule rule) implements Cause {
    }

    /** One production rule, what of it is reachable, by what cause and on which ports. */
    public record Finding(Rule production, List<Cidr> reachable, Cause cause, List<String> ports) {
        public Finding {
            reachable = List.copyOf(reachable);
            ports = List.copyOf(ports);
        }
    }

    /** A DNS exfiltration channel: port 53 open to every address (or all egress open). */
    public record DnsWarning(Cause cause, List<String> ports) {
        public DnsWarning {
            ports = List.copyOf(ports);
        }
    }

    public record Report(PodLabels pods, String namespace, List<NetworkPolicy> selecting, boolean isolated,
            List<Finding> findings, List<DnsWarning> dnsWarnings, List<Rule> uncheckedProduction, int policiesRead) {

        public Report {
            selecting = List.copyOf(selecting);
            findings = List.copyOf(findings);
            dnsWarnings = List.copyOf(dnsWarnings);
            uncheckedProduction = List.copyOf(uncheckedProduction);
        }

        public boolean productionReachable() {
            return !findings.isEmpty();
        }
    }

    public static Report check(List<NetworkPolicy> policies, PodLabels pods, String namespace, List<Rule> production) {
        List<NetworkPolicy> selecting = policies.stream()
                .filter(p -> p.affectsEgress() && p.namespace().equals(namespace) && p.podSelector().matches(pods.labels()))
                .toList();
        List<Rule> byAddress = production.stream().filter(r -> r.destination() instanceof Destination.Addresses).toList();
        List<Rule> unchecked = production.stream().filter(r -> r.destination() instanceof Destination.Names).toList();
        List<Finding> findings = new ArrayList<>();
        List<DnsWarning> dns = new ArrayList<>();
        if (selecting.isEmpty()) {
            for (Rule r : byAddress) {
                Cidr c = ((Destination.Addresses) r.destination()).cidr();
                findings.add(new Finding(r, List.of(c), new Open(), List.of(portsOf(r.ports()))));
            }
            dns.add(new DnsWarning(new Open(), List.of("UDP 53", "TCP 53")));
            return new Report(pods, namespace, selecting, false, findings, dns, unchecked, policies.size());
        }
        for (NetworkPolicy p : selecting) {
            for (EgressRule rule : p.egress()) {
                List<PortRange> ports = rule.ports().isEmpty()
                        ? List.of(PortRange.all("TCP"), PortRange.all("UDP"), PortRange.all("SCTP")) : rule.ports();
                for (Rule r : byAddress) {
                    Cidr c = ((Destination.Addresses) r.destination()).cidr();
                    List<Cidr> open = rule.external().intersect(CidrSet.of(c)).toCidrs();
                    List<String> opened = openPorts(ports, r.ports());
                    if (!open.isEmpty() && !opened.isEmpty()) {
                        findings.add(new Finding(r, open, new ByRule(p, rule), opened));
                    }
                }
                if (opensDnsToAnything(rule, ports)) {
                    dns.add(new DnsWarning(new ByRule(p, rule), openPorts(ports, PortSet.of(53))));
                }
            }
        }
        return new Report(pods, namespace, selecting, true, findings, dns, unchecked, policies.size());
    }

    /** Port 53 open to every external address: a resolver anywhere, or a tunnel through DNS. */
    private static boolean opensDnsToAnything(EgressRule rule, List<PortRange> ports) {
        boolean anywhere = rule.allDestinations() || rule.external().toCidrs().stream().anyMatch(c -> c.prefixLength() == 0);
        return anywhere && ports.stream().anyMatch(p -> p.contains(53) && !p.protocol().equals("SCTP"));
    }

    /** The rule's port ranges that include a port of the production rule, as text. */
    private static List<String> openPorts(List<PortRange> ports, PortSet production) {
        List<String> out = new ArrayList<>();
        for (PortRange p : ports) {
            if (production.isAny()) {
                out.add(p.describe());
                continue;
            }
            int[] hit = Arrays.stream(production.ports()).filter(p::contains).toArray();
            if (hit.length > 0) {
                out.add(p.describe() + (p.named() == null && p.from() == p.to() ? ""
                        : " (production ports " + Arrays.toString(hit).replaceAll("[\\[\\] ]", "") + ")"));
            }
        }
        return out;
    }

    private static String portsOf(PortSet p) {
        return p.isAny() ? "every port" : "ports " + p;
    }
}
