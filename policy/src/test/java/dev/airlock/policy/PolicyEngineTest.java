package dev.airlock.policy;

import static dev.airlock.policy.Policies.ip;
import static dev.airlock.policy.Policies.ips;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.policy.address.AddressClassifier;
import dev.airlock.policy.address.IpLiterals;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.model.Rule;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The two gates of DESIGN.md §1, decided against {@link Policies#PROJECT} under
 * {@link Policies#ORG}, class by class from egress-cases A and C. "Public" answers come from
 * 198.18.0.0/15 and 2001:db8:1::/48, which the classifier does not protect. Every deny table has
 * positive controls: the same name, port or address shape that is allowed.
 */
class PolicyEngineTest {

    private static final PolicyEngine ENGINE = Policies.engine(Phase.RUN);

    private static Decision decide(String host, int port, String addresses) {
        return ENGINE.decide(EgressRequest.of(host, port, ips(addresses)));
    }

    /** The decision as a reviewer reads it, checked against the reason code. */
    private static void assertReason(String description, Decision d, String reason) {
        assertThat(d.reason().code).as("%s: %s", description, d.detail()).isEqualTo(reason);
        assertThat(d.allowed()).as(description).isEqualTo(reason.equals("allowed"));
    }

    // ---- A. names: normalisation, label boundaries, wildcards, ports ---------------------------------

    @ParameterizedTest(name = "{0}: {1}:{2} -> {4}")
    @CsvSource(delimiter = '|', textBlock = """
        # description                                        | host                          | port | answers                     | reason
        exact name                                           | github.com                    | 443  | 198.18.0.10                 | allowed
        exact name, plain HTTP                               | github.com                    | 80   | 198.18.0.10                 | allowed
        upper case normalises to the allow                   | GitHub.COM                    | 443  | 198.18.0.10                 | allowed
        trailing dot normalises to the allow                 | github.com.                   | 443  | 198.18.0.10                 | allowed
        case and trailing dot together                       | GITHUB.COM.                   | 443  | 198.18.0.10                 | allowed
        full-width letters normalise (UTS-46)                | ｇｉｔｈｕｂ.com                | 443  | 198.18.0.10                 | allowed
        subdomain under *.                                   | raw.githubusercontent.com     | 443  | 198.18.0.11                 | allowed
        three labels deep under *.                           | a.b.c.githubusercontent.com   | 443  | 198.18.0.11                 | allowed
        upper case under *.                                  | RAW.GitHubUserContent.com.    | 443  | 198.18.0.11                 | allowed
        name:port rule on its port                           | ssh.github.com                | 22   | 198.18.0.10                 | allowed
        host with ports, second port                         | staging.acme.dev              | 8443 | 198.18.0.20                 | allowed
        public AAAA only                                     | github.com                    | 443  | 2001:db8:1::10              | allowed
        public A and AAAA                                    | github.com                    | 443  | 198.18.0.10 2001:db8:1::10  | allowed
        public IPv4-mapped answer                            | github.com                    | 443  | ::ffff:198.18.0.10          | allowed
        apex of a production wildcard is not production      | prod.acme.internal            | 443  | 198.18.0.40                 | allowed
        sibling of a production name under a wildcard allow  | www.acme.com                  | 443  | 198.18.0.41                 | allowed
        # suffix and extension
        a suffix without a label boundary                    | evilgithub.com                | 443  | 198.18.0.99                 | no-rule
        a prefix without a label boundary, hyphenated        | my-github.com                 | 443  | 198.18.0.99                 | no-rule
        a shorter name                                       | hub.com                       | 443  | 198.18.0.99                 | no-rule
        allowed name extended by another                     | github.com.evil.net           | 443  | 198.18.0.99                 | no-rule
        allowed name extended, with a trailing dot           | github.com.evil.net.          | 443  | 198.18.0.99                 | no-rule
        allowed name with characters appended                | github.comx                   | 443  | 198.18.0.99                 | no-rule
        allowed name with a hyphen appended                  | github.com-evil.net           | 443  | 198.18.0.99                 | no-rule
        subdomain of an exact allow                          | api.github.com                | 443  | 198.18.0.99                 | no-rule
        *. does not cover its apex                           | githubusercontent.com         | 443  | 198.18.0.11                 | no-rule
        wildcard parent without a label boundary             | evilgithubusercontent.com     | 443  | 198.18.0.99                 | no-rule
        wildcard match extended by another                   | raw.githubusercontent.com.evil.net | 443 | 198.18.0.99           | no-rule
        a name nobody allowed                                | example.org                   | 443  | 198.18.0.99                 | no-rule
        # IDN homographs: compared after UTS-46 and Punycode
        Cyrillic і in github.com                             | gіthub.com                    | 443  | 198.18.0.99                 | no-rule
        dotless ı in github.com                              | gıthub.com                    | 443  | 198.18.0.99                 | no-rule
        capital I with a dot                                 | GİTHUB.COM                    | 443  | 198.18.0.99                 | no-rule
        Cyrillic о in the TLD                                | github.cоm                    | 443  | 198.18.0.99                 | no-rule
        Punycode of the Cyrillic homograph                   | xn--gthub-n2e.com             | 443  | 198.18.0.99                 | no-rule
        homograph of the wildcard parent                     | raw.githubusercоntent.com     | 443  | 198.18.0.99                 | no-rule
        a homograph label UNDER an allowed wildcard is under it | rаw.githubusercontent.com  | 443  | 198.18.0.11                 | allowed
        # ports
        allowed name on a port it does not list              | github.com                    | 8080 | 198.18.0.10                 | port-not-allowed
        allowed name on ssh, which only ssh.github.com has   | github.com                    | 22   | 198.18.0.10                 | port-not-allowed
        name:port rule on another port                       | ssh.github.com                | 443  | 198.18.0.10                 | port-not-allowed
        host with ports on the default port                  | staging.acme.dev              | 80   | 198.18.0.20                 | port-not-allowed
        wildcard allow on a port it does not list            | raw.githubusercontent.com     | 22   | 198.18.0.11                 | port-not-allowed
        port 0                                               | github.com                    | 0    | 198.18.0.10                 | bad-request
        port 65536                                           | github.com                    | 65536| 198.18.0.10                 | bad-request
        port -1                                              | github.com                    | -1   | 198.18.0.10                 | bad-request
        port far out of range                                | github.com                    | 2147483647 | 198.18.0.10           | bad-request
        lowest port is a port                                | github.com                    | 1    | 198.18.0.10                 | port-not-allowed
        highest port is a port                               | github.com                    | 65535| 198.18.0.10                 | port-not-allowed
        # deny rules win over allow rules
        deny name beside a wildcard allow                    | gist.githubusercontent.com    | 443  | 198.18.0.11                 | deny-rule
        deny name, upper case and trailing dot               | GIST.githubusercontent.com.   | 443  | 198.18.0.11                 | deny-rule
        deny wildcard beside an exact allow                  | build.internal.acme.dev       | 443  | 198.18.0.50                 | deny-rule
        deny wildcard at depth                               | a.b.internal.acme.dev         | 443  | 198.18.0.50                 | deny-rule
        deny CIDR on an allowed name's answer                | github.com                    | 443  | 198.18.66.1                 | deny-rule
        deny CIDR beside a public answer                     | github.com                    | 443  | 198.18.0.10 198.18.66.1     | deny-rule
        deny CIDR reached through an IPv4-mapped answer      | github.com                    | 443  | ::ffff:198.18.66.1          | deny-rule
        """)
    void decide_names(String description, String host, int port, String answers, String reason) {
        assertReason(description, decide(host, port, answers), reason);
    }

    // ---- A. production: no project rule opens it -------------------------------------------------

    @ParameterizedTest(name = "{0}: {1}:{2} -> production")
    @CsvSource(delimiter = '|', textBlock = """
        production name the project allows exactly          | api.acme.com                 | 443  | 198.18.0.30
        production name, upper case                         | API.ACME.COM                 | 443  | 198.18.0.30
        production name, trailing dot                       | api.acme.com.                | 443  | 198.18.0.30
        production name, mixed case and trailing dot        | Api.Acme.Com.                | 443  | 198.18.0.30
        production name, full-width letters                 | ａｐｉ.acme.com               | 443  | 198.18.0.30
        production name on an unlisted port                 | api.acme.com                 | 5432 | 198.18.0.30
        production name with no answers at all              | api.acme.com                 | 443  | -
        production wildcard under a project wildcard        | db.prod.acme.internal        | 443  | 198.18.0.31
        production wildcard, deeper                         | a.b.c.prod.acme.internal     | 443  | 198.18.0.31
        production wildcard, upper case and dot             | DB.PROD.ACME.INTERNAL.       | 443  | 198.18.0.31
        allowed name resolving into a production CIDR       | github.com                   | 443  | 10.20.1.5
        production CIDR wins over a CIDR allow on its port  | staging.acme.dev             | 443  | 10.20.1.5
        production IPv6 CIDR wins over a CIDR allow         | github.com                   | 443  | 2001:db8:20::5
        production beside a public answer                   | github.com                   | 443  | 198.18.0.10 10.20.1.5
        production AAAA beside a public A                   | github.com                   | 443  | 198.18.0.10 2001:db8:20::5
        production through an IPv4-mapped answer            | github.com                   | 443  | ::ffff:10.20.1.5
        production through IPv4-compatible                  | github.com                   | 443  | ::a14:105
        production through NAT64                            | github.com                   | 443  | 64:ff9b::a14:105
        production through local-use NAT64                  | github.com                   | 443  | 64:ff9b:1::a14:105
        production through 6to4                             | github.com                   | 443  | 2002:a14:105::1
        production through a Teredo client (~10.20.1.5)     | github.com                   | 443  | 2001:0:c612:2::f5eb:fefa
        production through a Teredo server                  | github.com                   | 443  | 2001:0:a14:105::39ed:fffe
        production IP literal under a CIDR allow            | 10.20.1.5                    | 443  | -
        production IP literal, IPv4-mapped                  | ::ffff:10.20.1.5             | 443  | -
        production IP literal, bracketed IPv6               | [2001:db8:20::5]             | 443  | -
        production IP literal, 6to4                         | 2002:a14:105::1              | 443  | -
        production IP literal on another port               | 10.20.1.5                    | 22   | -
        """)
    void decide_production(String description, String host, int port, String answers) {
        Decision d = decide(host, port, answers);
        assertReason(description, d, "production");
        assertThat(d.rule()).as("the production rule is named").hasValueSatisfying(r -> assertThat(r.kind()).isEqualTo(Rule.Kind.PRODUCTION));
        assertThat(d.suggestion()).startsWith("cannot be allowed: it is in the organisation's production set").doesNotContain("cidr");
    }

    // ---- A. authority smuggling in the host -------------------------------------------------------

    static Stream<Arguments> smuggled() {
        return Stream.of(
                Arguments.of("a port inside the name", "evil.com:443.github.com"),
                Arguments.of("a port after the name", "github.com:443"),
                Arguments.of("userinfo before the real host", "github.com@evil.com"),
                Arguments.of("userinfo after the allowed name", "evil.com@github.com"),
                Arguments.of("fragment", "evil.com#github.com"),
                Arguments.of("fragment after the allowed name", "github.com#"),
                Arguments.of("backslash", "evil.com\\github.com"),
                Arguments.of("backslash after the allowed name", "github.com\\@evil.com"),
                Arguments.of("percent-encoded dot", "github%2ecom"),
                Arguments.of("percent-encoded NUL", "github.com%00.evil.net"),
                Arguments.of("NUL", "github.com\u0000.evil.net"),
                Arguments.of("trailing NUL", "github.com\u0000"),
                Arguments.of("CR/LF", "github.com\r\nHost: evil.net"),
                Arguments.of("LF alone", "github.com\nevil.net"),
                Arguments.of("leading space", " github.com"),
                Arguments.of("trailing space", "github.com "),
                Arguments.of("space inside", "github.com evil.net"),
                Arguments.of("tab", "github.com\tevil.net"),
                Arguments.of("vertical tab", "github.com\u000B"),
                Arguments.of("ANSI escape", "\u001B[2Jgithub.com"),
                Arguments.of("slash", "github.com/evil"),
                Arguments.of("question mark", "github.com?x=evil.net"),
                Arguments.of("full-width at sign", "github.com＠evil.net"),
                Arguments.of("two trailing dots", "github.com.."),
                Arguments.of("leading dot", ".github.com"),
                Arguments.of("empty label", "github..com"),
                Arguments.of("empty host", ""),
                Arguments.of("only a dot", "."),
                Arguments.of("overlong label", "a".repeat(64) + ".github.com"),
                Arguments.of("overlong input", "a.".repeat(2000) + "github.com"),
                Arguments.of("invalid Punycode", "xn--a.github.com"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("smuggled")
    void decide_authoritySmuggling_isABadRequestOrIpLiteral(String description, String host) {
        Decision d = decide(host, 443, "198.18.0.10");
        assertThat(d.allowed()).as(description).isFalse();
        assertThat(d.reason()).as(description).isIn(Reason.BAD_REQUEST, Reason.IP_LITERAL);
        // Control characters never reach an audit record raw (DESIGN.md §2).
        assertThat(d.target() + d.detail()).as(description).doesNotContainPattern("[\\x00-\\x1f\\x7f]");
        assertThat(ENGINE.screen(host, 443)).isInstanceOf(PolicyEngine.Screening.Final.class);
    }

    @Test
    void decide_nullHost_isABadRequest() {
        assertThat(ENGINE.decide(new EgressRequest(null, 443, List.of(), List.of())).reason()).isEqualTo(Reason.BAD_REQUEST);
    }

    // ---- A. IP literals of every shape --------------------------------------------------------------

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', textBlock = """
        canonical loopback                    | 127.0.0.1
        short form                            | 127.1
        short form, three parts               | 127.0.1
        octal                                 | 0177.0.0.1
        hex octet                             | 0x7f.0.0.1
        hex integer                           | 0x7f000001
        decimal integer                       | 2130706433
        leading zeros                         | 127.000.000.001
        trailing dot                          | 127.0.0.1.
        unspecified                           | 0.0.0.0
        bare zero                             | 0
        metadata                              | 169.254.169.254
        metadata as a decimal integer         | 2852039166
        a name whose last label is numeric    | github.com.1
        IPv6 unspecified, bracketed           | [::]
        IPv6 unspecified                      | ::
        IPv6 loopback, bracketed              | [::1]
        IPv6 loopback                         | ::1
        IPv6 loopback, uncompressed           | [0:0:0:0:0:0:0:1]
        IPv4-mapped                           | [::ffff:127.0.0.1]
        IPv4-mapped, upper case               | [::FFFF:127.0.0.1]
        IPv4-mapped, in hex                   | ::ffff:7f00:1
        IPv4-compatible                       | ::7f00:1
        NAT64 well-known prefix               | 64:ff9b::a9fe:a9fe
        NAT64 local-use prefix                | 64:ff9b:1::a00:1
        6to4                                  | 2002:7f00:1::
        Teredo                                | 2001:0:c612:2::80ff:fffe
        zone id                               | fe80::1%eth0
        zone id, bracketed and encoded        | [fe80::1%25eth0]
        IMDS over IPv6                        | [fd00:ec2::254]
        unbalanced bracket                    | [::1
        IPv4 in brackets                      | [127.0.0.1]
        a public address with no cidr rule    | 198.18.0.10
        a public IPv6 address with no rule    | 2001:db8:1::10
        in a CIDR allow, on another port      | 198.18.9.7
        in the private CIDR allow, wrong port | 10.1.2.3
        """)
    void decide_ipLiterals_areDenied(String description, String host) {
        Decision d = decide(host, 443, "-");
        // A canonical literal of a class no project rule can open is named as protected; the rest as ip-literal.
        boolean closed = IpLiterals.shape(host.matches("\\[[0-9a-fA-F:.]*:[0-9a-fA-F:.]*]") ? host.substring(1, host.length() - 1) : host) instanceof IpLiterals.Canonical c
                && !new AddressClassifier().classify(c.address()).projectCanOpen();
        assertReason(description, d, closed ? "protected-address" : "ip-literal");
        assertThat(ENGINE.screen(host, 443)).isEqualTo(new PolicyEngine.Screening.Final(d));
    }

    @Test
    void decide_fullWidthDigits_areAnIpLiteralAfterMapping() {
        assertReason("full-width 127.0.0.1", decide("１２７.０.０.１", 443, "-"), "ip-literal");
        assertReason("ideographic dots", decide("127。0。0。1", 443, "-"), "ip-literal");
    }

    @ParameterizedTest(name = "{0}: {1}:{2}")
    @CsvSource(delimiter = '|', textBlock = """
        public address in a CIDR allow, on its port          | 198.18.9.7          | 22
        a protected address a CIDR rule names, on its port   | 10.1.2.3            | 5432
        """)
    void decide_ipLiteralInACidrAllow_isAllowedAndDialledAsGiven(String description, String host, int port) {
        Decision d = decide(host, port, "-");
        assertReason(description, d, "allowed");
        assertThat(d.addresses()).hasSize(1);
        assertThat(ENGINE.screen(host, port)).isEqualTo(new PolicyEngine.Screening.Final(d));
    }

    @Test
    void decide_ipLiteralInADenyCidr_isDeniedByTheRule() {
        assertReason("deny CIDR", decide("198.18.66.1", 22, "-"), "deny-rule");
    }

    // ---- C. the address gate ------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', textBlock = """
        loopback                                   | 127.0.0.1
        loopback, far end                          | 127.255.255.254
        IPv6 loopback                              | ::1
        RFC 1918 10/8                              | 10.0.0.1
        RFC 1918 172.16/12                         | 172.16.0.1
        RFC 1918 192.168/16                        | 192.168.1.1
        CGNAT                                      | 100.64.0.1
        ULA                                        | fd12:3456::1
        link-local                                 | 169.254.0.1
        IPv6 link-local                            | fe80::1
        metadata                                   | 169.254.169.254
        IMDS over IPv6                             | fd00:ec2::254
        Azure WireServer                           | 168.63.129.16
        unspecified                                | 0.0.0.0
        IPv6 unspecified                           | ::
        multicast                                  | 224.0.0.1
        broadcast                                  | 255.255.255.255
        loopback, IPv4-mapped                      | ::ffff:127.0.0.1
        metadata through NAT64                     | 64:ff9b::a9fe:a9fe
        loopback through 6to4                      | 2002:7f00:1::1
        loopback through a Teredo client           | 2001:0:c612:2::80ff:fffe
        the Airlock gateway's link                 | 10.200.0.1
        another sandbox's link                     | 10.200.7.2
        Airlock's IPv6 link                        | fd42:a1::1
        Airlock's link, IPv4-mapped                | ::ffff:10.200.0.1
        mixed: loopback beside a public A          | 198.18.0.10 127.0.0.1
        mixed: protected AAAA beside a public A    | 198.18.0.10 ::1
        mixed: IMDS AAAA beside a public A         | 198.18.0.10 fd00:ec2::254
        mixed: private A beside a public AAAA      | 2001:db8:1::10 10.0.0.1
        mixed: protected first, public after       | 10.0.0.1 198.18.0.10
        mixed: one bad among many                  | 198.18.0.10 198.18.0.11 198.18.0.12 192.168.0.1 198.18.0.13
        """)
    void decide_allowedNameResolvingToAProtectedAddress_isDenied(String description, String answers) {
        Decision d = decide("github.com", 443, answers);
        assertReason(description, d, "protected-address");
        assertThat(d.addresses()).as("every candidate is recorded").isEqualTo(ips(answers));
        assertThat(d.offending()).isPresent();
        assertThat(ips(answers)).contains(d.offending().get());
    }

    @Test
    void decide_airlockLink_saysItIsAirlocks() {
        assertThat(decide("github.com", 443, "10.200.0.1").detail()).contains("Airlock");
    }

    @ParameterizedTest(name = "{0}: {1}:{2} {3} -> {4}")
    @CsvSource(delimiter = '|', textBlock = """
        CIDR allow opens a private answer on its port         | db.acme.dev      | 5432 | 10.1.2.3            | allowed
        an IPv4 CIDR does not open the IPv4-mapped form       | db.acme.dev      | 5432 | ::ffff:10.1.2.3     | protected-address
        the same beside a public answer                       | db.acme.dev      | 5432 | 198.18.0.60 10.1.2.3 | allowed
        CIDR allow does not open the private answer on 443    | staging.acme.dev | 443  | 10.1.2.3            | protected-address
        private answer just outside the CIDR allow            | db.acme.dev      | 5432 | 10.2.0.1            | protected-address
        loopback answer on the CIDR allow's port              | db.acme.dev      | 5432 | 127.0.0.1           | protected-address
        one answer in the CIDR allow, one outside             | db.acme.dev      | 5432 | 10.1.2.3 10.2.0.1   | protected-address
        a CIDR rule never opens a name by itself              | db2.acme.dev     | 5432 | 10.1.2.3            | no-rule
        nor an allowed name on a port only the CIDR has       | github.com       | 5432 | 10.1.2.3            | port-not-allowed
        """)
    void decide_cidrAllow_opensProtectedAddressesOnlyOnItsPorts(String description, String host, int port,
            String answers, String reason) {
        assertReason(description, decide(host, port, answers), reason);
    }

    @Test
    void decide_allowedNameWithNoAddress_isADnsFailure() {
        Decision d = decide("github.com", 443, "-");
        assertReason("no answers", d, "dns-failure");
    }

    @Test
    void decide_deniedNameWithNoAddress_keepsItsNameGateReason() {
        assertReason("no rule, no answers", decide("example.org", 443, "-"), "no-rule");
        assertReason("deny rule, no answers", decide("gist.githubusercontent.com", 443, "-"), "deny-rule");
    }

    @Test
    void decide_allow_carriesTheRuleAndExactlyTheVettedAddresses() {
        Decision d = decide("ssh.github.com", 22, "198.18.0.10 2001:db8:1::10");
        assertThat(d.verdict()).isEqualTo(Verdict.ALLOW);
        assertThat(d.target()).isEqualTo("ssh.github.com");
        assertThat(d.addresses()).isEqualTo(ips("198.18.0.10 2001:db8:1::10"));
        assertThat(d.rule()).hasValueSatisfying(r -> {
            assertThat(r.describe()).isEqualTo("ssh.github.com:22");
            assertThat(r.position()).hasToString("airlock.yaml:7:7");
            assertThat(r.source()).isEqualTo("network.allow");
        });
        assertThat(d.detail()).contains("ssh.github.com:22").contains("airlock.yaml:7:7");
    }

    @Test
    void decide_canonicalTargetIsRecorded() {
        assertThat(decide("GitHub.COM.", 443, "198.18.0.10").target()).isEqualTo("github.com");
        assertThat(decide("[::ffff:198.18.9.7]", 22, "-").target()).isEqualTo("::ffff:198.18.9.7");
    }

    // ---- C. CNAME chains --------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}: github.com via [{1}] -> {2}")
    @CsvSource(delimiter = '|', textBlock = """
        an alias to a production name                      | api.acme.com                             | production
        an alias to a production name, case and dot        | API.Acme.com.                            | production
        an alias under a production wildcard               | lb.prod.acme.internal                    | production
        a chain ending in production                       | github.map.example.net lb.prod.acme.internal | production
        a chain passing through production                 | lb.prod.acme.internal cdn.example.net    | production
        an alias to a denied name                          | cache.internal.acme.dev                  | deny-rule
        an alias to a denied exact name                    | gist.githubusercontent.com               | deny-rule
        an alias that is not a valid name                  | bad\\name.example                        | bad-request
        an alias to a name no rule mentions is fine        | github.map.fastly.net                    | allowed
        an alias to the apex of a production wildcard      | prod.acme.internal                       | allowed
        """)
    void decide_cnameAliases(String description, String aliases, String reason) {
        List<String> chain = List.of(aliases.split("\\s+"));
        Decision d = ENGINE.decide(new EgressRequest("github.com", 443, ips("198.18.0.10"), chain));
        assertReason(description, d, reason);
    }

    // ---- screen(): the name gate before anything is resolved ---------------------------------------

    @Nested
    class Screen {

        @ParameterizedTest(name = "{0}: {1}:{2} -> Final {3}")
        @CsvSource(delimiter = '|', textBlock = """
            production name                    | api.acme.com             | 443  | production
            production wildcard                | x.prod.acme.internal     | 443  | production
            deny rule                          | gist.githubusercontent.com | 443 | deny-rule
            no rule                            | example.org              | 443  | no-rule
            a suffix without a label boundary  | evilgithub.com           | 443  | no-rule
            port not listed                    | github.com               | 8080 | port-not-allowed
            a name only a CIDR rule could open | db2.acme.dev             | 5432 | no-rule
            bad port                           | github.com               | 0    | bad-request
            bad name                           | github.com..             | 443  | bad-request
            non-canonical IP literal           | 127.1                    | 443  | ip-literal
            canonical IP literal, no rule      | 198.18.0.10              | 443  | ip-literal
            loopback IP literal                | 127.0.0.1                | 443  | protected-address
            production IP literal              | 10.20.1.5                | 443  | production
            """)
        void screen_deniedWithoutResolving(String description, String host, int port, String reason) {
            PolicyEngine.Screening s = ENGINE.screen(host, port);
            assertThat(s).as(description).isInstanceOf(PolicyEngine.Screening.Final.class);
            assertReason(description, ((PolicyEngine.Screening.Final) s).decision(), reason);
        }

        @ParameterizedTest(name = "{0}:{1} resolves as {2}")
        @CsvSource(delimiter = '|', textBlock = """
            github.com                   | 443  | github.com
            GitHub.COM.                  | 80   | github.com
            raw.githubusercontent.com    | 443  | raw.githubusercontent.com
            ssh.github.com               | 22   | ssh.github.com
            db.acme.dev                  | 5432 | db.acme.dev
            ｇｉｔｈｕｂ.com              | 443  | github.com
            """)
        void screen_allowedName_isResolvedByItsCanonicalName(String host, int port, String name) {
            assertThat(ENGINE.screen(host, port)).isEqualTo(new PolicyEngine.Screening.Resolve(name));
        }

        @Test
        void screen_ipLiteralAllowedByACidr_isFinal() {
            PolicyEngine.Screening s = ENGINE.screen("198.18.9.7", 22);
            assertThat(s).isInstanceOf(PolicyEngine.Screening.Final.class);
            assertThat(((PolicyEngine.Screening.Final) s).decision().allowed()).isTrue();
        }

        @Test
        void screen_thenDecide_agreeOnTheNameGate() {
            // Whatever screen() denies, decide() denies for the same reason, whatever the answers.
            for (String host : List.of("api.acme.com", "example.org", "gist.githubusercontent.com", "127.1")) {
                PolicyEngine.Screening s = ENGINE.screen(host, 443);
                Decision d = decide(host, 443, "198.18.0.10");
                assertThat(((PolicyEngine.Screening.Final) s).decision().reason()).isEqualTo(d.reason());
            }
        }
    }

    // ---- screenName(): the DNS responder's gate, which has no port ----------------------------------

    @Nested
    class ScreenName {

        @ParameterizedTest(name = "{0}: {1} -> Final {2}")
        @CsvSource(delimiter = '|', textBlock = """
            production name                         | api.acme.com               | production
            production name, case and trailing dot  | API.acme.com.              | production
            production wildcard                     | db.prod.acme.internal      | production
            deny rule on every port                 | gist.githubusercontent.com | deny-rule
            deny wildcard beside an exact allow     | build.internal.acme.dev    | deny-rule
            no rule                                 | example.org                | no-rule
            a suffix without a label boundary       | evilgithub.com             | no-rule
            allowed name extended by another        | github.com.evil.net        | no-rule
            the apex of an allowed wildcard         | githubusercontent.com      | no-rule
            a Cyrillic homograph                    | gіthub.com                 | no-rule
            an IP literal is not a name to resolve  | 198.18.9.7                 | ip-literal
            a non-canonical IP literal              | 127.1                      | ip-literal
            a bad name                              | github.com..               | bad-request
            """)
        void screenName_deniedNamesGetNoAnswer(String description, String host, String reason) {
            PolicyEngine.Screening s = ENGINE.screenName(host);
            assertThat(s).as(description).isInstanceOf(PolicyEngine.Screening.Final.class);
            assertReason(description, ((PolicyEngine.Screening.Final) s).decision(), reason);
        }

        @ParameterizedTest(name = "{0} resolves as {1}")
        @CsvSource(delimiter = '|', textBlock = """
            github.com                     | github.com
            GitHub.COM.                    | github.com
            raw.githubusercontent.com      | raw.githubusercontent.com
            ssh.github.com                 | ssh.github.com
            db.acme.dev                    | db.acme.dev
            """)
        void screenName_nameAllowedOnAnyPort_isAnswered(String host, String name) {
            // ssh.github.com is allowed on 22 only and db.acme.dev on 5432 only: DNS has no port, and
            // the connection that follows is decided again, port and all.
            assertThat(ENGINE.screenName(host)).isEqualTo(new PolicyEngine.Screening.Resolve(name));
        }
    }

    // ---- setup phase ---------------------------------------------------------------------------------

    @Test
    void compile_setupPhase_addsSetupAllows() {
        PolicyEngine run = Policies.engine(Phase.RUN);
        PolicyEngine setup = Policies.engine(Phase.SETUP);
        assertReason("run", run.decide(EgressRequest.of("registry.npmjs.org", 443, ips("198.18.0.12"))), "no-rule");
        Decision d = setup.decide(EgressRequest.of("registry.npmjs.org", 443, ips("198.18.0.12")));
        assertReason("setup", d, "allowed");
        assertThat(d.rule().get().source()).isEqualTo("network.setup.allow");
    }

    @Test
    void compile_setupPhase_stillDeniesProduction() {
        PolicyEngine setup = Policies.engine(Phase.SETUP);
        assertReason("setup allow of a production name",
                setup.decide(EgressRequest.of("api.acme.com", 443, ips("198.18.0.30"))), "production");
        assertReason("setup allow resolving into production",
                setup.decide(EgressRequest.of("registry.npmjs.org", 443, ips("10.20.0.9"))), "production");
    }

    @Test
    void compile_presets_allowTheirHostsAndNameThemInTheRule() {
        PolicyEngine e = Policies.engine("""
                version: 1
                project: demo
                network:
                  presets: [npm, acme-ci]
                """, Phase.RUN);
        Decision npm = e.decide(EgressRequest.of("registry.npmjs.org", 443, ips("198.18.0.12")));
        assertReason("npm preset", npm, "allowed");
        assertThat(npm.rule().get().source()).startsWith("preset npm ");
        assertThat(npm.rule().get().position()).hasToString("airlock.yaml:4:13");
        assertReason("npm preset lists 443 only", e.decide(EgressRequest.of("registry.npmjs.org", 80, ips("198.18.0.12"))),
                "port-not-allowed");
        assertReason("org preset", e.decide(EgressRequest.of("x.artifacts.acme.dev", 443, ips("198.18.0.70"))), "allowed");
    }

    @Test
    void compile_unknownPreset_isAnErrorAtThePresetsPosition() {
        assertThatThrownBy(() -> PolicyEngine.compile(Policies.project("""
                version: 1
                project: demo
                network:
                  presets: [github, npmjs]
                """), Policies.org(), Phase.RUN, List.of()))
                .isInstanceOf(PolicyException.class)
                .satisfies(e -> assertThat(((PolicyException) e).problems()).singleElement()
                        .satisfies(p -> assertThat(p.toString())
                                .startsWith("airlock.yaml:4:21: unknown preset \"npmjs\"")
                                .contains("npm").contains("acme-ci")));
    }

    // ---- suggestions -------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("suggestions")
    void suggestion_isTheYamlThatWouldAllowIt(String description, Decision d, String suggestion) {
        assertThat(d.suggestion()).as(description).isEqualTo(suggestion);
    }

    private static final String PRODUCTION_ADVICE = "cannot be allowed: it is in the organisation's production set; "
            + "instead: never: no sandbox reaches production, and no rule can change that";

    static Stream<Arguments> suggestions() {
        return Stream.of(
                Arguments.of("no rule, HTTPS", decide("example.org", 443, "198.18.0.99"), "- example.org"),
                Arguments.of("no rule, HTTP", decide("example.org", 80, "198.18.0.99"), "- example.org"),
                Arguments.of("no rule, another port", decide("example.org", 8080, "198.18.0.99"), "- example.org:8080"),
                Arguments.of("no rule, canonical name", decide("Example.ORG.", 22, "198.18.0.99"), "- example.org:22"),
                Arguments.of("port not allowed", decide("github.com", 8443, "198.18.0.10"), "- github.com:8443"),
                Arguments.of("protected address", decide("github.com", 443, "10.0.0.1"),
                        "- cidr: 10.0.0.1/32\n  ports: [443]"),
                Arguments.of("protected IPv6 address", decide("github.com", 443, "198.18.0.10 fd00:1::9"),
                        "- cidr: fd00:1::9/128\n  ports: [443]"),
                Arguments.of("IP literal", decide("198.18.0.10", 22, "-"),
                        "- cidr: 198.18.0.10/32\n  ports: [22]"),
                Arguments.of("production name", decide("api.acme.com", 443, "198.18.0.30"), PRODUCTION_ADVICE),
                Arguments.of("production address", decide("github.com", 443, "10.20.1.5"), PRODUCTION_ADVICE),
                Arguments.of("production IP literal", decide("10.20.1.5", 443, "-"), PRODUCTION_ADVICE),
                Arguments.of("allowed", decide("github.com", 443, "198.18.0.10"), ""));
    }

    @Test
    void suggestion_nonCanonicalLiteral_explainsTheCanonicalForm() {
        assertThat(decide("127.1", 443, "-").suggestion()).contains("canonical").doesNotStartWith("- ");
    }

    @Test
    void suggestion_denyRule_namesTheRuleToNarrow() {
        assertThat(decide("gist.githubusercontent.com", 443, "198.18.0.11").suggestion())
                .contains("gist.githubusercontent.com").contains("airlock.yaml:");
    }

    // ---- the Decision type itself ----------------------------------------------------------------

    @Test
    void decision_allowWithoutRuleOrAddresses_cannotBeBuilt() {
        assertThatThrownBy(() -> new Decision(Verdict.ALLOW, Reason.ALLOWED, "github.com", 443, Optional.empty(),
                ips("198.18.0.10"), Optional.empty(), "")).isInstanceOf(IllegalArgumentException.class);
        Rule rule = decide("github.com", 443, "198.18.0.10").rule().orElseThrow();
        assertThatThrownBy(() -> new Decision(Verdict.ALLOW, Reason.ALLOWED, "github.com", 443, Optional.of(rule),
                List.of(), Optional.empty(), "")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Decision(Verdict.ALLOW, Reason.NO_RULE, "github.com", 443, Optional.of(rule),
                ips("198.18.0.10"), Optional.empty(), "")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void decision_deniedWithAllowed_isRefused() {
        assertThatThrownBy(() -> Decision.denied(Reason.ALLOWED, "x", 1, "")).isInstanceOf(IllegalArgumentException.class);
        assertThat(Decision.denied(Reason.LIMIT, "github.com", 443, "too many tunnels").allowed()).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"allowed", "no-rule", "port-not-allowed", "deny-rule", "production", "protected-address",
        "ip-literal", "sni-mismatch", "no-sni", "not-tls", "dns-failure", "limit", "bad-request"})
    void reason_codesAreTheDocumentedVocabulary(String code) {
        assertThat(Stream.of(Reason.values()).map(r -> r.code)).contains(code);
    }
}
