package dev.airlock.bench.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The comparison table: medians over rounds, ratios against Squid, and the goals' verdicts. */
class ReportTest {

    @TempDir
    Path dir;

    private String report(String... lines) throws IOException {
        Path file = dir.resolve("results.tsv");
        for (String line : lines) {
            String[] f = line.split(" ", 3);
            Report.append(file, f[0], f[1], f[2]);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Report.print(file, new PrintStream(out, true, StandardCharsets.UTF_8));
        return out.toString(StandardCharsets.UTF_8);
    }

    private static String row(String table, String label) {
        return table.lines().filter(l -> l.startsWith("| " + label + " |")).findFirst().orElseThrow();
    }

    @Test
    void print_threeRounds_showsTheMedianNotTheMean() throws IOException {
        String t = report("airlock tput1_mibs 100", "airlock tput1_mibs 900", "airlock tput1_mibs 300",
                "squid tput1_mibs 300", "squid tput1_mibs 300", "squid tput1_mibs 300");
        assertThat(row(t, "CONNECT bulk, 1 stream (MiB/s)")).isEqualTo("| CONNECT bulk, 1 stream (MiB/s) | 300 | 300 | 1.00× |");
    }

    @Test
    void print_missingMeasurement_showsADash() throws IOException {
        String t = report("direct tput1_mibs 1000", "airlock tput1_mibs NaN", "squid tput1_mibs 500");
        assertThat(row(t, "CONNECT bulk, 1 stream (MiB/s)")).isEqualTo("| CONNECT bulk, 1 stream (MiB/s) | 1,000 | — | 500 |  |");
    }

    @Test
    void print_idleRows_compareTheRaisedLimitsAirlockWithSquid() throws IOException {
        String t = report("airlock idle_requested 1000", "airlock idle_opened 512",
                "airlock idle_rss_before_kib 100000", "airlock idle_rss_kib 120000",
                "squid idle_requested 1000", "squid idle_opened 1000",
                "squid idle_rss_before_kib 10000", "squid idle_rss_kib 40000",
                "airlock-raised idle_requested 1000", "airlock-raised idle_opened 1000",
                "airlock-raised idle_rss_before_kib 70000", "airlock-raised idle_rss_kib 85000");
        // 512 of 1,000 is not a per-tunnel cost; the raised-limits gateway's 15 KiB is half of Squid's 30.
        assertThat(row(t, "  RSS growth per idle tunnel (KiB)"))
                .isEqualTo("|   RSS growth per idle tunnel (KiB) | — | 30.00 | 15.00 | 0.50× |");
    }

    @Test
    void print_goals_metAndMissedEach() throws IOException {
        String t = report("airlock tput1_mibs 600", "airlock tput4_mibs 700", "airlock rate_per_s 3100",
                "airlock rate_echo_p99_ms 25",
                "squid tput1_mibs 600", "squid tput4_mibs 600");
        assertThat(t).contains("MET  1 stream  >= Squid: 600 vs 600 MiB/s (1.00×)")
                .contains("MISS 4 streams >= 1.3 × Squid: 700 vs 600 MiB/s (1.17×)")
                .contains("MISS >= 3,000 new tunnels/s with p99 < 20 ms: 3,100/s, p99 25.00 ms");
    }
}
