package dev.airlock.policy.address;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A host is a canonical IP literal, a name, or something that looks numeric but is not canonical.
 * The last class is where resolvers and URL parsers disagree (inet_aton accepts 127.1 and 0x7f.1),
 * so it is never parsed leniently: it is recognised, and the engine denies it.
 */
class IpLiteralsTest {

    @ParameterizedTest(name = "{0}: \"{1}\" is canonical {2}")
    @CsvSource(delimiter = '|', textBlock = """
        dotted quad                                  | 127.0.0.1                | 127.0.0.1
        all zeros                                    | 0.0.0.0                  | 0.0.0.0
        all ones                                     | 255.255.255.255          | 255.255.255.255
        single-digit octets                          | 1.2.3.4                  | 1.2.3.4
        IPv6 unspecified                             | ::                       | ::
        IPv6 loopback                                | ::1                      | ::1
        bracketed IPv6 loopback                      | [::1]                    | ::1
        bracketed unspecified                        | [::]                     | ::
        compressed in the middle                     | 2001:db8::1              | 2001:db8::1
        no zero run at all                           | 1:2:3:4:5:6:7:8          | 1:2:3:4:5:6:7:8
        a single zero group is not compressed        | 2001:db8:0:1:1:1:1:1     | 2001:db8:0:1:1:1:1:1
        the longer zero run is compressed            | 1:0:0:1::1               | 1:0:0:1::1
        on a tie, the first run is compressed        | 1::1:0:0:1:1             | 1::1:0:0:1:1
        trailing run                                 | 1::                      | 1::
        IPv4-mapped in mixed notation (RFC 5952 §5)  | ::ffff:127.0.0.1         | ::ffff:127.0.0.1
        bracketed IPv4-mapped                        | [::ffff:198.18.0.1]      | ::ffff:198.18.0.1
        NAT64                                        | 64:ff9b::a9fe:a9fe       | 64:ff9b::a9fe:a9fe
        link-local without a zone                    | fe80::1                  | fe80::1
        """)
    void shape_canonical(String description, String host, String formatted) {
        IpLiterals.Shape shape = IpLiterals.shape(host);
        assertThat(shape).as(description).isInstanceOf(IpLiterals.Canonical.class);
        assertThat(((IpLiterals.Canonical) shape).address()).hasToString(formatted);
    }

    @ParameterizedTest(name = "{0}: \"{1}\"")
    @CsvSource(delimiter = '|', textBlock = """
        # ---- IPv4 forms inet_aton accepts and Airlock refuses -----------------------------------------
        short form, two parts                        | 127.1
        short form, three parts                      | 127.0.1
        octal first octet                            | 0177.0.0.1
        octal everywhere                             | 0177.0000.0000.0001
        hex first octet                              | 0x7f.0.0.1
        hex, upper-case X                            | 0X7F.0.0.1
        hex integer                                  | 0x7f000001
        decimal integer                              | 2130706433
        octal integer                                | 017700000001
        leading zeros                                | 127.000.000.001
        one leading zero                             | 127.0.0.01
        trailing dot                                 | 127.0.0.1.
        leading dot                                  | .127.0.0.1
        empty octet                                  | 127..0.1
        five parts                                   | 1.2.3.4.5
        octet above 255                              | 256.1.1.1
        short form with hex tail                     | 0x7f.1
        bare zero                                    | 0
        bare 0x                                      | 0x
        # ---- the WHATWG rule: a numeric last label makes the whole host numeric ----------------------
        name with a numeric last label               | foo.123
        name with a hex last label                   | foo.0x1f
        three labels, numeric last                   | a.b.c.1
        # ---- IPv6 that is valid but not RFC 5952 -------------------------------------------------------
        uncompressed loopback, bracketed             | [0:0:0:0:0:0:0:1]
        uncompressed loopback                        | 0:0:0:0:0:0:0:1
        upper-case mapped, bracketed                 | [::FFFF:127.0.0.1]
        upper-case hex                               | 2001:DB8::1
        leading zeros in a group                     | 2001:0db8::1
        a shorter run compressed                     | 1::1:0:0:0:1
        a single zero compressed                     | 1:2:3:4:5:6:7::
        a leading single zero compressed             | ::2:3:4:5:6:7:8
        zero group written out beside ::             | 2001:db8::0:1
        mapped written in hex                        | ::ffff:7f00:1
        # ---- not IPv6 at all, or ambiguous ------------------------------------------------------------
        zone id                                      | fe80::1%eth0
        zone id, bracketed and percent-encoded       | [fe80::1%25eth0]
        unclosed bracket                             | [::1
        closing bracket only                         | ::1]
        empty brackets                               | []
        IPv4 in brackets                             | [127.0.0.1]
        two gaps                                     | 1::2::3
        three colons                                 | :::
        nine groups                                  | 1:2:3:4:5:6:7:8:9
        five hex digits in a group                   | 12345::
        not hex                                      | 2001:db8::g
        bracketed with a port                        | [::1]:443
        short IPv4 tail                              | ::ffff:127.1
        octal IPv4 tail                              | ::ffff:0177.0.0.1
        trailing colon                               | ::1:
        name with a port (smuggling)                 | evil.com:443.github.com
        """)
    void shape_nonCanonical(String description, String host) {
        assertThat(IpLiterals.shape(host)).as(description).isInstanceOf(IpLiterals.NonCanonical.class);
    }

    @ParameterizedTest(name = "\"{0}\" is a name")
    @ValueSource(strings = {"github.com", "localhost", "1e100.net", "123.example.com", "0x7f.example", "foo-123",
        "xn--bcher-kva.de", "api.github.com.", "a.b.0xg", ""})
    void shape_notNumeric(String host) {
        assertThat(IpLiterals.shape(host)).isInstanceOf(IpLiterals.NotNumeric.class);
    }

    @Test
    void shape_fullWidthDigits_areANameUntilMapped() {
        // The engine maps the name with UTS-46 first and then asks again; see PolicyEngineTest.
        assertThat(IpLiterals.shape("１２７.０.０.１")).isInstanceOf(IpLiterals.NotNumeric.class);
    }

    @Test
    void shape_nonCanonicalV6_namesTheCanonicalForm() {
        IpLiterals.NonCanonical n = (IpLiterals.NonCanonical) IpLiterals.shape("[0:0:0:0:0:0:0:1]");
        assertThat(n.why()).contains("::1");
    }

    @Test
    void parseCanonicalV4_acceptsOnlyFourDecimalOctets() {
        assertThat(IpLiterals.parseCanonicalV4("10.1.2.3")).hasValue(IpAddress.ipv4(0x0A010203));
        assertThat(IpLiterals.parseCanonicalV4("10.1.2")).isEmpty();
        assertThat(IpLiterals.parseCanonicalV4("10.1.2.3.")).isEmpty();
        assertThat(IpLiterals.parseCanonicalV4("10.1.2.03")).isEmpty();
        assertThat(IpLiterals.parseCanonicalV4("1000.1.2.3")).isEmpty();
        assertThat(IpLiterals.parseCanonicalV4("")).isEmpty();
    }

    @Test
    void parseV6_readsEveryTextualForm() {
        IpAddress loopback = IpAddress.ipv6(0, 1);
        assertThat(IpLiterals.parseV6("::1")).hasValue(loopback);
        assertThat(IpLiterals.parseV6("0:0:0:0:0:0:0:1")).hasValue(loopback);
        assertThat(IpLiterals.parseV6("0000:0000:0000:0000:0000:0000:0000:0001")).hasValue(loopback);
        assertThat(IpLiterals.parseV6("::0.0.0.1")).hasValue(loopback);
        assertThat(IpLiterals.parseV6("::FFFF:127.0.0.1")).hasValue(IpAddress.ipv6(0, 0xFFFF_7F00_0001L));
        assertThat(IpLiterals.parseV6("1::2::3")).isEmpty();
        assertThat(IpLiterals.parseV6("")).isEmpty();
    }

    @Test
    void format_followsRfc5952() {
        assertThat(IpLiterals.format(IpAddress.ipv6(0, 0))).isEqualTo("::");
        assertThat(IpLiterals.format(IpAddress.ipv6(0x2001_0DB8_0000_0000L, 1))).isEqualTo("2001:db8::1");
        assertThat(IpLiterals.format(IpAddress.ipv6(0x0001_0000_0000_0001L, 0x0000_0000_0000_0001L)))
                .isEqualTo("1:0:0:1::1");
        assertThat(IpLiterals.format(IpAddress.ipv6(0, 0xFFFF_0A00_0001L))).isEqualTo("::ffff:10.0.0.1");
        assertThat(IpLiterals.format(IpAddress.ipv4(0xC6120001))).isEqualTo("198.18.0.1");
    }

    // ---- properties --------------------------------------------------------------------------------

    @Property
    void format_isCanonicalAndRoundTrips(@ForAll("addresses") IpAddress a) {
        String text = IpLiterals.format(a);
        IpLiterals.Shape shape = IpLiterals.shape(text);
        assertThat(shape).isEqualTo(new IpLiterals.Canonical(a));
        assertThat(IpLiterals.format(((IpLiterals.Canonical) shape).address())).isEqualTo(text);
    }

    @Property
    void format_bracketedV6_isTheSameAddress(@ForAll("v6") IpAddress a) {
        assertThat(IpLiterals.shape("[" + IpLiterals.format(a) + "]")).isEqualTo(new IpLiterals.Canonical(a));
    }

    @Property
    void parseV6_ofAnyFormatting_findsTheAddress(@ForAll("v6") IpAddress a) {
        // The uncompressed, zero-padded, upper-case writing parses to the same bits, but only the
        // RFC 5952 writing is canonical.
        StringBuilder full = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            long word = i < 4 ? a.hi() >>> (48 - 16 * i) : a.lo() >>> (48 - 16 * (i - 4));
            full.append(i == 0 ? "" : ":").append(String.format("%04X", word & 0xFFFF));
        }
        assertThat(IpLiterals.parseV6(full.toString())).hasValue(a);
        if (!full.toString().equals(IpLiterals.format(a))) {
            assertThat(IpLiterals.shape(full.toString())).isInstanceOf(IpLiterals.NonCanonical.class);
        }
    }

    @Property
    void shape_v4WithALeadingZero_isNonCanonical(@ForAll("v4") IpAddress a, @ForAll("octet") int which) {
        String[] octets = IpLiterals.format(a).split("\\.");
        octets[which] = "0" + octets[which];
        assertThat(IpLiterals.shape(String.join(".", octets))).isInstanceOf(IpLiterals.NonCanonical.class);
    }

    @Property
    void shape_v4AsOneInteger_isNonCanonical(@ForAll("v4") IpAddress a) {
        assertThat(IpLiterals.shape(Long.toString(a.lo()))).isInstanceOf(IpLiterals.NonCanonical.class);
        assertThat(IpLiterals.shape("0x" + Long.toHexString(a.lo()))).isInstanceOf(IpLiterals.NonCanonical.class);
    }

    @Provide
    Arbitrary<Integer> octet() {
        return Arbitraries.integers().between(0, 3);
    }

    @Provide
    Arbitrary<IpAddress> addresses() {
        return Arbitraries.oneOf(v4(), v6());
    }

    @Provide
    Arbitrary<IpAddress> v4() {
        return Arbitraries.integers().map(IpAddress::ipv4);
    }

    /** IPv6 with groups biased to zero, so compression and its ties are exercised, and some mapped. */
    @Provide
    Arbitrary<IpAddress> v6() {
        Arbitrary<Long> group = Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.just(0L)),
                Tuple.of(2, Arbitraries.longs().between(0, 0xFFFF)),
                Tuple.of(1, Arbitraries.of(1L, 0xFFFFL)));
        Arbitrary<Long> half = Combinators.combine(group, group, group, group)
                .as((a, b, c, d) -> (a << 48) | (b << 32) | (c << 16) | d);
        Arbitrary<IpAddress> general = Combinators.combine(half, half).as(IpAddress::ipv6);
        Arbitrary<IpAddress> mapped = Arbitraries.integers().map(v -> IpAddress.ipv6(0, 0xFFFF_0000_0000L | (v & 0xFFFF_FFFFL)));
        return Arbitraries.frequencyOf(Tuple.of(5, general), Tuple.of(1, mapped));
    }
}
