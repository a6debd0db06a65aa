package dev.airlock.policy.address;

import static dev.airlock.policy.address.AddressClassifierTest.ip;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The prefix tree behind every CIDR rule, and the strict CIDR syntax rules are written in. */
class CidrTrieTest {

    private static CidrTrie<String> trie(String... cidrs) {
        CidrTrie<String> t = new CidrTrie<>();
        for (String c : cidrs) {
            t.put(Cidr.of(c), c);
        }
        return t.freeze();
    }

    @Test
    void matches_returnsEveryContainingPrefix_shortestFirst() {
        CidrTrie<String> t = trie("10.20.1.0/24", "0.0.0.0/0", "10.0.0.0/8", "10.20.0.0/16", "10.20.1.5/32");
        assertThat(t.matches(ip("10.20.1.5")))
                .containsExactly("0.0.0.0/0", "10.0.0.0/8", "10.20.0.0/16", "10.20.1.0/24", "10.20.1.5/32");
        assertThat(t.matches(ip("10.20.2.1"))).containsExactly("0.0.0.0/0", "10.0.0.0/8", "10.20.0.0/16");
        assertThat(t.matches(ip("11.0.0.0"))).containsExactly("0.0.0.0/0");
    }

    @Test
    void longestMatch_isTheMostSpecificPrefix() {
        CidrTrie<String> t = trie("169.254.0.0/16", "169.254.169.254/32");
        assertThat(t.longestMatch(ip("169.254.169.254"))).isEqualTo("169.254.169.254/32");
        assertThat(t.longestMatch(ip("169.254.169.253"))).isEqualTo("169.254.0.0/16");
        assertThat(t.longestMatch(ip("169.255.0.0"))).isNull();
    }

    @Test
    void matches_keepsTheFamiliesApart() {
        // ::/0 does not contain 0.0.0.0/8 addresses, and 0.0.0.0/0 contains no IPv6 address.
        CidrTrie<String> t = trie("0.0.0.0/0", "::/0");
        assertThat(t.matches(ip("127.0.0.1"))).containsExactly("0.0.0.0/0");
        assertThat(t.matches(ip("::ffff:127.0.0.1"))).containsExactly("::/0");
    }

    @Test
    void matches_hostRoute_atFullDepth() {
        CidrTrie<String> t = trie("2001:db8::1/128", "255.255.255.255/32");
        assertThat(t.matches(ip("2001:db8::1"))).containsExactly("2001:db8::1/128");
        assertThat(t.matches(ip("2001:db8::2"))).isEmpty();
        assertThat(t.matches(ip("255.255.255.255"))).containsExactly("255.255.255.255/32");
    }

    @Test
    void matches_samePrefixTwice_keepsBothInInsertionOrder() {
        CidrTrie<String> t = new CidrTrie<>();
        t.put(Cidr.of("10.0.0.0/8"), "first");
        t.put(Cidr.of("10.0.0.0/8"), "second");
        assertThat(t.freeze().matches(ip("10.1.1.1"))).containsExactly("first", "second");
        assertThat(t.longestMatch(ip("10.1.1.1"))).isEqualTo("first");
        assertThat(t.size()).isEqualTo(2);
    }

    @Test
    void put_afterFreeze_isRefused() {
        CidrTrie<String> t = trie("10.0.0.0/8");
        assertThatThrownBy(() -> t.put(Cidr.of("11.0.0.0/8"), "x")).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void emptyTrie_matchesNothing() {
        assertThat(new CidrTrie<String>().matches(ip("1.1.1.1"))).isEmpty();
        assertThat(new CidrTrie<String>().longestMatch(ip("::1"))).isNull();
    }

    // ---- Cidr ---------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', textBlock = """
        an IPv4 network               | 10.0.0.0/8
        the whole IPv4 space          | 0.0.0.0/0
        a host route                  | 198.18.7.5/32
        an IPv6 network               | 2001:db8:20::/48
        the whole IPv6 space          | ::/0
        an IPv6 host route            | fd00:ec2::254/128
        """)
    void parse_accepts(String description, String text) {
        assertThat(Cidr.parse(text)).as(description).isPresent();
        assertThat(Cidr.of(text)).hasToString(text);
    }

    @Test
    void parse_bareAddress_isAHostRoute() {
        assertThat(Cidr.parse("198.18.7.5")).hasValue(Cidr.of("198.18.7.5/32"));
        assertThat(Cidr.parse("::1")).hasValue(Cidr.of("::1/128"));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', textBlock = """
        host bits set                          | 10.0.0.1/8
        IPv6 host bits set                     | 2001:db8::1/32
        prefix longer than 32                  | 10.0.0.0/33
        prefix longer than 128                 | ::/129
        leading zero in the prefix             | 10.0.0.0/08
        empty prefix                           | 10.0.0.0/
        signed prefix                          | 10.0.0.0/+8
        non-canonical address                  | 010.0.0.0/8
        short-form address                     | 10.1/16
        bracketed IPv6                         | [::1]/128
        upper-case IPv6                        | 2001:DB8::/32
        a name                                 | github.com/32
        """)
    void parse_refuses(String description, String text) {
        assertThat(Cidr.parse(text)).as(description).isEmpty();
    }

    @Test
    void contains_coversAndOverlaps() {
        Cidr sixteen = Cidr.of("10.20.0.0/16");
        Cidr twentyFour = Cidr.of("10.20.1.0/24");
        Cidr other = Cidr.of("10.21.0.0/16");
        assertThat(sixteen.contains(ip("10.20.255.255"))).isTrue();
        assertThat(sixteen.contains(ip("10.21.0.0"))).isFalse();
        assertThat(sixteen.contains(ip("::ffff:10.20.0.1"))).as("a mapped address is another family").isFalse();
        assertThat(sixteen.covers(twentyFour)).isTrue();
        assertThat(twentyFour.covers(sixteen)).isFalse();
        assertThat(twentyFour.overlaps(sixteen)).isTrue();
        assertThat(sixteen.overlaps(other)).isFalse();
        assertThat(Cidr.of("0.0.0.0/0").covers(Cidr.of("::/0"))).isFalse();
    }

    @Test
    void constructor_clearsHostBits() {
        assertThat(new Cidr(ip("10.20.1.5"), 16)).isEqualTo(Cidr.of("10.20.0.0/16"));
        assertThat(Cidr.host(ip("fd00:ec2::254"))).hasToString("fd00:ec2::254/128");
    }
}
