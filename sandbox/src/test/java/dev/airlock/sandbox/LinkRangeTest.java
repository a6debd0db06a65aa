package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.policy.address.Cidr;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class LinkRangeTest {

    private static final LinkRange R = LinkRange.DEFAULT;

    @Test
    void default_is100_96Slash16_in16384Slots() {
        assertThat(R.range()).isEqualTo(Cidr.of("100.96.0.0/16"));
        assertThat(R.slots()).isEqualTo(16384);
    }

    @ParameterizedTest(name = "slot {0}: {1}, host {2}, sandbox {3}")
    @CsvSource({
            "0,     100.96.0.0/30,     100.96.0.1,     100.96.0.2",
            "1,     100.96.0.4/30,     100.96.0.5,     100.96.0.6",
            "63,    100.96.0.252/30,   100.96.0.253,   100.96.0.254",   // last /30 of the first /24
            "64,    100.96.1.0/30,     100.96.1.1,     100.96.1.2",     // carries into the third octet
            "16383, 100.96.255.252/30, 100.96.255.253, 100.96.255.254", // the range's last /30
    })
    void slot_mathIsSlash30s(int i, String link, String host, String sandbox) {
        assertThat(R.slot(i)).isEqualTo(Cidr.of(link));
        assertThat(R.hostAddress(i)).isEqualTo(Cidr.of(host).network());
        assertThat(R.sandboxAddress(i)).isEqualTo(Cidr.of(sandbox).network());
        assertThat(R.indexOf(R.slot(i))).hasValue(i);
    }

    @Test
    void slot_outsideTheRange_isRefused() {
        assertThatThrownBy(() -> R.slot(16384)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> R.slot(-1)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void slots_neverCollide_andStayInTheRange() {
        Set<Cidr> seen = new HashSet<>();
        Set<Object> addresses = new HashSet<>();
        for (int i = 0; i < R.slots(); i++) {
            Cidr s = R.slot(i);
            assertThat(seen.add(s)).as("slot %d repeats %s", i, s).isTrue();
            assertThat(R.range().covers(s)).isTrue();
            // network and broadcast are never handed out; host and sandbox are inside the /30
            assertThat(s.contains(R.hostAddress(i)) && s.contains(R.sandboxAddress(i))).isTrue();
            assertThat(R.hostAddress(i)).isNotEqualTo(s.network());
            assertThat(addresses.add(R.hostAddress(i)) && addresses.add(R.sandboxAddress(i))).isTrue();
        }
    }

    @Test
    void firstFree_skipsUsedSlots_andReportsAFullRange() {
        assertThat(R.firstFree(Set.of())).hasValue(0);
        assertThat(R.firstFree(Set.of(0, 1, 3))).hasValue(2);
        LinkRange tiny = new LinkRange(Cidr.of("100.96.0.0/29"));
        assertThat(tiny.slots()).isEqualTo(2);
        assertThat(tiny.firstFree(Set.of(0, 1))).isEmpty();
        assertThat(tiny.firstFree(Set.copyOf(IntStream.range(0, 1).boxed().toList()))).hasValue(1);
    }

    @Test
    void indexOf_foreignOrMisalignedLinks_isEmpty() {
        assertThat(R.indexOf(Cidr.of("100.97.0.0/30"))).isEmpty();
        assertThat(R.indexOf(Cidr.of("100.96.0.0/29"))).isEmpty();
    }

    @ParameterizedTest(name = "{0} refused")
    @CsvSource({
            "198.18.0.0/15",   // the test hosts' range itself
            "198.19.0.0/16",   // inside it
            "198.18.77.0/30",  // a single /30 inside it
            "198.0.0.0/8",     // covering it
            "127.0.0.0/16",    // loopback
            "169.254.0.0/24",  // link-local and metadata
            "224.0.0.0/24",    // multicast
            "0.0.0.0/16",      // this network
            "100.96.0.0/31",   // no room for a /30
            "fd00::/64",       // IPv6: sandboxes have none
    })
    void linkRange_refusedRanges(String cidr) {
        assertThatThrownBy(() -> new LinkRange(Cidr.of(cidr))).isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest(name = "{0} allowed")
    @CsvSource({
            "198.17.255.252/30", // just below 198.18.0.0/15
            "198.20.0.0/30",     // just above it
            "10.77.0.0/16",
            "100.96.0.0/30",     // one sandbox
    })
    void linkRange_neighboursOfRefusedRanges_areAllowed(String cidr) {
        assertThat(new LinkRange(Cidr.of(cidr)).range()).isEqualTo(Cidr.of(cidr));
    }
}
