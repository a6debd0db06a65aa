package dev.airlock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DaemonPreloadTest {

    @Test
    void preloadsOnADaemonThreadThatEnds_soItNeverHoldsTheDaemonsStartOrExit() throws InterruptedException {
        Thread preload = DaemonPreload.start();

        assertThat(preload.isDaemon()).isTrue();
        assertThat(preload.getName()).isEqualTo("airlock-preload");
        assertThat(preload.join(Duration.ofMinutes(2))).as("the preload ended").isTrue();
    }
}
