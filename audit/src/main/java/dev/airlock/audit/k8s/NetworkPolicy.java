package dev.airlock.audit.k8s;

import dev.airlock.policy.model.SourcePosition;
import java.util.List;
import java.util.Map;

/**
 * The parts of one {@code networking.k8s.io/v1} NetworkPolicy that decide a pod's egress.
 * {@code affectsEgress} already applies the API server's defaulting: without {@code policyTypes}, a
 * policy affects egress only when it has at least one egress rule.
 */
public record NetworkPolicy(String file, String namespace, String name, Selector podSelector, boolean affectsEgress,
        List<EgressRule> egress, SourcePosition position) {

    public NetworkPolicy {
        egress = List.copyOf(egress);
    }

    /** {@code namespace/name}. */
    public String qualifiedName() {
        return namespace + "/" + name;
    }

    /** A label selector: {@code matchLabels} and {@code matchExpressions}, all of which must hold. The empty selector selects every pod. */
    public record Selector(Map<String, String> matchLabels, List<Requirement> expressions) {

        public Selector {
            matchLabels = Map.copyOf(matchLabels);
            expressions = List.copyOf(expressions);
        }

        public boolean matches(Map<String, String> labels) {
            for (Map.Entry<String, String> e : matchLabels.entrySet()) {
                if (!e.getValue().equals(labels.get(e.getKey()))) {
                    return false;
                }
            }
            return expressions.stream().allMatch(r -> r.matches(labels));
        }
    }

    /** One {@code matchExpressions} entry. */
    public record Requirement(String key, String operator, List<String> values) {

        public Requirement {
            values = List.copyOf(values);
        }

        boolean matches(Map<String, String> labels) {
            String v = labels.get(key);
            return switch (operator) {
                case "In" -> v != null && values.contains(v);
                case "NotIn" -> v == null || !values.contains(v);
                case "Exists" -> v != null;
                case "DoesNotExist" -> v == null;
                default -> throw new IllegalStateException("operator checked at parse time: " + operator);
            };
        }
    }

    /**
     * One egress rule. {@code external} is what its {@code to} opens outside the cluster: every
     * address when {@code to} is absent or empty, the union of its {@code ipBlock}s (each minus its
     * {@code except}s) otherwise. Pod and namespace selector peers are cluster-internal and open no
     * external address ({@code clusterPeers} says the rule had some). {@code ports} empty means
     * every port of every protocol.
     */
    public record EgressRule(int index, SourcePosition position, boolean allDestinations, CidrSet external, boolean clusterPeers,
            List<PortRange> ports) {

        public EgressRule {
            ports = List.copyOf(ports);
        }
    }

    /**
     * One {@code ports} entry: a protocol and a range of port numbers, or a named port, which this
     * check cannot resolve (it names a port of the destination pod) and so treats as every port of
     * its protocol.
     */
    public record PortRange(String protocol, int from, int to, String named) {

        public static PortRange all(String protocol) {
            return new PortRange(protocol, 1, 65535, null);
        }

        public boolean contains(int port) {
            return named != null || (from <= port && port <= to);
        }

        public String describe() {
            if (named != null) {
                return protocol + " named port \"" + named + "\" (treated as every " + protocol + " port)";
            }
            if (from == 1 && to == 65535) {
                return protocol + " every port";
            }
            return protocol + " " + (from == to ? Integer.toString(from) : from + "-" + to);
        }
    }
}
