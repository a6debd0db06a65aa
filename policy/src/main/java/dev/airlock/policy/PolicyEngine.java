package dev.airlock.policy;

import dev.airlock.policy.address.AddressClass;
import dev.airlock.policy.address.AddressClassifier;
import dev.airlock.policy.address.Cidr;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

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
 * <p>Matching is sub-linear in the number of rules, and a decision allocates little more than
 * itself: the name rules of all three lists sit in one hash table probed once per candidate
 * suffix ({@link NameRules}), the CIDR rules in one table per list probed once per prefix length
 * in use ({@link CidrRules}), and each rule's {@code Optional} and detail text are built once
 * ({@link CompiledRules}). {@code PolicyEngineDifferentialTest} checks every decision against a
 * plain linear scan over the rules. The engine is immutable after construction, so it is
 * thread-safe; a policy reload builds a new engine and swaps the reference.
 */
public final class PolicyEngine {

    private final CompiledRules rules = new CompiledRules();
    private final NameRules names = new NameRules(rules);
    private final CidrRules productionCidrs = new CidrRules(rules);
    private final CidrRules denyCidrs = new CidrRules(rules);
    private final CidrRules allowCidrs = new CidrRules(rules);
    private final CidrRules exceptionCidrs = new CidrRules(rules);
    private final AddressClassifier classifier;
    private final HostFacts facts;
    private final String project;
    private final String policyFile;
    private final OptionalInt tunnelLimit;

    private PolicyEngine(String project, String policyFile, List<Rule> allow, List<Rule> deny, List<Rule> production,
            List<Rule> exceptions, List<Cidr> airlockLinks, HostFacts facts, OptionalInt tunnelLimit) {
        this.project = project;
        this.tunnelLimit = tunnelLimit;
        this.policyFile = policyFile;
        this.facts = facts;
        this.classifier = new AddressClassifier(airlockLinks, facts.hostAddresses());
        index(production, CompiledRules.PRODUCTION, productionCidrs);
        index(deny, CompiledRules.DENY, denyCidrs);
        index(allow, CompiledRules.ALLOW, allowCidrs);
        for (Rule r : exceptions) {
            // Exceptions are CIDRs only; they open addresses, never names.
            exceptionCidrs.put(((Destination.Addresses) r.destination()).cidr(), rules.add(r, CompiledRules.ALLOW));
        }
        rules.freeze();
        names.freeze();
        productionCidrs.freeze();
        denyCidrs.freeze();
        allowCidrs.freeze();
        exceptionCidrs.freeze();
    }

    /** The list a rule is given in, not its {@link Rule#kind()}, decides how it is applied. */
    private void index(List<Rule> list, int gate, CidrRules cidrs) {
        for (Rule r : list) {
            long ref = rules.add(r, gate);
            switch (r.destination()) {
                case Destination.Names n -> names.put(n.pattern(), ref);
                case Destination.Addresses a -> cidrs.put(a.cidr(), ref);
            }
        }
    }

    /** An engine from rules directly (tests, benchmarks). */
    public static PolicyEngine of(String project, List<Rule> allow, List<Rule> deny, List<Rule> production,
            List<Cidr> airlockLinks) {
        return new PolicyEngine(project, "airlock.yaml", allow, deny, production, List.of(), airlockLinks, HostFacts.NONE, OptionalInt.empty());
    }

    /** As {@link #of}, with organisation exceptions and what the host knows (tests). */
    public static PolicyEngine of(String project, List<Rule> allow, List<Rule> deny, List<Rule> production,
            List<Rule> exceptions, List<Cidr> airlockLinks, HostFacts facts) {
        return new PolicyEngine(project, "airlock.yaml", allow, deny, production, exceptions, airlockLinks, facts, OptionalInt.empty());
    }

    /**
     * Compiles a project policy under an organisation policy: resolves presets (built-in first, then
     * the organisation's) and, in {@link Phase#SETUP}, adds {@code network.setup.allow}.
     *
     * @param airlockLinks the gateway's and sandboxes' link ranges, protected like loopback
     */
    public static PolicyEngine compile(ProjectPolicy p, OrgPolicy org, Phase phase, List<Cidr> airlockLinks)
            throws PolicyException {
        return compile(p, org, phase, airlockLinks, HostFacts.NONE);
    }

    /**
     * As {@link #compile(ProjectPolicy, OrgPolicy, Phase, List)}, with what the running host knows:
     * its own addresses and the production names' addresses (the gateway's wiring passes these).
     */
    public static PolicyEngine compile(ProjectPolicy p, OrgPolicy org, Phase phase, List<Cidr> airlockLinks, HostFacts facts)
            throws PolicyException {
        List<Rule> exceptions = org.exceptionsFor(p.project()).stream().map(OrgPolicy.Grant::rule).toList();
        return new PolicyEngine(p.project(), p.file(), effectiveAllows(p, org, phase), p.deny(), org.production(), exceptions,
                airlockLinks, facts, p.resources().tunnels());
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

    /** {@code resources.tunnels}: open tunnels one sandbox under this policy may hold; empty leaves the gateway's limit. */
    public OptionalInt tunnelLimit() {
        return tunnelLimit;
    }

    public AddressClassifier classifier() {
        return classifier;
    }

    /** The project policy file this engine was compiled from, for advice ("add under network.allow in ..."). */
    public String policyFile() {
        return policyFile;
    }

    /** What the host knows, as this engine reads it (the gateway's live snapshots, or none). */
    public HostFacts facts() {
        return facts;
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
            return new Screening.Final(decideAddressTarget(a, host, port));
        }
        String name = (String) target;
        long match = names.match(name, port);
        Decision denial = nameGate(name, port, List.of(), match);
        if (denial != null) {
            return new Screening.Final(denial);
        }
        if (NameRules.outcomeOf(match) != CompiledRules.ALLOW) {
            return new Screening.Final(nameDenial(name, port, match));
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
        // Port 0: production and allow rules on any port count, deny rules only on every port.
        long match = names.match(name, 0);
        int id = NameRules.ruleOf(match);
        return switch (NameRules.outcomeOf(match)) {
            case CompiledRules.PRODUCTION -> new Screening.Final(
                    Decision.denyBy(Reason.PRODUCTION, name, 0, rules.optional(id), name + rules.text(id)));
            case CompiledRules.DENY -> new Screening.Final(
                    Decision.denyBy(Reason.DENY_RULE, name, 0, rules.optional(id), name + rules.text(id)));
            case CompiledRules.ALLOW -> new Screening.Resolve(name);
            default -> new Screening.Final(Decision.deny(Reason.NO_RULE, name, 0, null, "no allow rule matches " + name));
        };
    }

    /** Both gates. Pure and thread-safe. */
    public Decision decide(EgressRequest req) {
        int port = req.port();
        Object target = target(req.host(), port);
        if (target instanceof Decision d) {
            return d;
        }
        if (target instanceof IpAddress a) {
            return decideAddressTarget(a, req.host(), port);
        }
        String name = (String) target;
        long match = names.match(name, port);
        Decision denial = nameGate(name, port, req.aliases(), match);
        if (denial != null) {
            return denial;
        }
        List<IpAddress> addresses = req.addresses();
        if (NameRules.outcomeOf(match) != CompiledRules.ALLOW) {
            // CIDR rules never open a name: otherwise every name would have to be resolved to find
            // out, and resolving arbitrary names is a DNS exfiltration channel.
            return nameDenial(name, port, match);
        }
        if (addresses.isEmpty()) {
            return Decision.deny(Reason.DNS_FAILURE, name, port, null, name + " has no address");
        }
        return addressGate(name, port, NameRules.ruleOf(match), addresses);
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
        // Fast path: a name already canonical whose last label cannot make it numeric is its own
        // canonical form (HostNames.isPlainCanonical says canonicalize would return it unchanged).
        if (HostNames.isPlainCanonical(raw) && !startsWithDigit(raw, raw.lastIndexOf('.') + 1)) {
            return raw;
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

    /** A last label starting with a digit may make the host numeric (127.1, a.0x7f): IpLiterals decides. */
    private static boolean startsWithDigit(String s, int at) {
        return at < s.length() && s.charAt(at) >= '0' && s.charAt(at) <= '9';
    }

    /**
     * Production, then CNAME aliases, then project deny rules. Null when the name passes.
     *
     * @param match the name's {@link NameRules#match} on this port
     */
    private Decision nameGate(String name, int port, List<String> aliases, long match) {
        int outcome = NameRules.outcomeOf(match);
        int id = NameRules.ruleOf(match);
        if (outcome == CompiledRules.PRODUCTION) {
            return Decision.denyBy(Reason.PRODUCTION, name, port, rules.optional(id), name + rules.text(id));
        }
        for (int i = 0, n = aliases.size(); i < n; i++) {
            String alias = aliases.get(i);
            String a = HostNames.canonicalOrEmpty(alias).orElse(null);
            if (a == null) {
                return Decision.deny(Reason.BAD_REQUEST, name, port, null,
                        name + " is an alias of the invalid name \"" + Printable.escape(alias) + "\"");
            }
            long aliasMatch = names.match(a, port);
            switch (NameRules.outcomeOf(aliasMatch)) {
                case CompiledRules.PRODUCTION -> {
                    Rule r = rules.rule(NameRules.ruleOf(aliasMatch));
                    return Decision.deny(Reason.PRODUCTION, name, port, r,
                            name + " is an alias (CNAME) of " + a + ", which is in the production set (" + r.describe() + ")");
                }
                case CompiledRules.DENY -> {
                    Rule r = rules.rule(NameRules.ruleOf(aliasMatch));
                    return Decision.deny(Reason.DENY_RULE, name, port, r,
                            name + " is an alias (CNAME) of " + a + ", which a deny rule matches (" + r.describe() + ")");
                }
                default -> {
                    // neither production nor denied: the next alias
                }
            }
        }
        if (outcome == CompiledRules.DENY) {
            return Decision.denyBy(Reason.DENY_RULE, name, port, rules.optional(id), name + rules.text(id));
        }
        return null;
    }

    private Decision nameDenial(String name, int port, long match) {
        if (NameRules.outcomeOf(match) == NameRules.OTHER_PORT) {
            int id = NameRules.ruleOf(match);
            Rule r = rules.rule(id);
            return Decision.denyBy(Reason.PORT_NOT_ALLOWED, name, port, rules.optional(id),
                    name + " is allowed only on port " + r.ports() + " by " + r.describe() + " at " + r.position()
                            + ", not on " + port);
        }
        return Decision.deny(Reason.NO_RULE, name, port, null, "no allow rule matches " + name);
    }

    /**
     * An IP literal: it passes only through a CIDR allow rule, and is dialled as given.
     *
     * @param raw the host as requested: for IPv4 it is already the canonical text (IpLiterals
     *            accepts only that), so it is reused rather than formatted again
     */
    private Decision decideAddressTarget(IpAddress a, String raw, int port) {
        String target = a.isV4() ? raw : a.toString();
        List<IpAddress> views = a.isV4() ? null : AddressClassifier.views(a);
        int viewCount = views == null ? 1 : views.size();
        ProductionAddresses resolved = facts.productionAddresses().get();
        for (int k = 0; k < viewCount; k++) {
            IpAddress v = views == null ? a : views.get(k);
            int p = productionCidrs.first(v, port);
            if (p >= 0) {
                return Decision.denyAddress(Reason.PRODUCTION, target, port, rules.rule(p), List.of(a), a,
                        describeView(a, v) + rules.text(p));
            }
            Rule named = productionByName(resolved, v, port);
            if (named != null) {
                return Decision.denyAddress(Reason.PRODUCTION, target, port, named, List.of(a), a,
                        describeView(a, v) + " is an address of the production name " + named.describe() + " at " + named.position());
            }
        }
        for (int k = 0; k < viewCount; k++) {
            IpAddress v = views == null ? a : views.get(k);
            int d = denyCidrs.first(v, port);
            if (d >= 0) {
                return Decision.denyAddress(Reason.DENY_RULE, target, port, rules.rule(d), List.of(a), a,
                        describeView(a, v) + rules.text(d));
            }
        }
        AddressClass cls = classifier.classify(a);
        int allow = cidrAllow(a, cls, port);
        if (allow < 0) {
            if (!cls.projectCanOpen()) {
                return Decision.denyAddress(closedReason(cls), target, port, null, List.of(a), a,
                        target + " is " + cls.description + closedText(cls));
            }
            return Decision.denyAddress(Reason.IP_LITERAL, target, port, null, List.of(a), a,
                    target + " was requested by address and no cidr rule allows it on port " + port);
        }
        return Decision.allow(target, port, rules.optional(allow), List.of(a), rules.text(allow));
    }

    /** Every candidate must pass; one bad answer denies the whole name (mixed answers). */
    private Decision addressGate(String name, int port, int nameRule, List<IpAddress> addresses) {
        int n = addresses.size();
        ProductionAddresses resolved = facts.productionAddresses().get();
        for (int i = 0; i < n; i++) {
            IpAddress a = addresses.get(i);
            List<IpAddress> views = a.isV4() ? null : AddressClassifier.views(a);
            for (int k = 0, viewCount = views == null ? 1 : views.size(); k < viewCount; k++) {
                IpAddress v = views == null ? a : views.get(k);
                int p = productionCidrs.first(v, port);
                if (p >= 0) {
                    Rule r = rules.rule(p);
                    return Decision.denyAddress(Reason.PRODUCTION, name, port, r, addresses, a,
                            a + " (an address of " + name + ")" + viaText(a, v) + " is in the production set ("
                                    + r.describe() + " at " + r.position() + ")");
                }
                Rule named = productionByName(resolved, v, port);
                if (named != null) {
                    return Decision.denyAddress(Reason.PRODUCTION, name, port, named, addresses, a,
                            a + " (an address of " + name + ")" + viaText(a, v) + " is an address of the production name "
                                    + named.describe() + " at " + named.position());
                }
            }
        }
        for (int i = 0; i < n; i++) {
            IpAddress a = addresses.get(i);
            if (denyCidrs.size() > 0) {
                List<IpAddress> views = a.isV4() ? null : AddressClassifier.views(a);
                for (int k = 0, viewCount = views == null ? 1 : views.size(); k < viewCount; k++) {
                    IpAddress v = views == null ? a : views.get(k);
                    int d = denyCidrs.first(v, port);
                    if (d >= 0) {
                        Rule r = rules.rule(d);
                        return Decision.denyAddress(Reason.DENY_RULE, name, port, r, addresses, a,
                                a + " (an address of " + name + ")" + viaText(a, v) + " matches the deny rule "
                                        + r.describe() + " at " + r.position());
                    }
                }
            }
            AddressClass cls = classifier.classify(a);
            if (cls.protectedByDefault && cidrAllow(a, cls, port) < 0) {
                return Decision.denyAddress(closedReason(cls), name, port, null, addresses, a,
                        a + " (an address of " + name + ") is " + cls.description
                                + (cls.projectCanOpen() ? "; only a cidr rule can allow it" : closedText(cls)));
            }
        }
        return Decision.allow(name, port, rules.optional(nameRule), addresses, rules.text(nameRule));
    }

    /**
     * The rule that opens {@code a} on {@code port}, or -1: an organisation exception for this
     * project opens any class but Airlock's links; a project's CIDR allow opens only the classes
     * a project may open. The address is taken exactly as it will be dialled: embedded IPv4 views
     * only ever make an address stricter, through {@link AddressClassifier#classify}.
     */
    private int cidrAllow(IpAddress a, AddressClass cls, int port) {
        if (cls.opener == AddressClass.Opener.NOBODY) {
            return -1;
        }
        int granted = exceptionCidrs.size() == 0 ? -1 : exceptionCidrs.first(a, port);
        if (granted >= 0 || !cls.projectCanOpen() || allowCidrs.size() == 0) {
            return granted;
        }
        return allowCidrs.first(a, port);
    }

    /** The production rule whose exact name resolved to {@code v}, when it covers this port. */
    private static Rule productionByName(ProductionAddresses resolved, IpAddress v, int port) {
        if (resolved.isEmpty()) {
            return null;
        }
        Rule r = resolved.rules().get(v);
        return r != null && r.ports().contains(port) ? r : null;
    }

    private static Reason closedReason(AddressClass cls) {
        return cls == AddressClass.HOST_ADDRESS ? Reason.HOST_ADDRESS : Reason.PROTECTED_ADDRESS;
    }

    private static String closedText(AddressClass cls) {
        return cls.opener == AddressClass.Opener.NOBODY ? "; nothing can open it"
                : "; no project rule can open it, only an exception in the organisation policy";
    }

    private static String describeView(IpAddress a, IpAddress v) {
        return v.equals(a) ? a.toString() : a + " (which carries " + v + ")";
    }

    private static String viaText(IpAddress a, IpAddress v) {
        return v.equals(a) ? "" : " carries " + v + ", which";
    }
}
