package dev.airlock.policy;

import dev.airlock.policy.address.AddressClassifier;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.model.Rule;
import java.util.List;
import java.util.Optional;

/**
 * The result of one decision. Built only through {@link #deny} and {@link #allow}: a deny is what
 * every early return produces, and each carries a reason.
 *
 * @param target    the canonical name or address decided on, or the raw text (escaped) when it
 *                  could not be canonicalised
 * @param rule      the rule that decided, when one did
 * @param addresses on allow, the vetted addresses to dial and nothing else; on deny, the
 *                  candidates that were examined (for the audit record)
 * @param offending the address that failed the address gate, when one did
 * @param detail    one sentence for humans: why, naming the rule or the address
 */
public record Decision(Verdict verdict, Reason reason, String target, int port, Optional<Rule> rule,
        List<IpAddress> addresses, Optional<IpAddress> offending, String detail) {

    public Decision {
        addresses = List.copyOf(addresses);
        if (verdict == Verdict.ALLOW && (reason != Reason.ALLOWED || rule.isEmpty() || addresses.isEmpty())) {
            throw new IllegalArgumentException("an allow needs its rule and the addresses it vetted");
        }
    }

    static Decision deny(Reason reason, String target, int port, Rule rule, String detail) {
        return denyBy(reason, target, port, Optional.ofNullable(rule), detail);
    }

    /** With the rule's {@code Optional} made once, as the engine keeps one per rule. */
    static Decision denyBy(Reason reason, String target, int port, Optional<Rule> rule, String detail) {
        return new Decision(Verdict.DENY, reason, target, port, rule, List.of(), Optional.empty(), detail);
    }

    static Decision denyAddress(Reason reason, String target, int port, Rule rule, List<IpAddress> examined,
            IpAddress offending, String detail) {
        return new Decision(Verdict.DENY, reason, target, port, Optional.ofNullable(rule), examined,
                Optional.of(offending), detail);
    }

    static Decision allow(String target, int port, Rule rule, List<IpAddress> addresses) {
        return allow(target, port, Optional.of(rule), addresses, allowDetail(rule));
    }

    /**
     * With the rule's {@code Optional} and the detail made in advance ({@link #allowDetail}), as
     * the engine does once per rule: an allow then allocates nothing but itself.
     */
    static Decision allow(String target, int port, Optional<Rule> rule, List<IpAddress> addresses, String detail) {
        return new Decision(Verdict.ALLOW, Reason.ALLOWED, target, port, rule, addresses, Optional.empty(), detail);
    }

    static String allowDetail(Rule rule) {
        return "allowed by " + rule.describe() + " at " + rule.position();
    }

    /** Any reason, for gateway-side denials (limits, SNI, DNS) that the engine does not produce. */
    public static Decision denied(Reason reason, String target, int port, String detail) {
        if (reason == Reason.ALLOWED) {
            throw new IllegalArgumentException("a denial needs a deny reason");
        }
        return deny(reason, target, port, null, detail);
    }

    public boolean allowed() {
        return verdict == Verdict.ALLOW;
    }

    /**
     * What to tell a user about this denial ({@link Advice}), with {@code classifier} saying what
     * the offending address is as the deciding engine saw it.
     */
    public Advice advice(AddressClassifier classifier) {
        return Advice.of(reason, target, port, offending, rule.map(r -> r.describe() + " at " + r.position()), classifier);
    }

    /** {@link #advice(AddressClassifier)} with the built-in classes only. */
    public Advice advice() {
        return advice(BUILT_IN);
    }

    /**
     * The advice as text: the YAML that would allow this, or why nothing a project writes can.
     * Production and the protected classes no project can open never get a rule.
     */
    public String suggestion() {
        return switch (advice()) {
            case Advice.AddRule r -> String.join("\n", r.yaml());
            case Advice.CannotAllow c -> "cannot be allowed: " + c.why() + "; instead: " + c.instead();
            case Advice.Note n -> n.text();
            case Advice.Nothing ignored -> "";
        };
    }

    private static final AddressClassifier BUILT_IN = new AddressClassifier();

    /** The rule as a reviewer reads it: {@code *.github.com:80,443 (airlock.yaml:7:7, network.allow)}. */
    public String ruleText() {
        return rule.map(Rule::toString).orElse("-");
    }
}
