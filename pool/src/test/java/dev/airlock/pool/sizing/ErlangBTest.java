package dev.airlock.pool.sizing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Erlang-B against published table values (checked with the closed form a^S/S! / Σ a^k/k! in exact
 * rational arithmetic) and its defining properties.
 */
class ErlangBTest {

    @ParameterizedTest(name = "B({0}, {1}) = {2}")
    @CsvSource({
        "0,   7,   1.0",                  // no servers: every arrival is blocked
        "1,   1,   0.5",
        "2,   1,   0.2",
        "3,   2,   0.21052631578947367",  // 4/19
        "5,   3,   0.11005434782608696",
        "10,  5,   0.018384570336648132", // the textbook 0.01838
        "20,  15,  0.04559321558981184",
        "50,  40,  0.01869067110963225",
        "100, 80,  0.003992028604553197", // 80^100/100! overflows a double: only the recurrence gets here
    })
    void blocking_matchesTableValues(int servers, double load, double expected) {
        assertThat(ErlangB.blocking(servers, load)).isCloseTo(expected, within(1e-12));
    }

    @ParameterizedTest(name = "servers={0}, load={1}")
    @CsvSource({"-1, 1", "1, -0.1", "1, NaN", "1, Infinity"})
    void blocking_badArguments_refused(int servers, double load) {
        assertThatThrownBy(() -> ErlangB.blocking(servers, load)).isInstanceOf(IllegalArgumentException.class);
    }

    @Property
    void blocking_noServers_isOne(@ForAll @DoubleRange(min = 0, max = 1000) double load) {
        assertThat(ErlangB.blocking(0, load)).isEqualTo(1.0);
    }

    @Property
    void blocking_isAProbability(@ForAll @IntRange(min = 0, max = 2000) int servers, @ForAll @DoubleRange(min = 0, max = 5000) double load) {
        assertThat(ErlangB.blocking(servers, load)).isBetween(0.0, 1.0);
    }

    @Property
    void blocking_decreasesWithServers(@ForAll @IntRange(min = 0, max = 500) int servers,
            @ForAll @DoubleRange(min = 0.01, max = 50) double load) {
        double b = ErlangB.blocking(servers, load);
        double next = ErlangB.blocking(servers + 1, load);
        // Strictly smaller while B is a normal double; far out it underflows to 0 and can only stay there.
        if (b > Double.MIN_NORMAL) {
            assertThat(next).isLessThan(b);
        } else {
            assertThat(next).isLessThanOrEqualTo(b);
        }
    }

    @Property
    void blocking_increasesWithLoad(@ForAll @IntRange(min = 1, max = 60) int servers,
            @ForAll @DoubleRange(min = 0.01, max = 50) double load, @ForAll @DoubleRange(min = 0.01, max = 5) double more) {
        assertThat(ErlangB.blocking(servers, load + more)).isGreaterThan(ErlangB.blocking(servers, load));
    }

    @Property
    void blocking_zeroLoad_neverBlocksAServer(@ForAll @IntRange(min = 1, max = 1000) int servers) {
        assertThat(ErlangB.blocking(servers, 0)).isEqualTo(0.0);
    }

    /** The carried load a(1 − B) can never exceed the servers there are, nor the load offered. */
    @Property
    void meanBusy_atMostServersAndLoad(@ForAll @IntRange(min = 0, max = 200) int servers,
            @ForAll @DoubleRange(min = 0, max = 300) double load) {
        double busy = ErlangB.meanBusy(servers, load);
        assertThat(busy).isLessThanOrEqualTo(servers + 1e-9).isLessThanOrEqualTo(load + 1e-9);
    }
}
