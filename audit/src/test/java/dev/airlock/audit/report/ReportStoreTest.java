package dev.airlock.audit.report;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.audit.battery.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportStoreTest {

    @TempDir
    Path state;

    @Test
    void save_keepsTheRequestedFormatsUnderAuditsTimestampAndAlwaysJson() throws Exception {
        ReportStore store = new ReportStore(state);
        Path dir = store.save(RunFixtures.mixed(Instant.parse("2026-11-27T01:02:03.456Z")), EnumSet.of(Format.HTML), Optional.empty());
        assertThat(dir).isEqualTo(state.resolve("audits/20261127T010203.456Z"));
        assertThat(dir.resolve("report.json")).exists();
        assertThat(dir.resolve("report.html")).exists();
        assertThat(dir.resolve("report.md")).doesNotExist();
    }

    @Test
    void save_withReportDir_copiesOnlyTheRequestedFormatsThere(@TempDir Path copy) throws Exception {
        new ReportStore(state).save(RunFixtures.mixed(Instant.EPOCH), EnumSet.of(Format.MD), Optional.of(copy));
        assertThat(copy.resolve("report.md")).exists();
        assertThat(copy.resolve("report.json")).doesNotExist();
    }

    @Test
    void save_aLinkPlantedWhereAReportGoes_isReplaced_itsTargetUnchanged(@TempDir Path copy, @TempDir Path host) throws Exception {
        // As a sandbox leaves a --report directory that lies in its workspace: report.md linked to a host file.
        Path target = Files.writeString(host.resolve("host-file"), "host file\n");
        Path control = Files.writeString(host.resolve("control-file"), "host file\n");
        Files.createSymbolicLink(copy.resolve("report.md"), target);
        Files.createSymbolicLink(copy.resolve("control.md"), control);
        Files.writeString(copy.resolve("control.md"), "# report\n");
        assertThat(control).as("positive control: a plain write follows the planted link").hasContent("# report");

        new ReportStore(state).save(RunFixtures.mixed(Instant.EPOCH), EnumSet.of(Format.MD), Optional.of(copy));
        assertThat(target).hasContent("host file");
        assertThat(Files.isSymbolicLink(copy.resolve("report.md"))).isFalse();
        assertThat(copy.resolve("report.md")).content().isNotBlank();
    }

    @Test
    void save_twiceInTheSameMillisecond_keepsBoth() throws Exception {
        ReportStore store = new ReportStore(state);
        Path a = store.save(RunFixtures.mixed(Instant.EPOCH), EnumSet.noneOf(Format.class), Optional.empty());
        Path b = store.save(RunFixtures.mixed(Instant.EPOCH), EnumSet.noneOf(Format.class), Optional.empty());
        assertThat(a).isNotEqualTo(b);
        assertThat(store.list(new ArrayList<>())).hasSize(2);
    }

    @Test
    void changes_statusAndPolicyHashChanges_areReportedBetweenConsecutiveAudits() throws Exception {
        ReportStore store = new ReportStore(state);
        store.save(RunFixtures.run(Instant.parse("2026-11-20T00:00:00Z"), RunFixtures.SHA_A,
                List.of(RunFixtures.probe("host-service:listener", "host-service", Status.PASS),
                        RunFixtures.probe("files:state-dir", "files", Status.PASS),
                        RunFixtures.probe("files:home", "files", Status.PASS))), EnumSet.noneOf(Format.class), Optional.empty());
        store.save(RunFixtures.run(Instant.parse("2026-11-27T00:00:00Z"), RunFixtures.SHA_B,
                List.of(RunFixtures.probe("host-service:listener", "host-service", Status.FAIL),
                        RunFixtures.probe("files:state-dir", "files", Status.PASS),
                        RunFixtures.probe("files:audit-log", "files", Status.PASS))), EnumSet.noneOf(Format.class), Optional.empty());

        List<ReportStore.Entry> entries = store.list(new ArrayList<>());
        List<ReportStore.Change> changes = ReportStore.changes(entries);

        assertThat(changes).hasSize(1);
        ReportStore.Change c = changes.get(0);
        assertThat(c.policyChanged()).isTrue();
        assertThat(c.orgChanged()).isFalse();
        assertThat(c.statusChanges()).containsOnlyKeys("host-service:listener");
        assertThat(c.statusChanges().get("host-service:listener")).containsExactly("pass", "fail");
        assertThat(c.added()).containsExactly("files:audit-log");
        assertThat(c.removed()).containsExactly("files:home");
        assertThat(ReportText.history(entries)).contains("host-service:listener: pass -> fail").contains("policy changed");
        assertThat(HistoryJson.render(entries)).contains("\"policyChanged\" : true").contains("\"from\" : \"pass\"");
    }

    @Test
    void changes_quickAuditsAreComparedOnlyWithQuickOnes() throws Exception {
        ReportStore store = new ReportStore(state);
        var full = RunFixtures.mixed(Instant.parse("2026-11-20T00:00:00Z"));
        store.save(full, EnumSet.noneOf(Format.class), Optional.empty());
        var quick = new dev.airlock.audit.battery.BatteryRun(full.subject(), Instant.parse("2026-11-21T00:00:00Z"),
                Instant.parse("2026-11-21T00:00:05Z"), full.kernel(), full.sandboxId(), dev.airlock.audit.battery.Battery.Scope.QUICK,
                full.enforcement(), full.isolation(), List.of(RunFixtures.probe("files:state-dir", "files", Status.PASS)), List.of());
        store.save(quick, EnumSet.noneOf(Format.class), Optional.empty());
        store.save(RunFixtures.mixed(Instant.parse("2026-11-22T00:00:00Z")), EnumSet.noneOf(Format.class), Optional.empty());

        List<ReportStore.Change> changes = ReportStore.changes(store.list(new ArrayList<>()));

        assertThat(changes).singleElement().satisfies(c -> {
            assertThat(c.previous().started()).isEqualTo(Instant.parse("2026-11-20T00:00:00Z"));
            assertThat(c.statusChanges()).isEmpty();
            assertThat(c.removed()).isEmpty();
        });
    }

    @Test
    void list_unreadableReport_isNamedAndSkipped() throws Exception {
        Files.createDirectories(state.resolve("audits/20260101T000000.000Z"));
        Files.writeString(state.resolve("audits/20260101T000000.000Z/report.json"), "{not json");
        List<String> problems = new ArrayList<>();
        assertThat(new ReportStore(state).list(problems)).isEmpty();
        assertThat(problems).singleElement().asString().contains("report.json").contains("not a readable audit report");
    }

    @Test
    void history_noAudits_saysHowToRunOne() {
        assertThat(ReportText.history(List.of())).contains("no audits yet");
    }

    @Test
    void formatParse_unknownFormat_namesItAndTheChoices() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Format.parse("json,pdf"))
                .hasMessageContaining("'pdf'").hasMessageContaining("json, html, md");
        assertThat(Format.parse("md, HTML")).containsExactlyInAnyOrder(Format.MD, Format.HTML);
    }
}
