package dev.airlock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.audit.AuditLog;
import dev.airlock.policy.Reason;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The command-line contract of DESIGN.md §2 for {@code airlock log} and {@code airlock log verify}.
 * Logs are written by the real writer; times are relative to now with hours of margin, so that
 * {@code --since} never depends on how fast the test runs.
 */
class LogCommandTest {

    private static final Instant NOW = Instant.now();
    private static final Instant THREE_HOURS_AGO = NOW.minus(Duration.ofHours(3));
    private static final Instant TEN_MINUTES_AGO = NOW.minus(Duration.ofMinutes(10));

    @TempDir
    Path dir;

    private static AuditEvent decision(String project, String name, int port, String decision, Reason reason, String rule) {
        return new AuditEvent(AuditEvent.Event.DECISION, "sb-1", project, AuditEvent.Via.EXPLICIT, "10.201.0.2:40000", name,
                port, decision.equals("allow") ? List.of("198.18.0.10") : List.of(),
                decision.equals("allow") ? AuditEvent.Decision.ALLOW : AuditEvent.Decision.DENY, rule, reason, 0, 0, 0);
    }

    private static void write(Path file, Instant at, AuditEvent... events) throws IOException {
        try (AuditLog log = AuditLog.open(file, Clock.fixed(at, ZoneOffset.UTC))) {
            for (AuditEvent e : events) {
                assertThat(log.submit(e)).isTrue();
            }
        }
    }

    /** Three hours ago: payments allowed github.com; ten minutes ago: payments denied evil, billing denied prod. */
    private Path sample() throws IOException {
        Path file = dir.resolve("audit.log");
        write(file, THREE_HOURS_AGO, decision("payments", "github.com", 443, "allow", Reason.ALLOWED, "preset github: github.com"));
        write(file, TEN_MINUTES_AGO,
                decision("payments", "evil.example", 443, "deny", Reason.NO_RULE, "-"),
                decision("billing", "api.acme.com", 443, "deny", Reason.PRODUCTION, "production: api.acme.com (org.yaml:3:5)"),
                new AuditEvent(AuditEvent.Event.CLOSE, "sb-1", "payments", AuditEvent.Via.TRANSPARENT, "10.201.0.2:40001",
                        "github.com", 443, List.of("198.18.0.10"), AuditEvent.Decision.ALLOW, "preset github: github.com", Reason.ALLOWED, 1200, 56000, 850));
        return file;
    }

    @Test
    void help_listsLogAndVerify() {
        assertThat(Cli.run("--help").out()).contains("log");
        Cli r = Cli.run("log", "--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("verify").contains("--denied").contains("--since").contains("--project").contains("--json")
                .contains("$AIRLOCK_STATE/audit.log").contains("Exit codes");
        assertThat(Cli.run("log", "verify", "--help").out()).contains("$AIRLOCK_STATE/audit.log");
        assertThat(Cli.run("log", "verify", "--help").out()).contains("--anchor").contains("0 intact; 1 broken");
    }

    @Test
    void log_printsOneAlignedLinePerRecord() throws IOException {
        Path file = sample();
        Cli r = Cli.run("log", "--file", file.toString());
        assertThat(r.code()).as(r.err()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines).hasSize(4);
        assertThat(lines.get(0)).startsWith(AuditTime.of(THREE_HOURS_AGO)).contains("  ALLOW  allowed ")
                .contains("sb-1/payments").contains("explicit").contains("github.com:443").contains("198.18.0.10")
                .endsWith("preset github: github.com");
        assertThat(lines.get(1)).contains("  DENY   no-rule ").contains("evil.example:443").endsWith("  -");
        assertThat(lines.get(3)).contains("  CLOSE  allowed ").contains("transparent")
                .endsWith("up 1200 B, down 56000 B, 850 ms");
        // Aligned: every column starts at the same offset while the values fit their widths.
        assertThat(lines.stream().map(l -> l.indexOf("sb-1/")).distinct()).hasSize(1);
        assertThat(lines.get(0).indexOf("github.com:443")).isEqualTo(lines.get(1).indexOf("evil.example:443"));
    }

    @Test
    void log_denied_printsOnlyDenials() throws IOException {
        Cli r = Cli.run("log", "--denied", "--file", sample().toString());
        assertThat(r.out().lines()).hasSize(2).allMatch(l -> l.contains("  DENY  "));
    }

    @ParameterizedTest(name = "--since {0} → {1} records")
    @CsvSource({
        "1h,   3",
        "30m,  3",
        "5m,   0",
        "2d,   4",
        "1970-01-01T00:00:00Z, 4",
        "2999-01-01, 0",
    })
    void log_since_keepsRecordsAtOrAfterIt(String since, int expected) throws IOException {
        Cli r = Cli.run("log", "--since", since, "--file", sample().toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out().lines()).hasSize(expected);
        if (expected == 0) {
            assertThat(r.err()).contains("no matching records").contains("(4 records read)");
        }
    }

    @Test
    void log_sinceIsoTimeWithOffset_isUnderstood() throws IOException {
        String oneHourAgo = NOW.minus(Duration.ofHours(1)).atOffset(ZoneOffset.ofHours(2)).toString();
        Cli r = Cli.run("log", "--since", oneHourAgo, "--file", sample().toString());
        assertThat(r.out().lines()).hasSize(3);
    }

    @Test
    void log_badSince_isAnErrorSayingWhatIsAccepted() throws IOException {
        Cli r = Cli.run("log", "--since", "yesterday", "--file", sample().toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("\"yesterday\" is neither an age (30m, 1h, 2d) nor an ISO-8601 time");
    }

    @Test
    void log_project_printsOnlyThatProject() throws IOException {
        Cli r = Cli.run("log", "--project", "billing", "--file", sample().toString());
        assertThat(r.out().lines()).singleElement().asString().contains("sb-1/billing").contains("production");
    }

    @Test
    void log_json_printsTheRawLinesOfMatchingRecords() throws IOException {
        Path file = sample();
        Cli r = Cli.run("log", "--json", "--denied", "--project", "payments", "--file", file.toString());
        List<String> raw = Files.readAllLines(file, StandardCharsets.US_ASCII);
        assertThat(r.out().lines()).containsExactly(raw.get(1));
        assertThat(new ObjectMapper().readTree(r.out()).get("name").asText()).isEqualTo("evil.example");
    }

    /** How an operator takes a gateway pod's log out of the cluster (docs/kubernetes.md, Audit records): {@code log --json} unfiltered. */
    @Test
    void log_jsonOfTheWholeLog_isACopyThatVerifiesAsTheOriginal() throws IOException {
        Path file = sample();
        Cli copied = Cli.run("log", "--json", "--file", file.toString());
        Path copy = Files.writeString(dir.resolve("copy.log"), copied.out(), StandardCharsets.US_ASCII);
        assertThat(Files.readAllLines(copy)).isEqualTo(Files.readAllLines(file));
        assertThat(Cli.run("log", "verify", "--file", copy.toString()).code()).isZero();
        // Control: the same copy with one record's name changed is caught by the chain.
        Path edited = Files.writeString(dir.resolve("edited.log"), copied.out().replace("evil.example", "good.example"), StandardCharsets.US_ASCII);
        assertThat(Cli.run("log", "verify", "--file", edited.toString()).code()).isEqualTo(1);
    }

    @Test
    void log_hostileName_isPrintedEscaped() throws IOException {
        Path file = dir.resolve("audit.log");
        write(file, TEN_MINUTES_AGO, decision("payments", "\u001b[2J\u001b[31mevil\r\nfake line", 443, "deny", Reason.BAD_REQUEST, "-"));
        Cli r = Cli.run("log", "--file", file.toString());
        assertThat(r.out()).doesNotContain("\u001b", "\r").contains("\\x1b[2J\\x1b[31mevil\\x0d\\x0afake line:443");
        assertThat(r.out().lines()).hasSize(1);
    }

    @Test
    void log_brokenLine_isSkippedWithItsLineNumber() throws IOException {
        Path file = sample();
        Files.writeString(file, "garbage\n", java.nio.file.StandardOpenOption.APPEND);
        Cli r = Cli.run("log", "--file", file.toString());
        assertThat(r.code()).isZero();
        assertThat(r.out().lines()).hasSize(4);
        assertThat(r.err()).contains(file + ":5: skipped: not valid JSON");
    }

    @Test
    void log_missingFile_namesThePathAndTheFix() {
        Path missing = dir.resolve("nope/audit.log");
        Cli r = Cli.run("log", "--file", missing.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("audit log " + missing + " does not exist; fix: check the path given to --file");
        Cli v = Cli.run("log", "verify", "--file", missing.toString());
        assertThat(v.code()).isEqualTo(1);
        assertThat(v.err()).contains(missing + " does not exist");
    }

    @Test
    void defaultFile_missing_suggestsFileAndAirlockState() {
        Path expected = StateDirectory.auditLog(); // the file airlock gateway writes by default
        if (Files.exists(expected)) {
            return; // a real gateway's log on this machine; nothing to show
        }
        Cli r = Cli.run("log");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("audit log " + expected + " does not exist; fix: pass --file FILE, or set AIRLOCK_STATE");
    }

    /**
     * Three records written by another Airlock version (hashed outside Java per docs/audit-log.md):
     * record 2 is a deny with reason {@code egress-quota}, which this version does not know.
     */
    private Path logWithAnUnknownReason() throws IOException {
        Path file = dir.resolve("audit.log");
        try (var in = LogCommandTest.class.getResourceAsStream("unknown-reason.log")) {
            Files.copy(in, file);
        }
        assertThat(Reason.fromCode("egress-quota")).as("the fixture's code must stay unknown").isEmpty();
        return file;
    }

    @Test
    void log_reasonThisVersionDoesNotKnow_isPrintedAsWritten() throws IOException {
        Path file = logWithAnUnknownReason();
        Cli r = Cli.run("log", "--file", file.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).isEmpty();
        List<String> lines = r.out().lines().toList();
        assertThat(lines).hasSize(3);
        assertThat(lines.get(1)).contains("  DENY   egress-quota ").contains("uploads.example:443");

        Cli denied = Cli.run("log", "--denied", "--file", file.toString());
        assertThat(denied.out().lines()).singleElement().asString().contains("egress-quota");
        Cli json = Cli.run("log", "--json", "--denied", "--file", file.toString());
        assertThat(json.out().strip()).isEqualTo(Files.readAllLines(file).get(1));
    }

    // ---- verify ------------------------------------------------------------------------------------

    @Test
    void verify_intactLog_exitsZeroAndPrintsTheHead() throws IOException {
        Path file = sample();
        Cli r = Cli.run("log", "verify", "--file", file.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).startsWith(file + ": intact, 4 records\n").containsPattern("head 4:[0-9a-f]{64}  \\(");
    }

    @Test
    void verify_reasonThisVersionDoesNotKnow_isIntact() throws IOException {
        Path file = logWithAnUnknownReason();
        Cli r = Cli.run("log", "verify", "--file", file.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).startsWith(file + ": intact, 3 records\n");

        // The control: the unknown code is covered by the hash like any other.
        Files.writeString(file, Files.readString(file).replace("egress-quota", "egress-quotb"));
        assertThat(Cli.run("log", "verify", "--file", file.toString()).err())
                .contains(file + ":2: hash mismatch: the record was changed after it was written");
    }

    @Test
    void verify_afterAWriterMovedAPartialLineAside_warnsNamingTheTornFileAndCount() throws IOException {
        Path file = sample();
        assertThat(Cli.run("log", "verify", "--file", file.toString()).out()).as("control: no torn file, no warning")
                .doesNotContain("warning");
        Files.writeString(file, "{\"seq\":5,\"ti", java.nio.file.StandardOpenOption.APPEND);
        write(file, TEN_MINUTES_AGO, decision("payments", "evil.example", 443, "deny", Reason.NO_RULE, "-"));
        Cli r = Cli.run("log", "verify", "--file", file.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).startsWith(file + ": intact, 5 records\n")
                .contains("warning: " + file + ".torn holds 1 partial last line that writers moved aside")
                .contains("the records in them are lost");
    }

    @Test
    void verify_brokenLogWithATornFile_warnsOnStderrToo() throws IOException {
        Path file = sample();
        Files.writeString(file, Files.readString(file).replace("evil.example", "good.example"));
        Files.writeString(dir.resolve("audit.log.torn"), "# 2025-06-01T12:00:00.123Z: 3 bytes cut from the end of " + file
                + " at offset 9\n{\"s\n# 2025-06-01T12:00:01.123Z: 3 bytes cut from the end of " + file + " at offset 9\n{\"s\n");
        Cli r = Cli.run("log", "verify", "--file", file.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("warning: " + file + ".torn holds 2 partial last lines");
    }

    @Test
    void verify_editedLog_exitsOneWithFileLineAndWhy() throws IOException {
        Path file = sample();
        Files.writeString(file, Files.readString(file).replace("evil.example", "good.example"));
        Cli r = Cli.run("log", "verify", "--file", file.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains(file + ":2: hash mismatch: the record was changed after it was written")
                .contains(file + ": broken; the 1 record before line 2 verify");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void verify_deletedLine_exitsOne() throws IOException {
        Path file = sample();
        List<String> lines = Files.readAllLines(file);
        Files.write(file, List.of(lines.get(0), lines.get(2), lines.get(3)));
        Cli r = Cli.run("log", "verify", "--file", file.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains(file + ":2: seq jumps from 1 to 3");
    }

    @Test
    void verify_anchor_detectsRecordsCutFromTheEnd() throws IOException {
        Path file = sample();
        String head = Cli.run("log", "verify", "--file", file.toString()).out().lines()
                .filter(l -> l.startsWith("head ")).findFirst().orElseThrow().split(" ")[1];
        List<String> lines = Files.readAllLines(file);
        Files.write(file, lines.subList(0, 3));
        assertThat(Cli.run("log", "verify", "--file", file.toString()).code()).isZero();
        Cli r = Cli.run("log", "verify", "--anchor", head, "--file", file.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains(file + ":4: the log ends at seq 3, but the anchor shows seq 4 was written");
    }

    @Test
    void verify_badAnchor_isAUsageError() throws IOException {
        Cli r = Cli.run("log", "verify", "--anchor", "12", "--file", sample().toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("invalid anchor: expected SEQ:HASH");
    }

    /** The log's time format, for assertions. */
    private static final class AuditTime {
        static String of(Instant t) {
            return java.time.format.DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC).format(t);
        }
    }
}
