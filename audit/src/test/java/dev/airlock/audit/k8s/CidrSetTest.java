package dev.airlock.audit.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.address.IpAddress;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

class CidrSetTest {

    private static CidrSet set(String... cidrs) {
        return CidrSet.of(java.util.Arrays.stream(cidrs).map(Cidr::of).toList());
    }

    private static List<String> text(CidrSet s) {
        return s.toCidrs().stream().map(Cidr::toString).toList();
    }

    @Test
    void minus_aHoleInTheMiddle_leavesTheFewestCidrsAroundIt() {
        assertThat(text(set("10.0.0.0/8").minus(set("10.20.0.0/16"))))
                .containsExactly("10.0.0.0/12", "10.16.0.0/14", "10.21.0.0/16", "10.22.0.0/15", "10.24.0.0/13",
                        "10.32.0.0/11", "10.64.0.0/10", "10.128.0.0/9");
    }

    @Test
    void minus_anExceptThatMissesPartOfARange_leavesThatPart() {
        assertThat(text(set("10.20.0.0/16").minus(set("10.20.0.0/17")))).containsExactly("10.20.128.0/17");
    }

    @Test
    void union_adjacentHalves_mergeIntoOne() {
        assertThat(text(set("10.20.0.0/17", "10.20.128.0/17"))).containsExactly("10.20.0.0/16");
    }

    @Test
    void intersect_keepsFamiliesApart() {
        CidrSet all = CidrSet.all();
        assertThat(text(all.intersect(set("2001:db8:20::/48")))).containsExactly("2001:db8:20::/48");
        assertThat(set("0.0.0.0/0").intersect(set("::/0")).isEmpty()).isTrue();
    }

    @Test
    void all_isBothWholeFamilies() {
        assertThat(text(CidrSet.all())).containsExactly("0.0.0.0/0", "::/0");
        assertThat(CidrSet.all().minus(CidrSet.all()).isEmpty()).isTrue();
    }

    @Test
    void minus_atTheTopOfIpv6_staysWithin128Bits() {
        assertThat(text(set("ffff::/16").minus(set("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"))))
                .hasSize(112)
                .first().isEqualTo("ffff::/17");
    }

    // ---------------------------------------------------------------- properties

    @Provide
    Arbitrary<Cidr> v4() {
        // Within 10.0.0.0/24 so that random sets overlap often.
        return Combinators.combine(Arbitraries.integers().between(0, 255), Arbitraries.integers().between(24, 32))
                .as((host, len) -> new Cidr(IpAddress.ipv4(0x0A00_0000 | host), len));
    }

    @Provide
    Arbitrary<List<Cidr>> v4s() {
        return v4().list().ofMaxSize(5);
    }

    @Property
    void minusIntersectUnion_agreeWithMembershipOfEveryAddress(@ForAll("v4s") List<Cidr> a, @ForAll("v4s") List<Cidr> b) {
        CidrSet sa = CidrSet.of(a);
        CidrSet sb = CidrSet.of(b);
        CidrSet minus = sa.minus(sb);
        CidrSet inter = sa.intersect(sb);
        CidrSet union = sa.union(sb);
        for (int host = 0; host < 256; host++) {
            IpAddress x = IpAddress.ipv4(0x0A00_0000 | host);
            boolean inA = a.stream().anyMatch(c -> c.contains(x));
            boolean inB = b.stream().anyMatch(c -> c.contains(x));
            assertThat(minus.contains(x)).isEqualTo(inA && !inB);
            assertThat(inter.contains(x)).isEqualTo(inA && inB);
            assertThat(union.contains(x)).isEqualTo(inA || inB);
        }
    }

    @Property
    void toCidrs_roundTripsAndIsDisjointAndMinimal(@ForAll("v4s") List<Cidr> a, @ForAll("v4s") List<Cidr> b) {
        CidrSet s = CidrSet.of(a).minus(CidrSet.of(b));
        List<Cidr> cidrs = s.toCidrs();
        assertThat(CidrSet.of(cidrs)).isEqualTo(s);
        for (int i = 0; i < cidrs.size(); i++) {
            for (int j = i + 1; j < cidrs.size(); j++) {
                assertThat(cidrs.get(i).overlaps(cidrs.get(j))).isFalse();
                // Two sibling halves would be one CIDR: minimal output never has them.
                Cidr x = cidrs.get(i);
                Cidr y = cidrs.get(j);
                boolean siblings = x.prefixLength() == y.prefixLength() && x.prefixLength() > 0
                        && new Cidr(x.network(), x.prefixLength() - 1).equals(new Cidr(y.network(), y.prefixLength() - 1));
                assertThat(siblings).as("%s and %s could merge", x, y).isFalse();
            }
        }
    }
}
