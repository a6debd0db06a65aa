package dev.airlock.policy;

import dev.airlock.policy.address.AddressClass;
import dev.airlock.policy.address.AddressClassifier;
import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.address.IpLiterals;
import dev.airlock.policy.model.Destination;
import dev.airlock.policy.model.Rule;
import dev.airlock.policy.name.HostNames;
import dev.airlock.policy.name.NamePattern;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The reference for {@link PolicyEngineDifferentialTest}: the engine's rules written as plainly
 * as possible, with a linear scan over the rule lists instead of any index, and canonicalisation
 * always through the full {@link HostNames#canonicalize} (no fast path). Slow and obviously
 * right; the optimised engine must give the same {@link Decision} for every request.
 *
 * <p>Specificity, as documented for the engine: a name's matching rules are its exact rules, then
 * the {@code *.} rules of its nearest parent, then farther parents; rules written for the same
 * name keep their written order. An address's matching CIDR rules go longest prefix first, and
 * for the same prefix the one written last first.
 */
final class LinearScanEngine {

    private final List<Rule> allow;
    private final List<Rule> deny;
    private final List<Rule> production;
    private final AddressClassifier classifier;

    LinearScanEngine(List<Rule> allow, List<Rule> deny, List<Rule> production, List<Cidr> airlockLinks) {
        this.allow = List.copyOf(allow);
        this.deny = List.copyOf(deny);
        this.production = List.copyOf(production);
        this.classifier = new AddressClassifier(airlockLinks);
    }

    // ---- matching by linear scan -------------------------------------------------------------------

    /** Every name rule of the list matching {@code name}, most specific first. */
    static List<Rule> nameMatches(List<Rule> list, String name) {
        List<Rule> exact = new ArrayList<>();
        List<Rule> subdomains = new ArrayList<>();
        for (Rule r : list) {
            if (r.destination() instanceof Destination.Names n && n.pattern().matches(name)) {
                (n.pattern() instanceof NamePattern.Exact ? exact : subdomains).add(r);
            }
        }
        // The nearest parent has the longest name. List.sort is stable: written order is kept.
        subdomains.sort(Comparator.comparingInt((Rule r) -> ((Destination.Names) r.destination()).pattern().name().length())
                .reversed());
        exact.addAll(subdomains);
        return exact;
    }

    private static Rule firstName(List<Rule> list, String name, int port) {
        for (Rule r : nameMatches(list, name)) {
            if (r.ports().contains(port)) {
                return r;
            }
        }
        return null;
    }

    /** The longest prefix containing {@code a} on {@code port}; for equal prefixes, the one written last. */
    private static Rule firstCidr(List<Rule> list, IpAddress a, int port) {
        Rule best = null;
        for (Rule r : list) {
            if (r.destination() instanceof Destination.Addresses c && c.cidr().contains(a) && r.ports().contains(port)
                    && (best == null || c.cidr().prefixLength() >= prefix(best))) {
                best = r;
            }
        }
        return best;
    }

    private static int prefix(Rule r) {
        return ((Destination.Addresses) r.destination()).cidr().prefixLength();
    }

    // ---- the engine's gates, in the same order ------------------------------------------------------

    PolicyEngine.Screening screen(String host, int port) {
        Object target = target(host, port);
        if (target instanceof Decision d) {
            return new PolicyEngine.Screening.Final(d);
        }
        if (target instanceof IpAddress a) {
            return new PolicyEngine.Screening.Final(decideAddressTarget(a, port));
        }
        String name = (String) target;
        Decision denial = nameGate(name, port, List.of());
        if (denial != null) {
            return new PolicyEngine.Screening.Final(denial);
        }
        if (firstName(allow, name, port) == null) {
            return new PolicyEngine.Screening.Final(nameDenial(name, port));
        }
        return new PolicyEngine.Screening.Resolve(name);
    }

    PolicyEngine.Screening screenName(String host) {
        Object target = target(host, 443);
        if (target instanceof Decision d) {
            return new PolicyEngine.Screening.Final(d);
        }
        if (target instanceof IpAddress a) {
            return new PolicyEngine.Screening.Final(Decision.deny(Reason.IP_LITERAL, a.toString(), 0, null,
                    a + " is an address, not a name to resolve"));
        }
        String name = (String) target;
        for (Rule p : nameMatches(production, name)) {
            return new PolicyEngine.Screening.Final(Decision.deny(Reason.PRODUCTION, name, 0, p,
                    name + " is in the organisation's production set (" + p.describe() + " at " + p.position() + ")"));
        }
        for (Rule d : nameMatches(deny, name)) {
            if (d.ports().isAny()) {
                return new PolicyEngine.Screening.Final(Decision.deny(Reason.DENY_RULE, name, 0, d,
                        name + " matches the deny rule " + d.describe() + " at " + d.position()));
            }
        }
        if (nameMatches(allow, name).isEmpty()) {
            return new PolicyEngine.Screening.Final(Decision.deny(Reason.NO_RULE, name, 0, null, "no allow rule matches " + name));
        }
        return new PolicyEngine.Screening.Resolve(name);
    }

    Decision decide(EgressRequest req) {
        int port = req.port();
        Object target = target(req.host(), port);
        if (target instanceof Decision d) {
            return d;
        }
        if (target instanceof IpAddress a) {
            return decideAddressTarget(a, port);
        }
        String name = (String) target;
        Decision denial = nameGate(name, port, req.aliases());
        if (denial != null) {
            return denial;
        }
        Rule rule = firstName(allow, name, port);
        if (rule == null) {
            return nameDenial(name, port);
        }
        if (req.addresses().isEmpty()) {
            return Decision.deny(Reason.DNS_FAILURE, name, port, null, name + " has no address");
        }
        return addressGate(name, port, rule, req.addresses());
    }

    private static Object target(String raw, int port) {
        if (raw == null || raw.isEmpty()) {
            return Decision.deny(Reason.BAD_REQUEST, "", port, null, "no host was given");
        }
        if (port < 1 || port > 65535) {
            return Decision.deny(Reason.BAD_REQUEST, Printable.escape(raw), port, null, "port " + port + " is outside 1-65535");
        }
        switch (IpLiterals.shape(raw)) {
            case IpLiterals.Canonical c -> {
                return c.address();
            }
            case IpLiterals.NonCanonical n -> {
                return Decision.deny(Reason.IP_LITERAL, Printable.escape(raw), port, null,
                        Printable.escape(raw) + " is " + n.why() + "; numeric hosts are accepted only in canonical form");
            }
            case IpLiterals.NotNumeric ignored -> {
                // a name
            }
        }
        return switch (HostNames.canonicalize(raw)) {
            case HostNames.Invalid inv -> Decision.deny(Reason.BAD_REQUEST, Printable.escape(raw), port, null,
                    "\"" + Printable.escape(raw) + "\" is not a valid host name: " + Printable.escape(inv.why()));
            case HostNames.Canonical c -> IpLiterals.shape(c.name()) instanceof IpLiterals.NotNumeric ? c.name()
                    : Decision.deny(Reason.IP_LITERAL, c.name(), port, null,
                            Printable.escape(raw) + " maps to the numeric host " + c.name());
        };
    }

    private Decision nameGate(String name, int port, List<String> aliases) {
        Rule prod = firstName(production, name, port);
        if (prod != null) {
            return Decision.deny(Reason.PRODUCTION, name, port, prod,
                    name + " is in the organisation's production set (" + prod.describe() + " at " + prod.position() + ")");
        }
        for (String alias : aliases) {
            String a = HostNames.canonicalOrEmpty(alias).orElse(null);
            if (a == null) {
                return Decision.deny(Reason.BAD_REQUEST, name, port, null,
                        name + " is an alias of the invalid name \"" + Printable.escape(alias) + "\"");
            }
            Rule p = firstName(production, a, port);
            if (p != null) {
                return Decision.deny(Reason.PRODUCTION, name, port, p,
                        name + " is an alias (CNAME) of " + a + ", which is in the production set (" + p.describe() + ")");
            }
            Rule d = firstName(deny, a, port);
            if (d != null) {
                return Decision.deny(Reason.DENY_RULE, name, port, d,
                        name + " is an alias (CNAME) of " + a + ", which a deny rule matches (" + d.describe() + ")");
            }
        }
        Rule d = firstName(deny, name, port);
        if (d != null) {
            return Decision.deny(Reason.DENY_RULE, name, port, d,
                    name + " matches the deny rule " + d.describe() + " at " + d.position());
        }
        return null;
    }

    private Decision nameDenial(String name, int port) {
        List<Rule> any = nameMatches(allow, name);
        if (!any.isEmpty()) {
            Rule r = any.get(0);
            return Decision.deny(Reason.PORT_NOT_ALLOWED, name, port, r,
                    name + " is allowed only on port " + r.ports() + " by " + r.describe() + " at " + r.position()
                            + ", not on " + port);
        }
        return Decision.deny(Reason.NO_RULE, name, port, null, "no allow rule matches " + name);
    }

    private Decision decideAddressTarget(IpAddress a, int port) {
        String target = a.toString();
        for (IpAddress v : AddressClassifier.views(a)) {
            Rule p = firstCidr(production, v, port);
            if (p != null) {
                return Decision.denyAddress(Reason.PRODUCTION, target, port, p, List.of(a), a,
                        view(a, v) + " is in the organisation's production set (" + p.describe() + " at " + p.position() + ")");
            }
        }
        for (IpAddress v : AddressClassifier.views(a)) {
            Rule d = firstCidr(deny, v, port);
            if (d != null) {
                return Decision.denyAddress(Reason.DENY_RULE, target, port, d, List.of(a), a,
                        view(a, v) + " matches the deny rule " + d.describe() + " at " + d.position());
            }
        }
        AddressClass cls = classifier.classify(a);
        Rule ok = cidrAllow(a, port);
        if (ok == null && !cls.projectCanOpen()) {
            return Decision.denyAddress(Reason.PROTECTED_ADDRESS, target, port, null, List.of(a), a, target + " is " + cls.description
                    + (cls == AddressClass.AIRLOCK_LINK ? "; nothing can open it"
                            : "; no project rule can open it, only an exception in the organisation policy"));
        }
        if (ok == null) {
            return Decision.denyAddress(Reason.IP_LITERAL, target, port, null, List.of(a), a,
                    target + " was requested by address and no cidr rule allows it on port " + port);
        }
        return Decision.allow(target, port, ok, List.of(a));
    }

    private Decision addressGate(String name, int port, Rule nameRule, List<IpAddress> addresses) {
        for (IpAddress a : addresses) {
            for (IpAddress v : AddressClassifier.views(a)) {
                Rule p = firstCidr(production, v, port);
                if (p != null) {
                    return Decision.denyAddress(Reason.PRODUCTION, name, port, p, addresses, a,
                            a + " (an address of " + name + ")" + via(a, v) + " is in the production set ("
                                    + p.describe() + " at " + p.position() + ")");
                }
            }
        }
        for (IpAddress a : addresses) {
            for (IpAddress v : AddressClassifier.views(a)) {
                Rule d = firstCidr(deny, v, port);
                if (d != null) {
                    return Decision.denyAddress(Reason.DENY_RULE, name, port, d, addresses, a,
                            a + " (an address of " + name + ")" + via(a, v) + " matches the deny rule "
                                    + d.describe() + " at " + d.position());
                }
            }
            AddressClass cls = classifier.classify(a);
            if (cls.protectedByDefault && cidrAllow(a, port) == null) {
                return Decision.denyAddress(Reason.PROTECTED_ADDRESS, name, port, null, addresses, a,
                        a + " (an address of " + name + ") is " + cls.description + (cls.projectCanOpen() ? "; only a cidr rule can allow it"
                                : cls == AddressClass.AIRLOCK_LINK ? "; nothing can open it"
                                : "; no project rule can open it, only an exception in the organisation policy"));
            }
        }
        return Decision.allow(name, port, nameRule, addresses);
    }

    /** Without organisation exceptions: a project's CIDR opens only the classes a project may open. */
    private Rule cidrAllow(IpAddress a, int port) {
        if (!classifier.classify(a).projectCanOpen()) {
            return null;
        }
        return firstCidr(allow, a, port);
    }

    private static String view(IpAddress a, IpAddress v) {
        return v.equals(a) ? a.toString() : a + " (which carries " + v + ")";
    }

    private static String via(IpAddress a, IpAddress v) {
        return v.equals(a) ? "" : " carries " + v + ", which";
    }
}
