package dev.airlock.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.address.IpLiterals;
import dev.airlock.policy.model.Destination;
import dev.airlock.policy.model.PortSet;
import dev.airlock.policy.model.Rule;
import dev.airlock.policy.model.SourcePosition;
import dev.airlock.policy.name.NamePattern;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;

/**
 * The optimised engine against {@link LinearScanEngine}, a plain linear scan over the same rules:
 * for random policies and random requests, {@code decide}, {@code screen} and {@code screenName}
 * must return equal decisions naming the very same rule object. The names, addresses and ports
 * come from small pools, so rules overlap, nest, repeat and collide on purpose: exact and
 * {@code *.} rules at the same name, the same CIDR written twice with different ports, rules on
 * one, two, three or every port, production and deny rules over allowed ones, embedded IPv4, and
 * hosts that need the full canonicalisation (upper case, trailing dot, full-width, Punycode,
 * numeric forms).
 */
class PolicyEngineDifferentialTest {

    /** Labels that make overlapping names likely, plus ones canonicalisation treats specially. */
    private static final List<String> LABELS = List.of("a", "b", "c", "com", "x-y", "xn--bcher-kva");
    private static final List<PortSet> PORTS = List.of(PortSet.ANY, PortSet.WEB, PortSet.of(443), PortSet.of(8080),
            PortSet.of(22, 80, 443), PortSet.of(5432, 8080), PortSet.of(80));
    private static final List<Integer> REQUEST_PORTS = List.of(22, 80, 443, 443, 443, 5432, 8080, 9999);
    private static final List<String> ADDRESSES = List.of("198.18.0.1", "198.18.1.7", "198.19.255.9", "10.1.2.3",
            "10.1.200.4", "127.0.0.1", "169.254.169.254", "100.127.0.5", "0.0.0.0", "2001:db8::1", "2001:db8:1::5",
            "::1", "::ffff:10.1.2.3", "::ffff:198.18.0.1", "64:ff9b::a01:203", "2002:a01:203::1", "fd00::7");
    private static final List<String> ODD_HOSTS = List.of("10.1.2.3", "198.18.0.1", "198.19.255.9", "127.0.0.1",
            "100.127.0.5", "[::1]", "::1", "2001:db8::1", "::ffff:10.1.2.3", "64:ff9b::a01:203", "[2001:db8::1]",
            "2001:DB8::1", "010.1.2.3", "127.1", "0x7f.1", "a.0x1f", "a.7", "A.COM", "a.com.", "B.a.COM.",
            "\uff41.com", "\uff11\uff12\uff17.0.0.1", "xn--bcher-kva.com", "b\u00fccher.com", "xn--a.com", "-a.com",
            "a-.com", "a..com", ".a.com", "a.com..", "", "a b.com", "a_b.com", "com", "x-y.a.com", "a.b.c.a.com");

    record Policy(List<Rule> allow, List<Rule> deny, List<Rule> production, List<Cidr> links) {
        PolicyEngine engine() {
            return PolicyEngine.of("p", allow, deny, production, links);
        }

        LinearScanEngine reference() {
            return new LinearScanEngine(allow, deny, production, links);
        }
    }

    /** A policy and requests aimed at it. */
    record Case(Policy policy, List<EgressRequest> requests) {
    }

    @Property(tries = 1500)
    void decide_equalsLinearScan(@ForAll("cases") Case c) {
        Policy policy = c.policy();
        List<EgressRequest> requests = c.requests();
        PolicyEngine engine = policy.engine();
        LinearScanEngine reference = policy.reference();
        for (EgressRequest req : requests) {
            Decision d = engine.decide(req);
            assertSame(d, reference.decide(req), policy, req);
            Statistics.label("reason").collect(d.reason());
        }
        // The generators must reach every outcome, or agreement would prove little.
        Statistics.label("reason").coverage(check -> {
            for (Reason r : List.of(Reason.ALLOWED, Reason.NO_RULE, Reason.PORT_NOT_ALLOWED, Reason.DENY_RULE,
                    Reason.PRODUCTION, Reason.PROTECTED_ADDRESS, Reason.IP_LITERAL, Reason.BAD_REQUEST, Reason.DNS_FAILURE)) {
                check.check(r).count(n -> n >= 20);
            }
        });
    }

    @Property(tries = 1000)
    void screen_equalsLinearScan(@ForAll("cases") Case c) {
        Policy policy = c.policy();
        List<EgressRequest> requests = c.requests();
        PolicyEngine engine = policy.engine();
        LinearScanEngine reference = policy.reference();
        for (EgressRequest req : requests) {
            assertSame(engine.screen(req.host(), req.port()), reference.screen(req.host(), req.port()), policy, req);
            assertSame(engine.screenName(req.host()), reference.screenName(req.host()), policy, req);
        }
    }

    /** Equal, and the rule is the same object: equal text could hide a wrong rule written alike. */
    private static void assertSame(Object actual, Object expected, Policy policy, EgressRequest req) {
        assertThat(actual).as("%s under %s", req, policy).isEqualTo(expected);
        Decision a = actual instanceof PolicyEngine.Screening.Final f ? f.decision() : actual instanceof Decision d ? d : null;
        Decision e = expected instanceof PolicyEngine.Screening.Final f ? f.decision() : expected instanceof Decision d ? d : null;
        if (a != null) {
            assertThat(a.rule().orElse(null)).as("rule of %s under %s", req, policy).isSameAs(e.rule().orElse(null));
        }
    }

    // ---- generators --------------------------------------------------------------------------------

    @Provide
    Arbitrary<Case> cases() {
        return policies().flatMap(p -> requests(p).map(r -> new Case(p, r)));
    }

    private Arbitrary<Policy> policies() {
        Arbitrary<List<Cidr>> links = Arbitraries.of(List.<Cidr>of(), List.of(Cidr.of("100.127.0.0/24")));
        return Combinators.combine(rules(Rule.Kind.ALLOW).list().ofMinSize(1).ofMaxSize(14), rules(Rule.Kind.DENY).list().ofMaxSize(5),
                rules(Rule.Kind.PRODUCTION).list().ofMaxSize(4), links).as(Policy::new);
    }

    private Arbitrary<Rule> rules(Rule.Kind kind) {
        Arbitrary<Destination> names = Combinators.combine(anchors(), Arbitraries.of(true, false))
                .as((n, exact) -> new Destination.Names(exact ? new NamePattern.Exact(n) : new NamePattern.Subdomains(n)));
        Arbitrary<Destination> cidrs = Combinators.combine(Arbitraries.of(ADDRESSES), Arbitraries.of(0, 8, 15, 16, 24, 31, 32, 48, 64, 96, 127, 128))
                .as((text, len) -> {
                    IpAddress a = address(text);
                    return new Destination.Addresses(new Cidr(a, Math.min(len, a.family().bits)));
                });
        Arbitrary<Destination> destination = Arbitraries.frequencyOf(
                Tuple.of(3, names), Tuple.of(1, cidrs));
        return Combinators.combine(destination, Arbitraries.of(PORTS), Arbitraries.integers().between(1, 4))
                .as((d, ports, line) -> new Rule(kind, d, ports, new SourcePosition("airlock.yaml", line, 7), kind.label));
    }

    /** Canonical names of one to three labels from {@link #LABELS}: where rules are written. */
    private Arbitrary<String> anchors() {
        return Arbitraries.of(LABELS).list().ofMinSize(1).ofMaxSize(3).map(l -> String.join(".", l));
    }

    /** Mostly names the policy's rules are written at, or subdomains of them; some random, some odd. */
    private Arbitrary<List<EgressRequest>> requests(Policy policy) {
        List<String> written = Stream.of(policy.allow(), policy.deny(), policy.production())
                .flatMap(List::stream)
                .map(Rule::destination)
                .flatMap(d -> d instanceof Destination.Names n ? Stream.of(n.pattern().name())
                        : Stream.empty())
                .toList();
        Arbitrary<String> random = Arbitraries.of(LABELS).list().ofMinSize(1).ofMaxSize(5).map(l -> String.join(".", l));
        Arbitrary<String> names = written.isEmpty() ? random : Arbitraries.frequencyOf(
                Tuple.of(1, random),
                Tuple.of(3, Combinators.combine(Arbitraries.of(written), Arbitraries.of(LABELS).list().ofMaxSize(2))
                        .as((n, prefix) -> prefix.isEmpty() ? n : String.join(".", prefix) + "." + n)));
        Arbitrary<String> spelled = Combinators.combine(names, Arbitraries.integers().between(0, 3))
                .as((n, how) -> switch (how) {
                    case 1 -> n.toUpperCase(Locale.ROOT);
                    case 2 -> n + ".";
                    default -> n;
                });
        Arbitrary<String> host = Arbitraries.frequencyOf(
                Tuple.of(6, spelled), Tuple.of(2, Arbitraries.of(ADDRESSES)), Tuple.of(2, Arbitraries.of(ODD_HOSTS)));
        Arbitrary<List<IpAddress>> answers = Arbitraries.of(ADDRESSES).map(PolicyEngineDifferentialTest::address)
                .list().ofMaxSize(2);
        Arbitrary<List<String>> aliases = Arbitraries.frequencyOf(
                Tuple.of(4, Arbitraries.just(List.<String>of())),
                Tuple.of(1, Arbitraries.oneOf(names, Arbitraries.of("a..b", "A.Com.")).list().ofMinSize(1).ofMaxSize(2)));
        Arbitrary<EgressRequest> request = Combinators.combine(host, Arbitraries.of(REQUEST_PORTS), answers, aliases)
                .as(EgressRequest::new);
        return request.list().ofMinSize(1).ofMaxSize(12);
    }

    private static IpAddress address(String text) {
        return ((IpLiterals.Canonical) IpLiterals.shape(text)).address();
    }
}
