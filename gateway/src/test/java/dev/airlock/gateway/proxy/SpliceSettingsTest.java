package dev.airlock.gateway.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The splice settings a gateway starts with: what the two system properties say, or a clear refusal. */
class SpliceSettingsTest {

    /** What the run was started with (e.g. -Dairlock.relay.splice=false), put back after each case. */
    private final String splice = System.getProperty(SpliceHandover.PROPERTY);
    private final String pipe = System.getProperty(SpliceHandover.PIPE_PROPERTY);

    @BeforeEach
    void clear() {
        System.clearProperty(SpliceHandover.PROPERTY);
        System.clearProperty(SpliceHandover.PIPE_PROPERTY);
    }

    @AfterEach
    void restore() {
        restore(SpliceHandover.PROPERTY, splice);
        restore(SpliceHandover.PIPE_PROPERTY, pipe);
    }

    private static void restore(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
        }
    }

    @Test
    void configured_nothingSet_splicesAfter128KiBThroughOneMiBPipes() {
        assertThat(SpliceHandover.configured()).isEqualTo(128 * 1024);
        assertThat(SpliceHandover.configuredPipeBytes()).isEqualTo(1 << 20);
    }

    @Test
    void configuredPipeBytes_aNumber_isTaken() {
        System.setProperty(SpliceHandover.PIPE_PROPERTY, "262144");
        assertThat(SpliceHandover.configuredPipeBytes()).isEqualTo(262144);
    }

    @Test
    void configured_pipeSizeNotAPositiveNumber_stopsTheGatewaySayingWhatToSet() {
        for (String bad : new String[] {"1MiB", "0", "-65536"}) {
            System.setProperty(SpliceHandover.PIPE_PROPERTY, bad);
            assertThatThrownBy(SpliceHandover::configured).as(bad)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("-Dairlock.relay.splice.pipe=" + bad)
                    .hasMessageContaining("number of bytes");
        }
    }

    @Test
    void openPipe_resizeRefused_keepsTheKernelDefault() throws IOException {
        SpliceSettings refused = new SpliceSettings(0, 1 << 20, (fd, bytes) -> {
            throw new IOException("EPERM");
        });
        try (SplicePipe pipe = refused.openPipe()) {
            assertThat(pipe.capacity()).isEqualTo(SplicePipe.DEFAULT_CAPACITY);
        }
    }

    @Test
    void openPipe_noLargerThanTheDefault_asksNothing() throws IOException {
        SpliceSettings small = new SpliceSettings(0, SplicePipe.DEFAULT_CAPACITY, (fd, bytes) -> {
            throw new AssertionError("no resize for a pipe of the default size");
        });
        try (SplicePipe pipe = small.openPipe()) {
            assertThat(pipe.capacity()).isEqualTo(SplicePipe.DEFAULT_CAPACITY);
        }
    }

    @Test
    void openPipe_granted_usesWhatTheKernelGranted() throws IOException {
        // The kernel rounds up to a power of two pages: the pipe moves what it really holds.
        SpliceSettings rounded = new SpliceSettings(0, 300_000, (fd, bytes) -> 512 * 1024);
        try (SplicePipe pipe = rounded.openPipe()) {
            assertThat(pipe.capacity()).isEqualTo(512 * 1024);
        }
    }
}
