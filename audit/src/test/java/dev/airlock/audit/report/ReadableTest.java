package dev.airlock.audit.report;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class ReadableTest {

    @Test
    void time_isToTheSecondInUtc() {
        assertThat(Readable.time(Instant.parse("2026-11-27T08:05:03.123456789Z"))).isEqualTo("2026-11-27 08:05:03 UTC");
    }

    @Test
    void bytes_useBinaryUnits_wholeWhenExact() {
        assertThat(Readable.bytes(4_294_967_296L)).isEqualTo("4 GiB");
        assertThat(Readable.bytes(1_610_612_736L)).isEqualTo("1.5 GiB");
        assertThat(Readable.bytes(512L << 20)).isEqualTo("512 MiB");
        assertThat(Readable.bytes(900)).isEqualTo("900 bytes");
    }
}
