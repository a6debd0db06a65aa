package dev.airlock.policy.load;

import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.address.IpLiterals;
import dev.airlock.policy.model.Destination;
import dev.airlock.policy.model.PortSet;
import dev.airlock.policy.model.Rule;
import dev.airlock.policy.model.SourcePosition;
import dev.airlock.policy.name.HostNames;
import dev.airlock.policy.name.NamePattern;
import dev.airlock.policy.name.PublicSuffixes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Parses rule entries: {@code name}, {@code *.name}, {@code name:port}, {@code {host, ports}} and
 * {@code {cidr, ports}}. Everything ambiguous is refused with the exact fix; nothing is repaired.
 */
final class Entries {

    /** Service names people write instead of numbers, for the "write 443" hint. */
    private static final Map<String, Integer> WELL_KNOWN = Map.of(
            "http", 80, "https", 443, "ssh", 22, "git", 9418, "postgres", 5432, "postgresql", 5432,
            "mysql", 3306, "redis", 6379, "dns", 53, "smtp", 25);

    private static final Cidr MAPPED = Cidr.of("::ffff:0.0.0.0/96");

    private final List<Problem> problems;

    Entries(List<Problem> problems) {
        this.problems = problems;
    }

    /**
     * @param kind         what the rule does
     * @param defaultPorts ports when the entry names none (80/443 for allows, every port for denies)
     * @param portsAllowed false for production entries, which always cover every port
     */
    Optional<Rule> rule(YamlNode node, Rule.Kind kind, PortSet defaultPorts, boolean portsAllowed, String source) {
        if (node instanceof YamlNode.Scalar s && !s.isNull()) {
            return stringEntry(s, kind, defaultPorts, portsAllowed, source);
        }
        if (node instanceof YamlNode.Mapping) {
            return mappingEntry(node, kind, defaultPorts, portsAllowed, source);
        }
        problems.add(new Problem(node.position(), "a rule must be a name, name:port, or a mapping with host or cidr; found "
                + node.kind(), "write \"- github.com\" or \"- cidr: 198.18.7.0/24\""));
        return Optional.empty();
    }

    private Optional<Rule> stringEntry(YamlNode.Scalar s, Rule.Kind kind, PortSet defaultPorts, boolean portsAllowed,
            String source) {
        String text = s.text();
        SourcePosition at = s.position();
        if (text.startsWith("cidr:") || text.startsWith("host:")) {
            problems.add(new Problem(at, "\"" + text + "\" is a string, not a mapping",
                    "put a space after the colon and no quotes: - " + text.replaceFirst(":", ": ").replace("  ", " ")));
            return Optional.empty();
        }
        if (text.startsWith("[") || text.indexOf(':') != text.lastIndexOf(':')) {
            return ipv6Entry(at, text);
        }
        String host = text;
        PortSet ports = defaultPorts;
        int colon = text.lastIndexOf(':');
        if (colon >= 0) {
            host = text.substring(0, colon);
            if (!portsAllowed) {
                problems.add(new Problem(at, "production entry \"" + text + "\" names a port",
                        "production is denied on every port: write \"" + host + "\""));
                return Optional.empty();
            }
            Optional<Integer> port = port(at, text.substring(colon + 1), text);
            if (port.isEmpty()) {
                return Optional.empty();
            }
            ports = PortSet.of(port.get());
        }
        PortSet finalPorts = ports;
        return pattern(at, host).map(p -> new Rule(kind, new Destination.Names(p), finalPorts, at, source));
    }

    /**
     * The fix for an address written where a name goes: a CIDR rule, unless the address is one no
     * project rule can open (then the CIDR would be refused too, so it is never proposed).
     */
    private static String addressFix(dev.airlock.policy.address.IpAddress a) {
        dev.airlock.policy.address.AddressClass cls = BUILT_IN.classify(a);
        if (!cls.projectCanOpen()) {
            return "no project rule can open it: it is " + cls.description
                    + "; only an exception in the organisation policy can (ask the security team)";
        }
        return "IP addresses are allowed only as CIDR rules: write \"- cidr: " + a + "/" + a.family().bits + "\"";
    }

    private static final dev.airlock.policy.address.AddressClassifier BUILT_IN = new dev.airlock.policy.address.AddressClassifier();

    private Optional<Rule> ipv6Entry(SourcePosition at, String text) {
        String bare = text.startsWith("[") && text.indexOf(']') > 0 ? text.substring(1, text.indexOf(']')) : text;
        String fix = IpLiterals.parseV6(bare).map(Entries::addressFix)
                .orElse("IP addresses are allowed only as CIDR rules, such as \"- cidr: 2001:db8::/48\"");
        String what = text.startsWith("[") ? "an IPv6 address" : "an unbracketed IPv6 address (ambiguous with a port)";
        problems.add(new Problem(at, "\"" + text + "\" is " + what, fix));
        return Optional.empty();
    }

    /** A rule's {@code ports}, or {@code defaultPorts} when it has none; empty after a problem. */
    private Optional<PortSet> ports(Fields f, PortSet defaultPorts) {
        if (!f.has("ports")) {
            return Optional.of(defaultPorts);
        }
        List<YamlNode> items = f.list("ports");
        if (items.isEmpty()) {
            problems.add(new Problem(f.get("ports").get().position(), "'ports' is empty",
                    "list at least one port, or remove 'ports' for the default (" + defaultPorts + ")"));
            return Optional.empty();
        }
        List<Integer> list = new ArrayList<>();
        for (YamlNode item : items) {
            if (!(item instanceof YamlNode.Scalar s) || s.isNull()) {
                problems.add(new Problem(item.position(), "a port must be a number, found " + item.kind(),
                        "write a number from 1 to 65535"));
                continue;
            }
            if (!s.plainNumber() && s.text().matches("[1-9][0-9]{0,4}")) {
                problems.add(new Problem(s.position(), "port \"" + s.text() + "\" is quoted",
                        "write it without quotes: " + s.text()));
                continue;
            }
            port(s.position(), s.text(), s.text()).ifPresent(list::add);
        }
        if (list.size() != items.size()) {
            return Optional.empty();
        }
        return Optional.of(PortSet.of(list.stream().mapToInt(Integer::intValue).toArray()));
    }

    /**
     * One entry of the organisation's {@code exceptions:}: {@code {project, cidr, ports}}, all
     * three required, so an exception is always as narrow as the security team wrote it.
     */
    Optional<OrgPolicy.Grant> exception(YamlNode node, java.util.regex.Pattern projectName) {
        Fields f = Fields.of(node, "an exception", Set.of("project", "cidr", "ports"), problems);
        if (f == null) {
            return Optional.empty();
        }
        Optional<YamlNode> project = f.required("project", "project: payments");
        Optional<YamlNode> cidrNode = f.required("cidr", "cidr: 127.0.0.1/32");
        Optional<YamlNode> portsNode = f.required("ports", "ports: [5432]");
        if (project.isEmpty() || cidrNode.isEmpty() || portsNode.isEmpty()) {
            return Optional.empty();
        }
        String name = f.string("project");
        if (name == null || !projectName.matcher(name).matches()) {
            problems.add(new Problem(project.get().position(), "exception project \"" + name + "\" is not a valid project name",
                    "use the project's name from its airlock.yaml: 1 to 40 characters from a-z, 0-9 and '-'"));
            return Optional.empty();
        }
        String text = f.string("cidr");
        Optional<PortSet> ports = ports(f, PortSet.ANY);
        if (text == null || ports.isEmpty()) {
            return Optional.empty();
        }
        SourcePosition at = cidrNode.get().position();
        return cidr(at, text).map(c -> new OrgPolicy.Grant(name, c, ports.get(), at));
    }

    private Optional<Rule> mappingEntry(YamlNode node, Rule.Kind kind, PortSet defaultPorts, boolean portsAllowed,
            String source) {
        Set<String> keys = portsAllowed ? Set.of("host", "cidr", "ports") : Set.of("host", "cidr");
        Fields f = Fields.of(node, "a rule", keys, problems);
        if (f == null) {
            return Optional.empty();
        }
        if (f.has("host") == f.has("cidr")) {
            problems.add(new Problem(f.position(), "a rule needs exactly one of 'host' or 'cidr'",
                    "write \"- host: staging.acme.dev\" or \"- cidr: 198.18.7.0/24\""));
            return Optional.empty();
        }
        Optional<PortSet> parsed = ports(f, defaultPorts);
        if (parsed.isEmpty()) {
            return Optional.empty();
        }
        PortSet ports = parsed.get();
        PortSet finalPorts = ports;
        if (f.has("cidr")) {
            String text = f.string("cidr");
            if (text == null) {
                return Optional.empty();
            }
            SourcePosition at = f.get("cidr").get().position();
            return cidr(at, text).map(c -> new Rule(kind, new Destination.Addresses(c), finalPorts, at, source));
        }
        String text = f.string("host");
        if (text == null) {
            return Optional.empty();
        }
        SourcePosition at = f.get("host").get().position();
        if (text.startsWith("[") || text.indexOf(':') != text.lastIndexOf(':')) {
            return ipv6Entry(at, text);
        }
        if (text.indexOf(':') >= 0) {
            problems.add(new Problem(at, "host \"" + text + "\" includes a port",
                    "put the port in 'ports': host: " + text.substring(0, text.indexOf(':'))
                            + ", ports: [" + text.substring(text.indexOf(':') + 1) + "]"));
            return Optional.empty();
        }
        return pattern(at, text).map(p -> new Rule(kind, new Destination.Names(p), finalPorts, at, source));
    }

    /** A name or {@code *.name}, which must already be canonical. */
    Optional<NamePattern> pattern(SourcePosition at, String text) {
        if (text.equals("*")) {
            problems.add(new Problem(at, "\"*\" would match every host", "list the hosts the project needs"));
            return Optional.empty();
        }
        boolean wildcard = text.startsWith("*.");
        String name = wildcard ? text.substring(2) : text;
        if (name.indexOf('*') >= 0) {
            problems.add(new Problem(at, "\"" + text + "\" has a glob that is not a leading \"*.\"",
                    "use an exact name, or \"*.\" followed by a name (\"*.example.com\" matches its subdomains only)"));
            return Optional.empty();
        }
        if (wildcard && name.isEmpty()) {
            problems.add(new Problem(at, "\"*.\" names no domain", "write \"*.\" followed by a domain, such as \"*.example.com\""));
            return Optional.empty();
        }
        IpLiterals.Shape shape = IpLiterals.shape(name);
        if (shape instanceof IpLiterals.Canonical c) {
            problems.add(new Problem(at, "\"" + text + "\" is an IP address",
                    addressFix(c.address())));
            return Optional.empty();
        }
        if (shape instanceof IpLiterals.NonCanonical n) {
            problems.add(new Problem(at, "\"" + text + "\" is a numeric address in a non-canonical form (" + n.why() + ")",
                    "IP addresses are allowed only as CIDR rules in dotted-quad form, such as \"- cidr: 198.18.7.1/32\""));
            return Optional.empty();
        }
        HostNames.Result r = HostNames.canonicalize(name);
        if (r instanceof HostNames.Invalid inv) {
            problems.add(new Problem(at, "\"" + text + "\" is not a valid host name: " + inv.why(),
                    "write a DNS name such as \"api.example.com\""));
            return Optional.empty();
        }
        String canonical = ((HostNames.Canonical) r).name();
        if (!canonical.equals(name)) {
            String written = wildcard ? "*." + canonical : canonical;
            problems.add(new Problem(at, "\"" + text + "\" is not in canonical form",
                    "write \"" + written + "\" (lower case, Punycode, no trailing dot)"));
            return Optional.empty();
        }
        if (wildcard && PublicSuffixes.icann().isPublicSuffix(canonical)) {
            problems.add(new Problem(at, "\"" + text + "\" would match every name under the public suffix \"" + canonical + "\"",
                    "name your organisation's own domain, such as \"*.example." + canonical + "\""));
            return Optional.empty();
        }
        return Optional.of(wildcard ? new NamePattern.Subdomains(canonical) : new NamePattern.Exact(canonical));
    }

    Optional<Cidr> cidr(SourcePosition at, String text) {
        Optional<Cidr> c = Cidr.parse(text);
        if (c.isPresent() && MAPPED.covers(c.get())) {
            // ::ffff:a.b.c.d/n would never match the plain IPv4 addresses it means: refuse it.
            Cidr v4 = new Cidr(IpAddress.ipv4((int) c.get().network().lo()), Math.max(0, c.get().prefixLength() - 96));
            problems.add(new Problem(at, "\"" + text + "\" is written as IPv4-mapped IPv6",
                    "write the IPv4 form: " + v4));
            return Optional.empty();
        }
        if (c.isPresent()) {
            return c;
        }
        int slash = text.indexOf('/');
        String addr = slash < 0 ? text : text.substring(0, slash);
        IpLiterals.Shape shape = IpLiterals.shape(addr);
        if (addr.startsWith("[") && shape instanceof IpLiterals.Canonical can) {
            // Cidr.parse refuses brackets; without this the message would blame host bits.
            String bare = can.address() + (slash >= 0 ? text.substring(slash) : "");
            problems.add(new Problem(at, "\"" + text + "\" is written with brackets",
                    "CIDRs take the address without brackets: write \"" + bare + "\""));
        } else if (shape instanceof IpLiterals.Canonical can && slash >= 0) {
            String len = text.substring(slash + 1);
            // Only a well-formed length can be blamed on host bits; "/08" is a malformed length.
            if (len.matches("0|[1-9][0-9]{0,2}") && Integer.parseInt(len) <= can.address().family().bits) {
                int l = Integer.parseInt(len);
                String masked = new Cidr(can.address(), l).toString();
                problems.add(new Problem(at, "\"" + text + "\" has host bits set after /" + l,
                        "write \"" + masked + "\" for the network, or \"" + can.address() + "/"
                                + can.address().family().bits + "\" for one address"));
            } else {
                problems.add(new Problem(at, "\"" + text + "\" has an invalid prefix length",
                        "use /0 to /" + can.address().family().bits + " without leading zeros"));
            }
        } else if (shape instanceof IpLiterals.NonCanonical n) {
            problems.add(new Problem(at, "\"" + text + "\" is not a canonical address (" + n.why() + ")",
                    "write the address as a canonical dotted quad or RFC 5952 IPv6, such as 198.18.7.0/24"));
        } else {
            problems.add(new Problem(at, "\"" + text + "\" is not a CIDR",
                    "write an address and prefix length, such as 198.18.7.0/24 or 2001:db8::/48"));
        }
        return Optional.empty();
    }

    /** A port written as plain decimal 1-65535: no sign, no leading zero, no name. */
    Optional<Integer> port(SourcePosition at, String text, String context) {
        if (text.isEmpty()) {
            problems.add(new Problem(at, "\"" + context + "\" has an empty port", "write a port from 1 to 65535 after the colon"));
            return Optional.empty();
        }
        if (text.matches("[0-9]{1,6}") && !text.startsWith("0")) {
            int p = Integer.parseInt(text);
            if (p <= 65535) {
                return Optional.of(p);
            }
        }
        String fix;
        if (text.startsWith("+")) {
            fix = "write the port without a sign: " + text.substring(1);
        } else if (text.matches("0[0-9]+")) {
            fix = "write the port without leading zeros: " + text.replaceFirst("^0+", "");
        } else if (WELL_KNOWN.containsKey(text.toLowerCase(java.util.Locale.ROOT))) {
            fix = "ports are numbers: write " + WELL_KNOWN.get(text.toLowerCase(java.util.Locale.ROOT)) + " for " + text;
        } else {
            fix = "write a decimal port from 1 to 65535";
        }
        problems.add(new Problem(at, "invalid port \"" + text + "\"" + (context.equals(text) ? "" : " in \"" + context + "\""), fix));
        return Optional.empty();
    }
}
