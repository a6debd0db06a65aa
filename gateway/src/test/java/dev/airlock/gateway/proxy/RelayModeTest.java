package dev.airlock.gateway.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The relay's one line at start: what it does with a tunnel's bytes, and whether that is below its settings. */
class RelayModeTest {

    private static final PipeSizing RESIZES = (fd, bytes) -> bytes;

    @Test
    void of_epollAndResizablePipes_splicesThroughLargePipes() {
        RelayMode m = RelayMode.of(Optional.empty(), new SpliceSettings(128 * 1024, 1 << 20, RESIZES));
        assertThat(m.line()).isEqualTo("splice after 128 KiB, pipes of up to 1 MiB");
        assertThat(m.degraded()).isFalse();
    }

    @Test
    void of_jnaMissing_saysThePipesStaySmallAndHowToFixIt() {
        RelayMode m = RelayMode.of(Optional.empty(),
                new SpliceSettings(128 * 1024, 1 << 20, new PipeSizing.Unavailable("libc's fcntl is not available through JNA (x)")));
        assertThat(m.degraded()).isTrue();
        assertThat(m.line()).startsWith("splice after 128 KiB, pipes of 64 KiB, not 1 MiB: libc's fcntl is not available through JNA (x)")
                .contains("Fix:").contains("/usr/lib/airlock/native").contains("-Djna.tmpdir");
    }

    @Test
    void of_noEpoll_copiesAndSaysWhy() {
        RelayMode m = RelayMode.of(Optional.of("java.lang.UnsatisfiedLinkError: failed to map segment"),
                new SpliceSettings(128 * 1024, 1 << 20, RESIZES));
        assertThat(m.degraded()).isTrue();
        assertThat(m.line()).startsWith("copy, no splice: epoll is not available (java.lang.UnsatisfiedLinkError: failed to map segment)")
                .contains("-Dio.netty.native.workdir");
    }

    @Test
    void of_spliceTurnedOff_copiesAsAsked() {
        RelayMode m = RelayMode.of(Optional.empty(), SpliceSettings.OFF);
        assertThat(m.line()).isEqualTo("copy, no splice (-Dairlock.relay.splice=false)");
        assertThat(m.degraded()).isFalse();
        // Without epoll either, nothing was lost that the settings asked for.
        assertThat(RelayMode.of(Optional.of("no"), SpliceSettings.OFF).degraded()).isFalse();
    }

    @Test
    void of_defaultPipesAsked_noResizeNeeded() {
        RelayMode m = RelayMode.of(Optional.empty(), new SpliceSettings(0, SplicePipe.DEFAULT_CAPACITY,
                new PipeSizing.Unavailable("never asked")));
        assertThat(m.line()).isEqualTo("splice after 0 bytes, pipes of 64 KiB");
        assertThat(m.degraded()).isFalse();
    }

    @Test
    void current_onThisMachine_splicesThroughResizablePipes() {
        // The build's own JVM loads Netty's epoll and JNA from their jars: the relay here is not degraded.
        assertThat(RelayMode.current().degraded()).as(RelayMode.current().line()).isFalse();
    }
}
