package dev.airlock.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.sandbox.WindowSize;
import org.junit.jupiter.api.Test;

class CallerTerminalTest {

    @Test
    void parseSize_sttySizeOutput_isRowsThenColumns() {
        assertThat(CallerTerminal.parseSize("40 120\n")).isEqualTo(new WindowSize(40, 120));
    }

    @Test
    void parseSize_zeroOrNothing_isTheDefault() {
        // a terminal that was never sized (a fresh pty, some CI consoles) reports 0 0
        assertThat(CallerTerminal.parseSize("0 0")).isEqualTo(WindowSize.DEFAULT);
        assertThat(CallerTerminal.parseSize("")).isEqualTo(WindowSize.DEFAULT);
        assertThat(CallerTerminal.parseSize("stty: 'standard input': Inappropriate ioctl for device")).isEqualTo(WindowSize.DEFAULT);
    }
}
