package dev.airlock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command-line contract of {@code airlock audit}, {@code audit history} and {@code evidence} that needs no kernel. */
class AuditCommandsTest {

    @TempDir
    Path dir;

    @Test
    void audit_unknownReportFormat_isBadInputNamingTheFormat() {
        Cli r = Cli.run("audit", "--format", "json,pdf");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("--format").contains("'pdf'").contains("json, html, md");
    }

    @Test
    void audit_help_namesTheHistorySubcommandAndTheExitCodes() {
        Cli r = Cli.run("audit", "--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("history").contains("--report").contains("--quick").contains("125 Airlock error");
    }

    @Test
    void help_listsAuditAndEvidence() {
        assertThat(Cli.run("--help").out()).contains("audit").contains("evidence");
    }

    @Test
    void evidence_invalidPolicy_isBadInputWithItsPosition() throws Exception {
        Path bad = Files.writeString(dir.resolve("airlock.yaml"), "version: 1\nproject: Bad Name\n");
        Cli r = Cli.run("evidence", "--out", dir.resolve("out").toString(), "--policy", bad.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("airlock.yaml:2");
        assertThat(dir.resolve("out")).doesNotExist();
    }

    @Test
    void evidence_withoutOut_isAUsageError() {
        Cli r = Cli.run("evidence");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("--out");
    }
}
