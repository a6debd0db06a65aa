package dev.airlock.bench.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class ProcessProbeTest {

    /** Fields 1-15 of a real line, with utime 250 and stime 150 ticks. */
    private static String stat(String comm) {
        return "4242 (" + comm + ") S 1 4242 4242 0 -1 4194560 12345 0 0 0 250 150 0 0 20 0 30 0 123456 0 0";
    }

    @Test
    void cpuSeconds_plainName_sumsUserAndSystemTicks() {
        assertThat(ProcessProbe.cpuSeconds(stat("squid"))).isCloseTo(4.0, within(1e-9));
    }

    @Test
    void cpuSeconds_nameWithSpacesAndParentheses_stillFindsTheFields() {
        assertThat(ProcessProbe.cpuSeconds(stat("we (ird) name"))).isCloseTo(4.0, within(1e-9));
    }
}
