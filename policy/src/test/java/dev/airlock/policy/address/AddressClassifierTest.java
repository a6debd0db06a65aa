package dev.airlock.policy.address;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The address gate's classifier, as a table: the first and last address of every protected range,
 * the address just outside it, and every way an IPv6 address can carry an IPv4 one. The classifier
 * is built with an Airlock link range of 10.200.0.0/16 and fd42:a1::/64, as the gateway would pass
 * its own and its sandboxes' links.
 */
class AddressClassifierTest {

    private static final List<Cidr> LINKS = List.of(Cidr.of("10.200.0.0/16"), Cidr.of("fd42:a1::/64"));
    private static final AddressClassifier CLASSIFIER = new AddressClassifier(LINKS);

    @ParameterizedTest(name = "{0}: {1} is {2}")
    @CsvSource(delimiter = '|', textBlock = """
        # ---- IPv4: this network, unspecified --------------------------------------------------------
        the unspecified address                            | 0.0.0.0                 | UNSPECIFIED
        first of 0/8 after the unspecified address         | 0.0.0.1                 | THIS_NETWORK
        last of 0/8                                        | 0.255.255.255           | THIS_NETWORK
        just outside 0/8                                   | 1.0.0.0                 | PUBLIC
        # ---- RFC 1918 10/8 ---------------------------------------------------------------------------
        just below 10/8                                    | 9.255.255.255           | PUBLIC
        first of 10/8                                      | 10.0.0.0                | PRIVATE
        last of 10/8                                       | 10.255.255.255          | PRIVATE
        just above 10/8                                    | 11.0.0.0                | PUBLIC
        # ---- CGNAT 100.64/10 -------------------------------------------------------------------------
        just below CGNAT                                   | 100.63.255.255          | PUBLIC
        first of CGNAT                                     | 100.64.0.0              | CGNAT
        last of CGNAT                                      | 100.127.255.255         | CGNAT
        just outside CGNAT                                 | 100.128.0.0             | PUBLIC
        # ---- loopback 127/8 --------------------------------------------------------------------------
        just below loopback                                | 126.255.255.255         | PUBLIC
        first of loopback                                  | 127.0.0.0               | LOOPBACK
        the usual loopback                                 | 127.0.0.1               | LOOPBACK
        last of loopback                                   | 127.255.255.255         | LOOPBACK
        just above loopback                                | 128.0.0.0               | PUBLIC
        # ---- link-local and metadata -----------------------------------------------------------------
        just below link-local                              | 169.253.255.255         | PUBLIC
        first of link-local                                | 169.254.0.0             | LINK_LOCAL
        plain link-local                                   | 169.254.0.1             | LINK_LOCAL
        beside the metadata service                        | 169.254.169.253         | LINK_LOCAL
        cloud metadata (IMDS), more specific than /16      | 169.254.169.254         | METADATA
        AWS ECS task metadata                              | 169.254.170.2           | METADATA
        last of link-local                                 | 169.254.255.255         | LINK_LOCAL
        just above link-local                              | 169.255.0.0             | PUBLIC
        Azure WireServer looks public but is host-local    | 168.63.129.16           | METADATA
        # ---- RFC 1918 172.16/12 ----------------------------------------------------------------------
        just below 172.16/12                               | 172.15.255.255          | PUBLIC
        first of 172.16/12                                 | 172.16.0.0              | PRIVATE
        last of 172.16/12                                  | 172.31.255.255          | PRIVATE
        just above 172.16/12                               | 172.32.0.0              | PUBLIC
        # ---- 192.0.0/24 and RFC 1918 192.168/16 ------------------------------------------------------
        IETF protocol assignments                          | 192.0.0.8               | RESERVED
        just above 192.0.0/24                              | 192.0.1.0               | PUBLIC
        just below 192.168/16                              | 192.167.255.255         | PUBLIC
        first of 192.168/16                                | 192.168.0.0             | PRIVATE
        last of 192.168/16                                 | 192.168.255.255         | PRIVATE
        just above 192.168/16                              | 192.169.0.0             | PUBLIC
        # ---- ranges that are NOT protected -----------------------------------------------------------
        benchmark range 198.18/15 is not protected         | 198.18.0.1              | PUBLIC
        last of the benchmark range                        | 198.19.255.255          | PUBLIC
        TEST-NET-3 is not protected                        | 203.0.113.7             | PUBLIC
        a public resolver                                  | 8.8.8.8                 | PUBLIC
        # ---- multicast, reserved, broadcast ----------------------------------------------------------
        just below multicast                               | 223.255.255.255         | PUBLIC
        first of multicast                                 | 224.0.0.0               | MULTICAST
        last of multicast                                  | 239.255.255.255         | MULTICAST
        first of class E                                   | 240.0.0.0               | RESERVED
        last of class E below broadcast                    | 255.255.255.254         | RESERVED
        limited broadcast                                  | 255.255.255.255         | BROADCAST
        # ---- IPv6 ------------------------------------------------------------------------------------
        IPv6 unspecified                                   | ::                      | UNSPECIFIED
        IPv6 loopback                                      | ::1                     | LOOPBACK
        discard-only prefix                                | 100::1                  | RESERVED
        just below ULA                                     | fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff | PUBLIC
        first of ULA                                       | fc00::                  | ULA
        ULA fc00::1                                        | fc00::1                 | ULA
        ULA fd00::1                                        | fd00::1                 | ULA
        AWS IMDS over IPv6                                 | fd00:ec2::254           | METADATA
        beside AWS IMDS over IPv6                          | fd00:ec2::253           | ULA
        last of ULA                                        | fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff | ULA
        link-local                                         | fe80::1                 | LINK_LOCAL
        last of link-local                                 | febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff | LINK_LOCAL
        site-local (deprecated, still routed)              | fec0::1                 | SITE_LOCAL
        all-nodes multicast                                | ff02::1                 | MULTICAST
        first of multicast                                 | ff00::                  | MULTICAST
        a public IPv6 address                              | 2606:4700:4700::1111    | PUBLIC
        the documentation prefix is not protected          | 2001:db8::1             | PUBLIC
        # ---- IPv4 embedded in IPv6: the strictest view wins ------------------------------------------
        IPv4-mapped loopback                               | ::ffff:127.0.0.1        | LOOPBACK
        IPv4-mapped metadata                               | ::ffff:169.254.169.254  | METADATA
        IPv4-mapped unspecified                            | ::ffff:0.0.0.0          | UNSPECIFIED
        IPv4-mapped public stays public                    | ::ffff:198.18.0.1       | PUBLIC
        IPv4-compatible loopback ::127.0.0.1               | ::7f00:1                | LOOPBACK
        IPv4-compatible private                            | ::a00:1                 | PRIVATE
        IPv4-compatible public stays public                | ::c612:1                | PUBLIC
        NAT64 well-known prefix, metadata                  | 64:ff9b::a9fe:a9fe      | METADATA
        NAT64 well-known prefix, loopback                  | 64:ff9b::7f00:1         | LOOPBACK
        NAT64 well-known prefix, public stays public       | 64:ff9b::c612:1         | PUBLIC
        NAT64 local-use prefix, private                    | 64:ff9b:1::a00:1        | PRIVATE
        NAT64 local-use prefix, public stays public        | 64:ff9b:1::c612:1       | PUBLIC
        6to4 of loopback                                   | 2002:7f00:1::           | LOOPBACK
        6to4 of metadata                                   | 2002:a9fe:a9fe::1       | METADATA
        6to4 of a public address stays public              | 2002:c612:1::1          | PUBLIC
        # Teredo: server in bits 32-63; client in the last 32 bits, inverted (~198.18.0.1 = 39ed:fffe)
        Teredo with a loopback server                      | 2001:0:7f00:1::39ed:fffe  | LOOPBACK
        Teredo with a loopback client (~127.0.0.1)         | 2001:0:c612:2::80ff:fffe  | LOOPBACK
        Teredo with a private client (~10.0.0.1)           | 2001:0:c612:2::f5ff:fffe  | PRIVATE
        Teredo with a metadata server                      | 2001:0:a9fe:a9fe::39ed:fffe | METADATA
        Teredo, public server and client, stays public     | 2001:0:c612:2::39ed:fffe  | PUBLIC
        # ---- the edges of each embedding prefix (issue 18 f): first, last, just outside --------------
        first of NAT64 well-known (carries 0.0.0.0)        | 64:ff9b::               | UNSPECIFIED
        last of NAT64 well-known (carries 255.255.255.255) | 64:ff9b::ffff:ffff      | BROADCAST
        just above NAT64 well-known /96                    | 64:ff9b::1:0:0          | PUBLIC
        just below NAT64 well-known                        | 64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff | PUBLIC
        just outside NAT64: 64:ff9c::1                     | 64:ff9c::1              | PUBLIC
        first of NAT64 local-use (carries 0.0.0.0)         | 64:ff9b:1::             | UNSPECIFIED
        last of NAT64 local-use (carries 255.255.255.255)  | 64:ff9b:1:ffff:ffff:ffff:ffff:ffff | BROADCAST
        just above NAT64 local-use /48                     | 64:ff9b:2::             | PUBLIC
        first of 6to4 (carries 0.0.0.0)                   | 2002::                  | UNSPECIFIED
        last of 6to4 (carries 255.255.255.255)             | 2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff | BROADCAST
        just below 6to4                                    | 2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff | PUBLIC
        just above 6to4                                    | 2003::                  | PUBLIC
        first of Teredo (server 0.0.0.0)                   | 2001::                  | UNSPECIFIED
        last of Teredo (server 255.255.255.255)            | 2001:0:ffff:ffff:ffff:ffff:ffff:ffff | BROADCAST
        just above Teredo                                  | 2001:1::                | PUBLIC
        Teredo with a multicast client (~224.0.0.1)        | 2001:0:c612:2::1fff:fffe | MULTICAST
        # ---- Airlock's own links, passed to the constructor ------------------------------------------
        Airlock link inside private space is named as ours | 10.200.0.1              | AIRLOCK_LINK
        last of the Airlock link range                     | 10.200.255.255          | AIRLOCK_LINK
        just below the Airlock link range                  | 10.199.255.255          | PRIVATE
        just above the Airlock link range                  | 10.201.0.0              | PRIVATE
        Airlock IPv6 link                                  | fd42:a1::1              | AIRLOCK_LINK
        beside the Airlock IPv6 link                       | fd42:a2::1              | ULA
        Airlock link, IPv4-mapped                          | ::ffff:10.200.0.1       | AIRLOCK_LINK
        Airlock link, through NAT64                        | 64:ff9b::ac8:1          | AIRLOCK_LINK
        """)
    void classify_table(String description, String address, AddressClass expected) {
        assertThat(CLASSIFIER.classify(ip(address))).as(description).isEqualTo(expected);
    }

    @Test
    void classify_withoutAirlockLinks_namesTheRangeByItsOwnClass() {
        AddressClassifier plain = new AddressClassifier();
        assertThat(plain.classify(ip("10.200.0.1"))).isEqualTo(AddressClass.PRIVATE);
        assertThat(plain.classify(ip("fd42:a1::1"))).isEqualTo(AddressClass.ULA);
    }

    @Test
    void classify_publicAirlockLink_isStillProtected() {
        // A link range outside private space (some hosts number veths from public blocks).
        AddressClassifier c = new AddressClassifier(List.of(Cidr.of("198.18.200.0/24")));
        assertThat(c.classify(ip("198.18.200.9"))).isEqualTo(AddressClass.AIRLOCK_LINK);
        assertThat(c.classify(ip("198.18.201.9"))).isEqualTo(AddressClass.PUBLIC);
    }

    @Test
    void addressClass_onlyPublicIsOpenByDefault() {
        assertThat(Arrays.stream(AddressClass.values()).filter(c -> !c.protectedByDefault))
                .containsExactly(AddressClass.PUBLIC);
    }

    @Test
    void addressClass_labelsAreUniqueBoundedMetricValues() {
        Set<String> labels = Arrays.stream(AddressClass.values()).map(c -> c.label).collect(Collectors.toSet());
        assertThat(labels).hasSize(AddressClass.values().length);
        assertThat(labels).allMatch(l -> l.matches("[a-z][a-z-]{1,20}"));
    }

    @Test
    void views_ofIpv4_isTheAddressAlone() {
        assertThat(AddressClassifier.views(ip("127.0.0.1"))).containsExactly(ip("127.0.0.1"));
        assertThat(AddressClassifier.embeddedV4(ip("127.0.0.1"))).isEmpty();
    }

    @Test
    void views_ofPlainIpv6_isTheAddressAlone() {
        assertThat(AddressClassifier.views(ip("2606:4700:4700::1111"))).containsExactly(ip("2606:4700:4700::1111"));
    }

    @Test
    void views_ofTeredo_areTheAddressTheServerAndTheUninvertedClient() {
        assertThat(AddressClassifier.views(ip("2001:0:c612:2::80ff:fffe")))
                .containsExactly(ip("2001:0:c612:2::80ff:fffe"), ip("198.18.0.2"), ip("127.0.0.1"));
    }

    @Test
    void embeddedV4_ofEachMechanism_isTheCarriedAddress() {
        assertThat(AddressClassifier.embeddedV4(ip("::ffff:10.1.2.3"))).containsExactly(ip("10.1.2.3"));
        assertThat(AddressClassifier.embeddedV4(ip("::a01:203"))).containsExactly(ip("10.1.2.3"));
        assertThat(AddressClassifier.embeddedV4(ip("64:ff9b::a01:203"))).containsExactly(ip("10.1.2.3"));
        assertThat(AddressClassifier.embeddedV4(ip("64:ff9b:1::a01:203"))).containsExactly(ip("10.1.2.3"));
        assertThat(AddressClassifier.embeddedV4(ip("2002:a01:203::1"))).containsExactly(ip("10.1.2.3"));
    }

    @Test
    void embeddedV4_ofUnspecifiedAndLoopback_isNothing() {
        // :: and ::1 are themselves, not IPv4-compatible forms of 0.0.0.0 and 0.0.0.1.
        assertThat(AddressClassifier.embeddedV4(ip("::"))).isEmpty();
        assertThat(AddressClassifier.embeddedV4(ip("::1"))).isEmpty();
    }

    static IpAddress ip(String text) {
        IpLiterals.Shape s = IpLiterals.shape(text);
        assertThat(s).as("test address %s must be canonical", text).isInstanceOf(IpLiterals.Canonical.class);
        return ((IpLiterals.Canonical) s).address();
    }
}
