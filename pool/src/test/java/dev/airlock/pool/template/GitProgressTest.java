package dev.airlock.pool.template;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class GitProgressTest {

    @Test
    void accept_linesRedrawnWithCarriageReturns_splitAcrossChunks_reportEachPercentage() {
        CapturingProgress sink = new CapturingProgress();
        GitProgress p = new GitProgress(sink);
        p.accept("Cloning into bare repository 'm.git'...\nremote: Enumerating objects: 12, done.\nremote: Counting objects:  50% (6/12)\r");
        p.accept("remote: Counting objects: 100% (12/12), done.\nReceiving obj");
        p.accept("ects:  33% (4/12)\rReceiving objects: 100% (12/12), 1.20 KiB | 1.20 MiB/s, done.\n");
        p.accept("Resolving deltas:   0% (0/3)\rResolving deltas: 100% (3/3), done.\n");
        assertThat(sink.events).containsExactly("transfer Counting objects 50", "transfer Counting objects 100",
                "transfer Receiving objects 33", "transfer Receiving objects 100", "transfer Resolving deltas 0",
                "transfer Resolving deltas 100");
    }

    @Test
    void accept_linesWithoutAPercentage_reportNothing() {
        CapturingProgress sink = new CapturingProgress();
        new GitProgress(sink).accept("fatal: repository '/nowhere' does not exist\n");
        assertThat(sink.events).isEmpty();
    }

    @Test
    void console_notATerminal_printsPlainLines_aTransferLineOnlyPerQuarter() {
        var bytes = new java.io.ByteArrayOutputStream();
        ProgressSink lines = ProgressSink.console(new java.io.PrintStream(bytes, true, java.nio.charset.StandardCharsets.UTF_8), false);
        lines.phase("fetch", "cloning /src");
        for (int i = 0; i <= 100; i += 5) {
            lines.transfer("Receiving objects", i);
        }
        lines.setupStep(1, 2, "npm ci");
        lines.done("template x built");
        String out = bytes.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertThat(out).doesNotContain("\r").contains("airlock: cloning /src\n").contains("airlock: setup step 1/2: npm ci\n")
                .contains("Receiving objects 0%").contains("Receiving objects 50%").contains("Receiving objects 100%")
                .doesNotContain("Receiving objects 5%");
    }

    @Test
    void console_onATerminal_redrawsOneLineWithABar() {
        var bytes = new java.io.ByteArrayOutputStream();
        ProgressSink bar = ProgressSink.console(new java.io.PrintStream(bytes, true, java.nio.charset.StandardCharsets.UTF_8), true);
        bar.phase("fetch", "cloning /src");
        bar.transfer("Receiving objects", 50);
        bar.done("ok");
        assertThat(bytes.toString(java.nio.charset.StandardCharsets.UTF_8)).contains("\r\033[K  Receiving objects  [###############...............] 50%");
    }

    /** A sink that records every call as a line. */
    static final class CapturingProgress implements ProgressSink {
        final List<String> events = new ArrayList<>();

        @Override
        public synchronized void phase(String phase, String message) {
            events.add("phase " + phase);
        }

        @Override
        public synchronized void transfer(String stage, int percent) {
            events.add("transfer " + stage + " " + percent);
        }

        @Override
        public synchronized void setupStep(int step, int steps, String command) {
            events.add("step " + step + "/" + steps + " " + command);
        }

        @Override
        public synchronized void done(String message) {
            events.add("done " + message);
        }
    }
}
