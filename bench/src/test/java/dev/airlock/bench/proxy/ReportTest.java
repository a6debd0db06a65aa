package dev.airlock.bench.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The comparison table: medians over rounds, ratios against each reference measured, and issue 13's goals' verdicts. */
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
        assertThat(row(t, "CONNECT bulk, 1 stream (MiB/s)")).isEqualTo("| CONNECT bulk, 1 stream (MiB/s) | 1,000 | — | 500 |  |  |");
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
    void print_eachReferenceMeasured_getsItsOwnRatioColumn() throws IOException {
        String t = report("direct tput1_mibs 8000", "airlock tput1_mibs 2000", "squid tput1_mibs 1000",
                "tinyproxy tput1_mibs 500", "haproxy tput1_mibs 2500");
        assertThat(t.lines().findFirst().orElseThrow()).isEqualTo(
                "| | direct | airlock | squid | tinyproxy | haproxy | Airlock ÷ Squid | Airlock ÷ tinyproxy | Airlock ÷ HAProxy "
                        + "| Airlock ÷ direct |");
        assertThat(row(t, "CONNECT bulk, 1 stream (MiB/s)"))
                .isEqualTo("| CONNECT bulk, 1 stream (MiB/s) | 8,000 | 2,000 | 1,000 | 500 | 2,500 | 2.00× | 4.00× | 0.80× | 0.25× |");
    }

    @Test
    void print_goals_issue13MetAndMissedEach() throws IOException {
        String t = report("direct tput1_mibs 4000", "airlock tput1_mibs 2100", "airlock tput4_mibs 2400",
                "airlock rate_per_s 9000", "airlock rate_echo_p99_ms 5", "airlock rate_proxy_cpu_us 180",
                "squid tput1_mibs 1000", "squid tput4_mibs 1000", "squid rate_proxy_cpu_us 170",
                "tinyproxy rate_per_s 8000");
        assertThat(t).contains("MET  1 stream  >= 2 × Squid: 2,100 vs 1,000 MiB/s (2.10×)")
                .contains("MET  1 stream  >= 0.5 × direct: 2,100 vs 4,000 MiB/s (0.53×)")
                .contains("MISS 4 streams >= 2.5 × Squid: 2,400 vs 1,000 MiB/s (2.40×)")
                .contains("MET  new tunnels/s >= tinyproxy with p99 < 20 ms: 9,000 vs 8,000/s (1.13×), p99 5.00 ms")
                .contains("MISS CPU per new tunnel <= Squid's: 180 vs 170 µs (1.06×)");
    }

    @Test
    void print_goals_fastEnoughButSlowTail_missesTheRateGoal() throws IOException {
        String t = report("airlock rate_per_s 9000", "airlock rate_echo_p99_ms 25", "tinyproxy rate_per_s 8000");
        assertThat(t).contains("MISS new tunnels/s >= tinyproxy with p99 < 20 ms: 9,000 vs 8,000/s (1.13×), p99 25.00 ms");
    }

    @Test
    void print_goals_referenceNotMeasured_isAMissThatSaysSo() throws IOException {
        String t = report("airlock tput1_mibs 2100", "airlock rate_per_s 9000");
        assertThat(t).contains("MISS 1 stream  >= 0.5 × direct: not measured")
                .contains("MISS new tunnels/s >= tinyproxy with p99 < 20 ms: tinyproxy not measured");
    }

    @Test
    void print_haproxyMeasured_placesTheRelayCeiling() throws IOException {
        String t = report("direct tput1_mibs 8000", "airlock tput1_mibs 2100", "squid tput1_mibs 1400",
                "haproxy tput1_mibs 2000");
        assertThat(t).contains("1 stream : HAProxy 2,000 MiB/s = 0.25× direct, 1.43× Squid; Airlock 1.05× HAProxy");
    }
}
