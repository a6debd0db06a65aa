package dev.airlock.policy;

import dev.airlock.policy.address.AddressClass;
import dev.airlock.policy.address.AddressClassifier;
import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.address.CidrTrie;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.address.IpLiterals;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.Presets;
import dev.airlock.policy.load.Problem;
import dev.airlock.policy.model.Destination;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.Preset;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.policy.model.Rule;
import dev.airlock.policy.name.HostNames;
import dev.airlock.policy.name.NameTrie;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The decision engine: the two gates of DESIGN.md §1.
 *
 * <p>Design: {@link #decide} reads top to bottom. Canonicalise the target; then the name gate
 * (production, project deny, project allow); then the address gate, which classifies every
 * candidate address (and every IPv4 address embedded in it) and fails the whole request if any one
 * fails. Production is checked first at both gates, so no project rule can open it. Every early
 * return is a deny with a reason; the only allow is the last line.
 *
 * <p>A name passes the name gate only through a name rule. CIDR rules open IP-literal requests,
 * and open protected addresses for names that a name rule already allows; they never open a name
 * by itself, because finding out would mean resolving arbitrary names, which leaks them.
 *
 * <p>Matching is sub-linear in the number of rules: names through a reversed-label trie, addresses
 * through a binary prefix tree. The engine is immutable after construction, so it is thread-safe;
 * a policy reload builds a new engine and swaps the reference.
 */
public final class PolicyEngine {

    private final NameTrie<Rule> productionNames = new NameTrie<>();
    private final CidrTrie<Rule> productionCidrs = new CidrTrie<>();
    private final NameTrie<Rule> denyNames = new NameTrie<>();
    private final CidrTrie<Rule> denyCidrs = new CidrTrie<>();
    private final NameTrie<Rule> allowNames = new NameTrie<>();
    private final CidrTrie<Rule> allowCidrs = new CidrTrie<>();
    private final AddressClassifier classifier;
    private final String project;

    private PolicyEngine(String project, List<Rule> allow, List<Rule> deny, List<Rule> production, List<Cidr> airlockLinks) {
        this.project = project;
        this.classifier = new AddressClassifier(airlockLinks);
        index(production, productionNames, productionCidrs);
        index(deny, denyNames, denyCidrs);
        index(allow, allowNames, allowCidrs);
        for (Object trie : new Object[] {productionNames, denyNames, allowNames}) {
            ((NameTrie<?>) trie).freeze();
        }
        productionCidrs.freeze();
        denyCidrs.freeze();
        allowCidrs.freeze();
    }

    private static void index(List<Rule> rules, NameTrie<Rule> names, CidrTrie<Rule> cidrs) {
        for (Rule r : rules) {
            switch (r.destination()) {
                case Destination.Names n -> names.put(n.pattern(), r);
                case Destination.Addresses a -> cidrs.put(a.cidr(), r);
            }
        }
    }

    /** An engine from rules directly (tests, benchmarks). */
    public static PolicyEngine of(String project, List<Rule> allow, List<Rule> deny, List<Rule> production,
            List<Cidr> airlockLinks) {
        return new PolicyEngine(project, allow, deny, production, airlockLinks);
    }

    /**
     * Compiles a project policy under an organisation policy: resolves presets (built-in first, then
     * the organisation's) and, in {@link Phase#SETUP}, adds {@code network.setup.allow}.
     *
     * @param airlockLinks the gateway's and sandboxes' link ranges, protected like loopback
     */
    public static PolicyEngine compile(ProjectPolicy p, OrgPolicy org, Phase phase, List<Cidr> airlockLinks)
            throws PolicyException {
        return new PolicyEngine(p.project(), effectiveAllows(p, org, phase), p.deny(), org.production(), airlockLinks);
    }

    /** The allow rules in force: the project's own, its presets', and in setup its setup allows. */
    public static List<Rule> effectiveAllows(ProjectPolicy p, OrgPolicy org, Phase phase) throws PolicyException {
        List<Rule> allow = new ArrayList<>(p.allow());
        List<Problem> problems = new ArrayList<>();
        Map<String, Preset> builtIn = Presets.builtIn();
        for (ProjectPolicy.PresetRef ref : p.presets()) {
            Preset preset = builtIn.containsKey(ref.name()) ? builtIn.get(ref.name()) : org.presets().get(ref.name());
            if (preset == null) {
                List<String> known = new ArrayList<>(builtIn.keySet());
                known.addAll(org.presets().keySet());
                problems.add(new Problem(ref.position(), "unknown preset \"" + ref.name() + "\"",
                        "use one of " + String.join(", ", known)
                                + (org.presets().isEmpty() ? " (organisation presets come from --org)" : "")));
                continue;
            }
            for (Rule r : preset.rules()) {
                // Keep where the preset was named, so messages point into the project's own file.
                allow.add(new Rule(r.kind(), r.destination(), r.ports(), ref.position(),
                        "preset " + preset.name() + " " + preset.version()));
            }
        }
        if (!problems.isEmpty()) {
            throw new PolicyException(problems);
        }
        if (phase == Phase.SETUP) {
            allow.addAll(p.setupAllow());
        }
        return allow;
    }

    public String project() {
        return project;
    }

    public AddressClassifier classifier() {
        return classifier;
    }

    /** What the name gate says before anything is resolved. */
    public sealed interface Screening permits Screening.Final, Screening.Resolve {

        /** Decided without resolving: every deny, and the allow of an IP literal. */
        record Final(Decision decision) implements Screening {
        }

        /** The name may be resolved; {@link PolicyEngine#decide} with the answers decides. */
        record Resolve(String name) implements Screening {
        }
    }

    /**
     * The name gate alone. The gateway calls this before it resolves anything, so a denied name
     * is never looked up; {@link #decide} checks everything again with the answers.
     */
    public Screening screen(String host, int port) {
        Object target = target(host, port);
        if (target instanceof Decision d) {
            return new Screening.Final(d);
        }
        if (target instanceof IpAddress a) {
            return new Screening.Final(decideAddressTarget(a, port));
        }
        String name = (String) target;
        Decision denial = nameGate(name, port, List.of());
        if (denial != null) {
            return new Screening.Final(denial);
        }
        List<Rule> nameAllows = allowNames.matches(name);
        if (first(nameAllows, port) == null) {
            return new Screening.Final(nameDenial(name, port, nameAllows));
        }
        return new Screening.Resolve(name);
    }

    /**
     * The name gate for DNS, which has no port: a name may be answered when some allow rule
     * matches it on some port and neither production nor a port-less deny rule matches it (nor
     * any of its aliases). The connection that follows is decided again, port and all.
     */
    public Screening screenName(String host) {
        Object target = target(host, 443);
        if (target instanceof Decision d) {
            return new Screening.Final(d);
        }
        if (target instanceof IpAddress a) {
            return new Screening.Final(Decision.deny(Reason.IP_LITERAL, a.toString(), 0, null,
                    a + " is an address, not a name to resolve"));
        }
        String name = (String) target;
        for (Rule p : productionNames.matches(name)) {
            return new Screening.Final(Decision.deny(Reason.PRODUCTION, name, 0, p,
                    name + " is in the organisation's production set (" + p.describe() + " at " + p.position() + ")"));
        }
        for (Rule d : denyNames.matches(name)) {
            if (d.ports().isAny()) {
                return new Screening.Final(Decision.deny(Reason.DENY_RULE, name, 0, d,
                        name + " matches the deny rule " + d.describe() + " at " + d.position()));
            }
        }
        if (allowNames.matches(name).isEmpty()) {
            return new Screening.Final(Decision.deny(Reason.NO_RULE, name, 0, null, "no allow rule matches " + name));
        }
        return new Screening.Resolve(name);
    }

    /** Both gates. Pure and thread-safe. */
    public Decision decide(EgressRequest req) {
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
        List<Rule> nameAllows = allowNames.matches(name);
        Rule allow = first(nameAllows, port);
        List<IpAddress> addresses = req.addresses();
        if (allow == null) {
            // CIDR rules never open a name: otherwise every name would have to be resolved to find
            // out, and resolving arbitrary names is a DNS exfiltration channel.
            return nameDenial(name, port, nameAllows);
        }
        if (addresses.isEmpty()) {
            return Decision.deny(Reason.DNS_FAILURE, name, port, null, name + " has no address");
        }
        return addressGate(name, port, allow, addresses);
    }

    /**
     * The canonical target: a {@link String} name, an {@link IpAddress}, or a {@link Decision}
     * denying input that is neither.
     */
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
                // a name: canonicalised below
            }
        }
        return switch (HostNames.canonicalize(raw)) {
            case HostNames.Invalid inv -> Decision.deny(Reason.BAD_REQUEST, Printable.escape(raw), port, null,
                    // why() can quote the raw input (java.net.IDN puts it in its messages): escape it too.
                    "\"" + Printable.escape(raw) + "\" is not a valid host name: " + Printable.escape(inv.why()));
            // Full-width digits and similar become a numeric host only after UTS-46 mapping.
            case HostNames.Canonical c -> IpLiterals.shape(c.name()) instanceof IpLiterals.NotNumeric ? c.name()
                    : Decision.deny(Reason.IP_LITERAL, c.name(), port, null,
                            Printable.escape(raw) + " maps to the numeric host " + c.name());
        };
    }

    /** Production, then CNAME aliases, then project deny rules. Null when the name passes. */
    private Decision nameGate(String name, int port, List<String> aliases) {
        Rule prod = first(productionNames.matches(name), port);
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
            Rule p = first(productionNames.matches(a), port);
            if (p != null) {
                return Decision.deny(Reason.PRODUCTION, name, port, p,
                        name + " is an alias (CNAME) of " + a + ", which is in the production set (" + p.describe() + ")");
            }
            Rule d = first(denyNames.matches(a), port);
            if (d != null) {
                return Decision.deny(Reason.DENY_RULE, name, port, d,
                        name + " is an alias (CNAME) of " + a + ", which a deny rule matches (" + d.describe() + ")");
            }
        }
        Rule deny = first(denyNames.matches(name), port);
        if (deny != null) {
            return Decision.deny(Reason.DENY_RULE, name, port, deny,
                    name + " matches the deny rule " + deny.describe() + " at " + deny.position());
        }
        return null;
    }

    private static Decision nameDenial(String name, int port, List<Rule> nameAllows) {
        if (!nameAllows.isEmpty()) {
            Rule r = nameAllows.get(0);
            return Decision.deny(Reason.PORT_NOT_ALLOWED, name, port, r,
                    name + " is allowed only on port " + r.ports() + " by " + r.describe() + " at " + r.position()
                            + ", not on " + port);
        }
        return Decision.deny(Reason.NO_RULE, name, port, null, "no allow rule matches " + name);
    }

    /** An IP literal: it passes only through a CIDR allow rule, and is dialled as given. */
    private Decision decideAddressTarget(IpAddress a, int port) {
        String target = a.toString();
        List<IpAddress> views = AddressClassifier.views(a);
        for (IpAddress v : views) {
            Rule p = firstCidr(productionCidrs, v, port);
            if (p != null) {
                return Decision.denyAddress(Reason.PRODUCTION, target, port, p, List.of(a), a,
                        describeView(a, v) + " is in the organisation's production set (" + p.describe() + " at " + p.position() + ")");
            }
        }
        for (IpAddress v : views) {
            Rule d = firstCidr(denyCidrs, v, port);
            if (d != null) {
                return Decision.denyAddress(Reason.DENY_RULE, target, port, d, List.of(a), a,
                        describeView(a, v) + " matches the deny rule " + d.describe() + " at " + d.position());
            }
        }
        Rule allow = cidrAllow(a, port);
        if (allow == null) {
            return Decision.denyAddress(Reason.IP_LITERAL, target, port, null, List.of(a), a,
                    target + " was requested by address and no cidr rule allows it on port " + port);
        }
        return Decision.allow(target, port, allow, List.of(a));
    }

    /** Every candidate must pass; one bad answer denies the whole name (mixed answers). */
    private Decision addressGate(String name, int port, Rule nameRule, List<IpAddress> addresses) {
        for (IpAddress a : addresses) {
            for (IpAddress v : AddressClassifier.views(a)) {
                Rule p = firstCidr(productionCidrs, v, port);
                if (p != null) {
                    return Decision.denyAddress(Reason.PRODUCTION, name, port, p, addresses, a,
                            a + " (an address of " + name + ")" + viaText(a, v) + " is in the production set ("
                                    + p.describe() + " at " + p.position() + ")");
                }
            }
        }
        for (IpAddress a : addresses) {
            for (IpAddress v : AddressClassifier.views(a)) {
                Rule d = firstCidr(denyCidrs, v, port);
                if (d != null) {
                    return Decision.denyAddress(Reason.DENY_RULE, name, port, d, addresses, a,
                            a + " (an address of " + name + ")" + viaText(a, v) + " matches the deny rule "
                                    + d.describe() + " at " + d.position());
                }
            }
            AddressClass cls = classifier.classify(a);
            if (cls.protectedByDefault && cidrAllow(a, port) == null) {
                return Decision.denyAddress(Reason.PROTECTED_ADDRESS, name, port, null, addresses, a,
                        a + " (an address of " + name + ") is " + cls.description + "; only a cidr rule can allow it");
            }
        }
        return Decision.allow(name, port, nameRule, addresses);
    }

    /**
     * A CIDR allow covering the address exactly as it will be dialled, on this port. Embedded IPv4
     * views do not count here (they only ever make an address stricter), and Airlock's own link
     * addresses are never opened: the gateway and other sandboxes stay unreachable.
     */
    private Rule cidrAllow(IpAddress a, int port) {
        if (allowCidrs.size() == 0 || classifier.classify(a) == AddressClass.AIRLOCK_LINK) {
            return null;
        }
        return firstCidr(allowCidrs, a, port);
    }

    private static String describeView(IpAddress a, IpAddress v) {
        return v.equals(a) ? a.toString() : a + " (which carries " + v + ")";
    }

    private static String viaText(IpAddress a, IpAddress v) {
        return v.equals(a) ? "" : " carries " + v + ", which";
    }

    private static Rule first(List<Rule> rules, int port) {
        for (Rule r : rules) {
            if (r.ports().contains(port)) {
                return r;
            }
        }
        return null;
    }

    private static Rule firstCidr(CidrTrie<Rule> trie, IpAddress a, int port) {
        if (trie.size() == 0) {
            return null;
        }
        List<Rule> matches = trie.matches(a);
        // Most specific first, as for names.
        for (int i = matches.size() - 1; i >= 0; i--) {
            if (matches.get(i).ports().contains(port)) {
                return matches.get(i);
            }
        }
        return null;
    }
}
