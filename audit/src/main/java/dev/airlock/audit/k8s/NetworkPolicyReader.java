package dev.airlock.audit.k8s;

import dev.airlock.audit.k8s.NetworkPolicy.EgressRule;
import dev.airlock.audit.k8s.NetworkPolicy.PortRange;
import dev.airlock.audit.k8s.NetworkPolicy.Requirement;
import dev.airlock.audit.k8s.NetworkPolicy.Selector;
import dev.airlock.audit.k8s.Yaml.ListNode;
import dev.airlock.audit.k8s.Yaml.MapNode;
import dev.airlock.audit.k8s.Yaml.Node;
import dev.airlock.audit.k8s.Yaml.Scalar;
import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.load.Problem;
import dev.airlock.policy.model.SourcePosition;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Reads NetworkPolicies from manifest files: every {@code *.yaml}, {@code *.yml} and {@code *.json}
 * under a directory (sorted, so reports are stable), every document of each, and the items of a
 * {@code List} (what {@code kubectl get networkpolicy -o yaml} prints). Other kinds are skipped.
 *
 * <p>A field this reader does not know inside a NetworkPolicy's spec is a problem, not ignored:
 * a typo such as {@code egres:} would otherwise change what the policy means, silently.
 * Policies without {@code metadata.namespace} are in {@code default}, where {@code kubectl apply}
 * without {@code -n} puts them.
 */
public final class NetworkPolicyReader {

    /** Documents larger than this are not manifests a person wrote; refusing them bounds memory. */
    private static final long MAX_FILE_BYTES = 16L << 20;
    private static final Set<String> SPEC_KEYS = Set.of("podSelector", "policyTypes", "ingress", "egress");
    private static final Set<String> RULE_KEYS = Set.of("to", "ports");
    private static final Set<String> PEER_KEYS = Set.of("ipBlock", "podSelector", "namespaceSelector");
    private static final Set<String> PORT_KEYS = Set.of("protocol", "port", "endPort");
    private static final Set<String> PROTOCOLS = Set.of("TCP", "UDP", "SCTP");

    private final List<Problem> problems = new ArrayList<>();
    private int skipped;

    /** What was read: the policies, and how many documents of other kinds were skipped. */
    public record Result(List<NetworkPolicy> policies, int skippedDocuments, int files) {
    }

    private NetworkPolicyReader() {
    }

    /** Reads every manifest under {@code dir}; all problems of all files at once. */
    public static Result readDirectory(Path dir) throws ManifestException {
        if (!Files.isDirectory(dir)) {
            throw new ManifestException(List.of(new Problem(SourcePosition.of(dir.toString()), "not a directory",
                    "give --k8s the directory that holds the NetworkPolicy YAML files")));
        }
        List<Path> files;
        try (Stream<Path> s = Files.walk(dir)) {
            files = s.filter(Files::isRegularFile).filter(p -> {
                String n = p.getFileName().toString();
                return n.endsWith(".yaml") || n.endsWith(".yml") || n.endsWith(".json");
            }).sorted().toList();
        } catch (IOException e) {
            throw new ManifestException(List.of(new Problem(SourcePosition.of(dir.toString()), "cannot list: " + e.getMessage(), null)));
        }
        NetworkPolicyReader r = new NetworkPolicyReader();
        List<NetworkPolicy> out = new ArrayList<>();
        for (Path f : files) {
            try {
                if (Files.size(f) > MAX_FILE_BYTES) {
                    r.problems.add(new Problem(SourcePosition.of(f.toString()), "larger than 16 MiB", "split the file"));
                    continue;
                }
                out.addAll(r.parse(f.toString(), Files.readString(f, StandardCharsets.UTF_8)));
            } catch (ManifestException e) {
                r.problems.addAll(e.problems());
            } catch (IOException e) {
                r.problems.add(new Problem(SourcePosition.of(f.toString()), "cannot read: " + e.getMessage(), null));
            }
        }
        if (!r.problems.isEmpty()) {
            throw new ManifestException(r.problems);
        }
        return new Result(out, r.skipped, files.size());
    }

    /** Reads the NetworkPolicies of one file's text. */
    public static Result read(String file, String text) throws ManifestException {
        NetworkPolicyReader r = new NetworkPolicyReader();
        List<NetworkPolicy> out = r.parse(file, text);
        if (!r.problems.isEmpty()) {
            throw new ManifestException(r.problems);
        }
        return new Result(out, r.skipped, 1);
    }

    private List<NetworkPolicy> parse(String file, String text) throws ManifestException {
        List<NetworkPolicy> out = new ArrayList<>();
        for (Node doc : Yaml.documents(file, text)) {
            object(file, doc, out, 0);
        }
        return out;
    }

    private void object(String file, Node doc, List<NetworkPolicy> out, int depth) {
        if (!(doc instanceof MapNode m)) {
            problem(doc, "a manifest document is a mapping with apiVersion and kind", "remove this document or fix its indentation");
            return;
        }
        String kind = text(m.get("kind"));
        if (kind == null) {
            problem(m, "this document has no kind", "add kind: NetworkPolicy (or remove the document)");
            return;
        }
        if ((kind.equals("List") || kind.endsWith("List")) && depth == 0) {
            if (m.get("items") instanceof ListNode items) {
                items.items().forEach(i -> object(file, i, out, depth + 1));
            }
            return;
        }
        if (!kind.equals("NetworkPolicy")) {
            skipped++;
            return;
        }
        String api = text(m.get("apiVersion"));
        if (!"networking.k8s.io/v1".equals(api)) {
            problem(m.get("apiVersion") != null ? m.get("apiVersion") : m, "a NetworkPolicy's apiVersion is networking.k8s.io/v1, not " + api,
                    "write apiVersion: networking.k8s.io/v1");
            return;
        }
        MapNode meta = m.get("metadata") instanceof MapNode x ? x : null;
        String name = meta == null ? null : text(meta.get("name"));
        if (name == null || name.isEmpty()) {
            problem(meta != null ? meta : m, "the NetworkPolicy has no metadata.name", "add metadata: {name: ...}");
            return;
        }
        String namespace = meta.get("namespace") == null ? "default" : text(meta.get("namespace"));
        if (!(m.get("spec") instanceof MapNode spec)) {
            problem(m, "NetworkPolicy " + name + " has no spec", "add spec: with at least podSelector: {}");
            return;
        }
        unknownKeys(spec, SPEC_KEYS, "spec");
        if (spec.get("podSelector") == null) {
            problem(spec, "spec.podSelector is required", "write podSelector: {} to select every pod of the namespace");
            return;
        }
        Selector selector = selector(spec.get("podSelector"));
        List<String> types = new ArrayList<>();
        if (spec.get("policyTypes") instanceof ListNode l) {
            for (Node t : l.items()) {
                String v = text(t);
                if (!"Ingress".equals(v) && !"Egress".equals(v)) {
                    problem(t, "policyTypes holds Ingress and Egress only, not " + v, "write Ingress or Egress");
                }
                types.add(v);
            }
        } else if (spec.get("policyTypes") != null && !isNull(spec.get("policyTypes"))) {
            problem(spec.get("policyTypes"), "policyTypes is a list", "write policyTypes: [Egress]");
        }
        List<EgressRule> rules = new ArrayList<>();
        if (spec.get("egress") instanceof ListNode l) {
            for (int i = 0; i < l.items().size(); i++) {
                EgressRule r = rule(i, l.items().get(i));
                if (r != null) {
                    rules.add(r);
                }
            }
        } else if (spec.get("egress") != null && !isNull(spec.get("egress"))) {
            problem(spec.get("egress"), "egress is a list of rules", "write egress: [] or a list of {to, ports}");
        }
        // The API server's defaulting: without policyTypes, Ingress, plus Egress when there is an egress rule.
        boolean egress = types.isEmpty() ? !rules.isEmpty() || hasItems(spec.get("egress")) : types.contains("Egress");
        out.add(new NetworkPolicy(file, namespace, name, selector, egress, rules, m.position()));
    }

    private static boolean hasItems(Node n) {
        return n instanceof ListNode l && !l.items().isEmpty();
    }

    private EgressRule rule(int index, Node n) {
        if (n instanceof Scalar s && s.isNull()) {
            // "- {}" written as "-": an empty rule, every destination on every port
            return new EgressRule(index, n.position(), true, CidrSet.all(), false, List.of());
        }
        if (!(n instanceof MapNode m)) {
            problem(n, "an egress rule is a mapping with to and ports", "write - to: [...] or - {} for everything");
            return null;
        }
        unknownKeys(m, RULE_KEYS, "egress rule");
        boolean all = true;
        boolean cluster = false;
        CidrSet external = CidrSet.empty();
        if (m.get("to") instanceof ListNode to && !to.items().isEmpty()) {
            all = false;
            for (Node peer : to.items()) {
                if (!(peer instanceof MapNode p)) {
                    problem(peer, "a peer is a mapping with ipBlock, podSelector or namespaceSelector", "fix the peer");
                    continue;
                }
                unknownKeys(p, PEER_KEYS, "peer");
                if (p.get("ipBlock") != null) {
                    if (p.get("podSelector") != null || p.get("namespaceSelector") != null) {
                        problem(p, "a peer with ipBlock may not also have a pod or namespace selector", "split it into two peers");
                    }
                    external = external.union(ipBlock(p.get("ipBlock")));
                } else if (p.get("podSelector") != null || p.get("namespaceSelector") != null) {
                    if (p.get("podSelector") != null) {
                        selector(p.get("podSelector"));
                    }
                    if (p.get("namespaceSelector") != null) {
                        selector(p.get("namespaceSelector"));
                    }
                    cluster = true;
                } else {
                    problem(p, "an empty peer", "give ipBlock, podSelector or namespaceSelector");
                }
            }
        } else if (m.get("to") != null && !isNull(m.get("to")) && !(m.get("to") instanceof ListNode)) {
            problem(m.get("to"), "to is a list of peers", "write to: [{ipBlock: {cidr: ...}}]");
        }
        List<PortRange> ports = new ArrayList<>();
        if (m.get("ports") instanceof ListNode pl) {
            for (Node pn : pl.items()) {
                PortRange r = port(pn);
                if (r != null) {
                    ports.add(r);
                }
            }
        } else if (m.get("ports") != null && !isNull(m.get("ports"))) {
            problem(m.get("ports"), "ports is a list", "write ports: [{protocol: TCP, port: 443}]");
        }
        return new EgressRule(index, m.position(), all, all ? CidrSet.all() : external, cluster, ports);
    }

    private CidrSet ipBlock(Node n) {
        if (!(n instanceof MapNode m)) {
            problem(n, "ipBlock is a mapping with cidr and except", "write ipBlock: {cidr: 0.0.0.0/0, except: [...]}");
            return CidrSet.empty();
        }
        unknownKeys(m, Set.of("cidr", "except"), "ipBlock");
        Cidr cidr = cidr(m.get("cidr"), m);
        if (cidr == null) {
            return CidrSet.empty();
        }
        List<Cidr> except = new ArrayList<>();
        if (m.get("except") instanceof ListNode l) {
            for (Node e : l.items()) {
                Cidr x = cidr(e, e);
                if (x == null) {
                    continue;
                }
                if (!cidr.covers(x) || x.prefixLength() == cidr.prefixLength()) {
                    problem(e, "except " + x + " is not strictly inside " + cidr, "an except entry must be a strict subrange of the ipBlock's cidr");
                    continue;
                }
                except.add(x);
            }
        }
        return CidrSet.of(cidr).minus(CidrSet.of(except));
    }

    /** A CIDR as Kubernetes accepts it: host bits are cleared (the API server does the same). */
    private Cidr cidr(Node n, Node where) {
        String t = text(n);
        if (t == null) {
            problem(where, "cidr is required", "write cidr: 203.0.113.0/24");
            return null;
        }
        int slash = t.indexOf('/');
        if (slash > 0) {
            var addr = Cidr.parse(t.substring(0, slash));
            String len = t.substring(slash + 1);
            if (addr.isPresent() && addr.get().prefixLength() == addr.get().network().family().bits && len.matches("[0-9]{1,3}")
                    && Integer.parseInt(len) <= addr.get().prefixLength()) {
                return new Cidr(addr.get().network(), Integer.parseInt(len));
            }
        }
        problem(n, "\"" + t + "\" is not a CIDR", "write address/prefix-length, such as 10.0.0.0/8 or 2001:db8::/32");
        return null;
    }

    private PortRange port(Node n) {
        if (!(n instanceof MapNode m)) {
            problem(n, "a port is a mapping with protocol, port and endPort", "write - {protocol: TCP, port: 443}");
            return null;
        }
        unknownKeys(m, PORT_KEYS, "port");
        String protocol = m.get("protocol") == null || isNull(m.get("protocol")) ? "TCP" : text(m.get("protocol"));
        if (!PROTOCOLS.contains(protocol)) {
            problem(m.get("protocol"), "protocol is TCP, UDP or SCTP, not " + protocol, "write TCP, UDP or SCTP");
            return null;
        }
        Node port = m.get("port");
        if (port == null || isNull(port)) {
            if (m.get("endPort") != null) {
                problem(m.get("endPort"), "endPort needs a numeric port", "add port: FIRST");
            }
            return PortRange.all(protocol);
        }
        Scalar s = port instanceof Scalar x ? x : null;
        if (s == null || s.text() == null) {
            problem(port, "port is a number or a port name", "write port: 443");
            return null;
        }
        if (!s.number()) {
            if (s.text().matches("[0-9]+")) {
                problem(port, "port \"" + s.text() + "\" is quoted, so Kubernetes reads it as a name, and names are letters",
                        "write the number without quotes");
                return null;
            }
            if (m.get("endPort") != null) {
                problem(m.get("endPort"), "endPort cannot follow a named port", "use a numeric port or remove endPort");
            }
            return new PortRange(protocol, 1, 65535, s.text());
        }
        int from = number(port, 1);
        int to = from;
        if (m.get("endPort") != null && !isNull(m.get("endPort"))) {
            to = number(m.get("endPort"), from);
        }
        return new PortRange(protocol, from, to, null);
    }

    private int number(Node n, int min) {
        String t = text(n);
        if (n instanceof Scalar s && s.number() && t.matches("[0-9]{1,5}")) {
            int v = Integer.parseInt(t);
            if (v >= min && v <= 65535) {
                return v;
            }
        }
        problem(n, "\"" + t + "\" is not a port number from " + min + " to 65535", "write a port number (endPort at least port)");
        return min;
    }

    private Selector selector(Node n) {
        if (n instanceof Scalar s && s.isNull()) {
            return new Selector(Map.of(), List.of());
        }
        if (!(n instanceof MapNode m)) {
            problem(n, "a label selector is a mapping with matchLabels and matchExpressions", "write {} or {matchLabels: {app: x}}");
            return new Selector(Map.of(), List.of());
        }
        unknownKeys(m, Set.of("matchLabels", "matchExpressions"), "label selector");
        Map<String, String> labels = new LinkedHashMap<>();
        if (m.get("matchLabels") instanceof MapNode ml) {
            ml.entries().forEach((k, v) -> labels.put(k, text(v) == null ? "" : text(v)));
        }
        List<Requirement> reqs = new ArrayList<>();
        if (m.get("matchExpressions") instanceof ListNode l) {
            for (Node e : l.items()) {
                if (!(e instanceof MapNode em)) {
                    problem(e, "a matchExpressions entry is a mapping", "write {key: k, operator: In, values: [v]}");
                    continue;
                }
                String op = text(em.get("operator"));
                String key = text(em.get("key"));
                List<String> values = new ArrayList<>();
                if (em.get("values") instanceof ListNode vl) {
                    vl.items().forEach(v -> values.add(text(v)));
                }
                if (key == null || !Set.of("In", "NotIn", "Exists", "DoesNotExist").contains(op)) {
                    problem(e, "a requirement needs a key and the operator In, NotIn, Exists or DoesNotExist", "fix key or operator");
                    continue;
                }
                if ((op.equals("In") || op.equals("NotIn")) == values.isEmpty()) {
                    problem(e, op + " " + (values.isEmpty() ? "needs values" : "takes no values"), "fix values");
                    continue;
                }
                reqs.add(new Requirement(key, op, values));
            }
        }
        return new Selector(labels, reqs);
    }

    private void unknownKeys(MapNode m, Set<String> known, String where) {
        m.entries().forEach((k, v) -> {
            if (!known.contains(k)) {
                problem(v, "unknown field \"" + k + "\" in " + where, "use one of " + known.stream().sorted().toList()
                        + " (a misspelt field would change what the policy means)");
            }
        });
    }

    private static boolean isNull(Node n) {
        return n instanceof Scalar s && s.isNull();
    }

    private static String text(Node n) {
        return n instanceof Scalar s ? s.text() : null;
    }

    private void problem(Node at, String message, String fix) {
        problems.add(new Problem(at.position(), message, fix));
    }
}
