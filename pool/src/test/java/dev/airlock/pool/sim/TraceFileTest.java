package dev.airlock.pool.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TraceFileTest {

    @TempDir
    Path dir;

    private Path write(String text) throws Exception {
        Path f = dir.resolve("trace.csv");
        Files.writeString(f, text);
        return f;
    }

    @Test
    void read_validTrace_sortedWithCommentsSkipped() throws Exception {
        Path f = write("""
                # a synthetic trace
                time,project,durationSeconds
                2026-11-02T09:30:00Z,payments,1800
                
                2026-11-02T09:15:00Z,payments,12.5
                """);
        List<TraceClaim> claims = TraceFile.read(f);
        assertThat(claims).extracting(TraceClaim::time)
                .containsExactly(Instant.parse("2026-11-02T09:15:00Z"), Instant.parse("2026-11-02T09:30:00Z"));
        assertThat(claims.getFirst().hold()).isEqualTo(Duration.ofMillis(12_500));
        assertThat(claims.getFirst().line()).isEqualTo(5);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "missing header        | 2026-11-02T09:15:00Z,payments,1       | :1: expected the header",
        "bad time              | 2026-11-02 09:15,payments,1           | :2: invalid time",
        "local time, no zone   | 2026-11-02T09:15:00,payments,1        | :2: invalid time",
        "bad project           | 2026-11-02T09:15:00Z,Payments!,1      | :2: invalid project",
        "negative duration     | 2026-11-02T09:15:00Z,payments,-1      | :2: invalid durationSeconds",
        "duration with unit    | 2026-11-02T09:15:00Z,payments,30s     | :2: invalid durationSeconds",
        "too many fields       | 2026-11-02T09:15:00Z,payments,1,2     | :2: expected 3 fields",
    })
    void read_badLine_namesFileLineAndFix(String row, String line, String message) throws Exception {
        Path f = write(row.equals("missing header") ? line + "\n" : TraceFile.HEADER + "\n" + line + "\n");
        assertThatThrownBy(() -> TraceFile.read(f)).isInstanceOf(TraceException.class)
                .hasMessageStartingWith(f.toString())
                .hasMessageContaining(message)
                .hasMessageContaining("fix:");
    }

    @Test
    void read_emptyFile_asksForTheHeader() throws Exception {
        Path f = write("");
        assertThatThrownBy(() -> TraceFile.read(f)).isInstanceOf(TraceException.class).hasMessageContaining(TraceFile.HEADER);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({"45s, 45s", "500ms, 500.0ms", "1.5m, 90s", "2h, 7200s", "exp:30s, exp:30s", "EXP:1m, exp:60s"})
    void distribution_parse_acceptsDocumentedForms(String text, String shown) {
        assertThat(Distribution.parse(text)).hasValueSatisfying(d -> assertThat(d.toString()).isEqualTo(shown));
    }

    @ParameterizedTest
    @CsvSource({"30", "-5s", "5 sec", "exp:", "normal:5s", "2d"})
    void distribution_parse_refusesOtherForms(String text) {
        assertThat(Distribution.parse(text)).isEmpty();
    }
}
