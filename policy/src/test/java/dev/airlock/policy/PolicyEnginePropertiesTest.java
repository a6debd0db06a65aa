package dev.airlock.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import dev.airlock.policy.address.AddressClassifier;
import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.address.IpLiterals;
import dev.airlock.policy.model.Destination;
import dev.airlock.policy.model.PortSet;
import dev.airlock.policy.model.Rule;
import dev.airlock.policy.model.SourcePosition;
import dev.airlock.policy.name.HostNames;
import dev.airlock.policy.name.NamePattern;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;

/**
 * Properties of the decision engine that must hold for every input, not only the table rows of
 * {@link PolicyEngineTest}. (Named *Test so that surefire's default includes run it.)
 */
class PolicyEnginePropertiesTest {

    private static final SourcePosition AT = new SourcePosition("airlock.yaml", 1, 1);
    private static final List<IpAddress> PUBLIC = List.of(IpAddress.ipv4(0xC612_0001)); // 198.18.0.1

    private static Rule allow(NamePattern p, PortSet ports) {
        return new Rule(Rule.Kind.ALLOW, new Destination.Names(p), ports, AT, "network.allow");
    }

    private static Rule allowCidr(Cidr c, PortSet ports) {
        return new Rule(Rule.Kind.ALLOW, new Destination.Addresses(c), ports, AT, "network.allow");
    }

    private static Rule production(NamePattern p) {
        return new Rule(Rule.Kind.PRODUCTION, new Destination.Names(p), PortSet.ANY, AT, "production");
    }

    private static Rule productionCidr(Cidr c) {
        return new Rule(Rule.Kind.PRODUCTION, new Destination.Addresses(c), PortSet.ANY, AT, "production");
    }

    // ---- a name that merely contains or extends an allowed one is never allowed ----------------------

    @Property(tries = 2000)
    void decide_nameThatContainsOrExtendsAnAllowedName_isNeverAllowed(
            @ForAll("names") String allowed, @ForAll("labelChars") String prefix, @ForAll("names") String other,
            @ForAll("labelChars") String tail) {
        // Both the exact name and every subdomain of it are allowed.
        PolicyEngine engine = PolicyEngine.of("p",
                List.of(allow(new NamePattern.Exact(allowed), PortSet.WEB), allow(new NamePattern.Subdomains(allowed), PortSet.WEB)),
                List.of(), List.of(), List.of());
        List<String> lookalikes = List.of(
                prefix + allowed,                     // evilgithub.com: no label boundary
                allowed + "." + other,                // github.com.evil.net
                allowed + tail,                       // github.comx
                allowed + "-" + other,                // github.com-evil.net
                prefix + allowed + "." + other,       // a substring of a longer name
                prefix + "-" + allowed);              // my-github.com
        for (String host : lookalikes) {
            if (HostNames.isSameOrSubdomain(host, allowed)) {
                continue; // e.g. a.bc + "." + x.a.bc really is a subdomain of a.bc
            }
            Decision d = engine.decide(EgressRequest.of(host, 443, PUBLIC));
            assertThat(d.allowed()).as("%s must not pass as %s: %s", host, allowed, d.detail()).isFalse();
            assertThat(engine.screen(host, 443)).isInstanceOf(PolicyEngine.Screening.Final.class);
        }
        // Positive control: the allowed name itself, and a real subdomain of it.
        assertThat(engine.decide(EgressRequest.of(allowed, 443, PUBLIC)).allowed()).isTrue();
        assertThat(engine.decide(EgressRequest.of(prefix + "." + allowed, 443, PUBLIC)).allowed()).isTrue();
    }

    // ---- a production match is never allowed, whatever the project says -----------------------------

    @Property(tries = 1000)
    void decide_productionName_isNeverAllowed(@ForAll("names") String prod, @ForAll("labelChars") String sub,
            @ForAll boolean wildcard, @ForAll boolean upper, @ForAll boolean dot,
            @ForAll @IntRange(min = 1, max = 65535) int port) {
        String target = wildcard ? sub + "." + prod : prod;
        NamePattern prodPattern = wildcard ? new NamePattern.Subdomains(prod) : new NamePattern.Exact(prod);
        PortSet ports = PortSet.of(port);
        // The project allows the production name, its subdomains, and every parent's subdomains.
        List<Rule> allows = new ArrayList<>();
        allows.add(allow(new NamePattern.Exact(target), ports));
        allows.add(allow(new NamePattern.Exact(target), PortSet.WEB));
        allows.add(allow(new NamePattern.Subdomains(prod), ports));
        for (String parent = prod; parent.indexOf('.') > 0; parent = parent.substring(parent.indexOf('.') + 1)) {
            allows.add(allow(new NamePattern.Subdomains(parent.substring(parent.indexOf('.') + 1)), ports));
        }
        allows.add(allowCidr(Cidr.of("0.0.0.0/0"), ports));
        allows.add(allowCidr(Cidr.of("::/0"), ports));
        PolicyEngine engine = PolicyEngine.of("p", allows, List.of(), List.of(production(prodPattern)), List.of());

        String host = (upper ? target.toUpperCase(Locale.ROOT) : target) + (dot ? "." : "");
        Decision d = engine.decide(EgressRequest.of(host, port, PUBLIC));
        assertThat(d.allowed()).as(d.detail()).isFalse();
        assertThat(d.reason()).isEqualTo(Reason.PRODUCTION);
        assertThat(engine.screen(host, port)).isInstanceOf(PolicyEngine.Screening.Final.class);
        assertThat(d.suggestion()).doesNotStartWith("- ");
    }

    @Property(tries = 1000)
    void decide_productionAddress_isNeverAllowed(@ForAll("productionCidrs") Cidr prod, @ForAll long bits,
            @ForAll("encodings") int encoding, @ForAll @IntRange(min = 1, max = 65535) int port) {
        IpAddress inside = inside(prod, bits);
        IpAddress carried = encode(inside, encoding);
        PortSet ports = PortSet.of(port);
        // Every CIDR allow that could cover it, plus a name allow for the name that resolves to it.
        List<Rule> allows = List.of(
                allow(new NamePattern.Exact("app.example.dev"), ports),
                allowCidr(prod, ports),
                allowCidr(Cidr.of("0.0.0.0/0"), ports),
                allowCidr(Cidr.of("::/0"), ports),
                allowCidr(Cidr.host(inside), ports),
                allowCidr(Cidr.host(carried), ports));
        PolicyEngine engine = PolicyEngine.of("p", allows, List.of(), List.of(productionCidr(prod)), List.of());

        Decision byName = engine.decide(EgressRequest.of("app.example.dev", port, List.of(PUBLIC.get(0), carried)));
        assertThat(byName.allowed()).as("%s (carrying %s) as an answer: %s", carried, inside, byName.detail()).isFalse();
        assertThat(byName.reason()).isEqualTo(Reason.PRODUCTION);

        Decision byAddress = engine.decide(EgressRequest.of(carried.toString(), port, List.of()));
        assertThat(byAddress.allowed()).as("%s as an IP literal: %s", carried, byAddress.detail()).isFalse();
        assertThat(byAddress.reason()).isEqualTo(Reason.PRODUCTION);
        assertThat(byAddress.suggestion()).doesNotStartWith("- ");
    }

    // ---- canonicalisation --------------------------------------------------------------------------

    @Property(tries = 2000)
    void decide_rawAndCanonicalName_decideAlike(@ForAll("hostish") String raw) {
        PolicyEngine engine = Policies.engine(Phase.RUN);
        if (HostNames.canonicalize(raw) instanceof HostNames.Canonical c
                && IpLiterals.shape(c.name()) instanceof IpLiterals.NotNumeric) {
            assertThat(HostNames.canonicalize(c.name())).isEqualTo(c);
            Decision fromRaw = engine.decide(EgressRequest.of(raw, 443, PUBLIC));
            Decision fromCanonical = engine.decide(EgressRequest.of(c.name(), 443, PUBLIC));
            assertThat(fromRaw.reason()).as(raw).isEqualTo(fromCanonical.reason());
            assertThat(fromRaw.allowed()).isEqualTo(fromCanonical.allowed());
        }
    }

    // ---- decide never throws, and every allow is well-formed -----------------------------------------

    @Property(tries = 3000)
    void decide_neverThrows_andEveryAllowHasARule(@ForAll("anyHost") String host, @ForAll("anyPort") int port,
            @ForAll("answers") List<IpAddress> answers, @ForAll("aliases") List<String> aliases) {
        PolicyEngine engine = Policies.engine(Phase.RUN);
        assertThatCode(() -> engine.screen(host, port)).doesNotThrowAnyException();
        Decision d = engine.decide(new EgressRequest(host, port, answers, aliases));
        assertThat(d.verdict()).isNotNull();
        assertThat(d.reason()).isNotNull();
        // Untrusted text reaches audit records and terminals only escaped: printable ASCII.
        assertThat(d.detail()).as("detail").matches("[\\x20-\\x7e]*");
        assertThat(d.target()).as("target").matches("[\\x20-\\x7e]*");
        if (d.allowed()) {
            assertThat(d.reason()).isEqualTo(Reason.ALLOWED);
            assertThat(d.rule()).isPresent();
            assertThat(d.rule().get().kind()).isEqualTo(Rule.Kind.ALLOW);
            assertThat(d.rule().get().ports().contains(port)).isTrue();
            assertThat(d.addresses()).isNotEmpty();
            for (IpAddress a : d.addresses()) {
                for (IpAddress v : AddressClassifier.views(a)) {
                    assertThat(Cidr.of("10.20.0.0/16").contains(v) || Cidr.of("2001:db8:20::/48").contains(v))
                            .as("allowed %s carries production %s", a, v).isFalse();
                }
            }
        } else {
            assertThat(d.reason()).isNotEqualTo(Reason.ALLOWED);
        }
        assertThatCode(d::suggestion).doesNotThrowAnyException();
    }

    // ---- generators --------------------------------------------------------------------------------

    @Provide
    Arbitrary<String> labelChars() {
        return Arbitraries.strings().withCharRange('a', 'z').withCharRange('0', '9').ofMinLength(1).ofMaxLength(10)
                .filter(s -> !s.chars().allMatch(Character::isDigit));
    }

    /** Canonical names of two to four labels, whose last label is not numeric. */
    @Provide
    Arbitrary<String> names() {
        Arbitrary<String> label = Arbitraries.strings().withCharRange('a', 'z').withCharRange('0', '9').withChars('-')
                .ofMinLength(1).ofMaxLength(12).filter(s -> !s.startsWith("-") && !s.endsWith("-"));
        Arbitrary<String> tld = Arbitraries.strings().withCharRange('a', 'z').ofMinLength(2).ofMaxLength(6);
        return Combinators.combine(label.list().ofMinSize(1).ofMaxSize(3), tld)
                .as((labels, t) -> String.join(".", labels) + "." + t)
                .filter(n -> HostNames.canonicalize(n) instanceof HostNames.Canonical c && c.name().equals(n));
    }

    @Provide
    Arbitrary<Cidr> productionCidrs() {
        Arbitrary<Cidr> v4 = Combinators.combine(Arbitraries.integers(), Arbitraries.integers().between(8, 32))
                .as((bits, len) -> new Cidr(IpAddress.ipv4(bits), len));
        Arbitrary<Cidr> v6 = Combinators.combine(Arbitraries.longs(), Arbitraries.longs(), Arbitraries.integers().between(16, 128))
                .as((hi, lo, len) -> new Cidr(IpAddress.ipv6(hi, lo), len));
        return Arbitraries.frequencyOf(Tuple.of(3, v4), Tuple.of(1, v6),
                Tuple.of(1, Arbitraries.of(Cidr.of("10.20.0.0/16"), Cidr.of("127.0.0.0/8"), Cidr.of("2001:db8:20::/48"))));
    }

    /** 0 as is, 1 IPv4-mapped, 2 IPv4-compatible, 3 NAT64, 4 local-use NAT64, 5 6to4, 6 Teredo client, 7 Teredo server. */
    @Provide
    Arbitrary<Integer> encodings() {
        return Arbitraries.integers().between(0, 7);
    }

    private static IpAddress inside(Cidr c, long bits) {
        IpAddress n = c.network();
        int host = n.family().bits - c.prefixLength();
        if (n.isV4()) {
            long mask = host == 0 ? 0 : (0xFFFF_FFFFL >>> (32 - host));
            return IpAddress.ipv4((int) (n.lo() | (bits & mask)));
        }
        long loMask = host >= 64 ? -1L : host == 0 ? 0 : (-1L >>> (64 - host));
        long hiMask = host <= 64 ? 0 : host == 128 ? -1L : (-1L >>> (128 - host));
        return IpAddress.ipv6(n.hi() | (Long.rotateLeft(bits, 17) & hiMask), n.lo() | (bits & loMask));
    }

    private static IpAddress encode(IpAddress a, int how) {
        if (!a.isV4()) {
            return a;
        }
        long v4 = a.lo();
        return switch (how) {
            case 1 -> IpAddress.ipv6(0, 0xFFFF_0000_0000L | v4);
            case 2 -> v4 <= 1 ? a : IpAddress.ipv6(0, v4);
            case 3 -> IpAddress.ipv6(0x0064_ff9b_0000_0000L, v4);
            case 4 -> IpAddress.ipv6(0x0064_ff9b_0001_0000L, v4);
            case 5 -> IpAddress.ipv6(0x2002_0000_0000_0000L | (v4 << 16), 1);
            case 6 -> IpAddress.ipv6(0x2001_0000_c612_0002L, ~v4 & 0xFFFF_FFFFL);
            case 7 -> IpAddress.ipv6(0x2001_0000_0000_0000L | v4, 0x39ed_fffeL);
            default -> a;
        };
    }

    @Provide
    Arbitrary<String> hostish() {
        Arbitrary<Character> chars = Arbitraries.frequencyOf(
                Tuple.of(10, Arbitraries.chars().range('a', 'z')),
                Tuple.of(3, Arbitraries.chars().range('A', 'Z')),
                Tuple.of(2, Arbitraries.chars().range('0', '9')),
                Tuple.of(4, Arbitraries.of('.', '-')),
                Tuple.of(2, Arbitraries.of('ü', 'і', 'ı', 'İ', 'ｇ', 'Ａ', '．', '。', '\u00AD')));
        Arbitrary<String> random = chars.list().ofMinSize(1).ofMaxSize(30).map(PolicyEnginePropertiesTest::join);
        Arbitrary<String> nearAllowed = Arbitraries.of("github.com", "raw.githubusercontent.com", "api.acme.com",
                "db.prod.acme.internal", "gist.githubusercontent.com", "ssh.github.com")
                .flatMap(n -> Arbitraries.of(n, n.toUpperCase(Locale.ROOT), n + ".", n.toUpperCase(Locale.ROOT) + ".",
                        n.replace('i', 'і'), n.replace('.', '。')));
        return Arbitraries.oneOf(random, nearAllowed);
    }

    @Provide
    Arbitrary<String> anyHost() {
        return Arbitraries.oneOf(
                Arbitraries.strings().all().ofMaxLength(300),
                Arbitraries.strings().ascii().ofMaxLength(80),
                hostish(),
                Arbitraries.of("github.com", "api.acme.com", "127.0.0.1", "[::1]", "::ffff:10.20.1.5", "10.20.1.5",
                        "198.18.9.7", "10.1.2.3", "db.acme.dev", "", "[", "]", "[]", ":", "::", "0x", "%", "\u0000"),
                Arbitraries.integers().map(i -> IpAddress.ipv4(i).toString()),
                Arbitraries.longs().map(l -> "[" + IpAddress.ipv6(l, ~l).toString() + "]"));
    }

    @Provide
    Arbitrary<Integer> anyPort() {
        return Arbitraries.oneOf(Arbitraries.integers(), Arbitraries.of(0, 1, 22, 80, 443, 5432, 8443, 65535, 65536, -1),
                Arbitraries.integers().between(1, 65535));
    }

    @Provide
    Arbitrary<List<IpAddress>> answers() {
        Arbitrary<IpAddress> v4 = Arbitraries.integers().map(IpAddress::ipv4);
        Arbitrary<IpAddress> v6 = Combinators.combine(Arbitraries.longs(), Arbitraries.longs()).as(IpAddress::ipv6);
        Arbitrary<IpAddress> interesting = Arbitraries.of("198.18.0.10", "127.0.0.1", "10.20.1.5", "::ffff:10.20.1.5",
                "10.1.2.3", "169.254.169.254", "fd00:ec2::254", "10.200.0.1", "2001:db8:20::1", "64:ff9b::a14:105")
                .map(Policies::ip);
        return Arbitraries.oneOf(v4, v6, interesting).list().ofMaxSize(4);
    }

    @Provide
    Arbitrary<List<String>> aliases() {
        return Arbitraries.oneOf(Arbitraries.strings().ofMaxLength(30), hostish(),
                Arbitraries.of("api.acme.com", "x.prod.acme.internal", "cdn.example.net")).list().ofMaxSize(3);
    }

    private static String join(List<Character> chars) {
        StringBuilder sb = new StringBuilder(chars.size());
        chars.forEach(sb::append);
        return sb.toString();
    }
}
