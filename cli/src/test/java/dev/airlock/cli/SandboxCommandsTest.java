package dev.airlock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code airlock sandbox …}: the command-line contract that needs no daemon (the daemon's side is SandboxSessionIT). */
class SandboxCommandsTest {

    @Test
    void help_sandbox_listsEverySubcommand() {
        Cli r = Cli.run("sandbox", "--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("create").contains("list, ls").contains("exec").contains("attach").contains("stop, rm")
                .contains("idle timeout").contains("docs/daemon.md");
    }

    @Test
    void help_eachSubcommand_saysWhatItDoesAndItsExitCodes() {
        for (String sub : List.of("create", "list", "ls", "exec", "attach", "stop", "rm")) {
            Cli r = Cli.run("sandbox", sub, "--help");
            assertThat(r.code()).as(sub).isZero();
            assertThat(r.out()).as(sub).contains("Usage: airlock sandbox").contains("Exit codes:");
        }
        assertThat(Cli.run("sandbox", "create", "--help").out()).contains("--policy").contains("--project").contains("--name").contains("-q");
        assertThat(Cli.run("sandbox", "exec", "--help").out()).contains("-i").contains("SESSION").contains("COMMAND dies with this client");
        assertThat(Cli.run("sandbox", "attach", "--help").out()).contains("login shell").contains("attaching again gives a new shell");
    }

    @Test
    void create_withBothPolicyAndProject_isAUsageError() {
        Cli r = Cli.run("sandbox", "create", "--policy", "a.yaml", "--project", "p");
        assertThat(r.code()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains("mutually exclusive");
    }

    @Test
    void exec_withoutACommand_isAnAirlockError_notACommandsCode() {
        Cli r = Cli.run("sandbox", "exec", "alk12");
        assertThat(r.code()).isEqualTo(ExitCodes.AIRLOCK_ERROR);
        assertThat(r.err()).contains("COMMAND");
    }

    @Test
    void table_sessionsOnly_oldestFirst_withAgeIdleTimeoutAndEnd() throws Exception {
        JsonNode sandboxes = new ObjectMapper().readTree("""
                [{"sandbox":"alk22222222","project":"payments","state":"claimed","kind":"session","name":null,"warm":false,
                  "createdAt":"2026-12-07T03:00:00Z","lastActivity":"2026-12-07T03:59:00Z","running":2,"idleTimeout":null,"expiresAt":null},
                 {"sandbox":"alk11111111","project":"payments","state":"claimed","kind":"session","name":"fix-login","warm":true,
                  "createdAt":"2026-12-07T01:30:00Z","lastActivity":"2026-12-07T03:45:00Z","running":0,"idleTimeout":"PT8H",
                  "expiresAt":"2026-12-07T11:45:00Z"},
                 {"sandbox":"alk33333333","project":"payments","state":"claimed","kind":"run","name":null,"warm":true,
                  "createdAt":"2026-12-07T03:59:59Z","lastActivity":"2026-12-07T03:59:59Z","running":1,"idleTimeout":"PT8H","expiresAt":null},
                 {"sandbox":"alk44444444","project":"payments","state":"ready"}]""");
        StringWriter text = new StringWriter();
        SessionTable.print(new PrintWriter(text, true), SessionTable.claimed(sandboxes, false), Instant.parse("2026-12-07T04:00:00Z"));
        List<String> lines = text.toString().lines().map(String::stripTrailing).toList();
        assertThat(lines).containsExactly(
                "SANDBOX      NAME                 PROJECT              START AGE     IDLE      IDLE-TIMEOUT   ENDS-IN",
                "alk11111111  fix-login            payments             warm  2h30m   15m       8h             7h45m",
                "alk22222222  -                    payments             cold  1h00m   2 running never          -");
        assertThat(SessionTable.claimed(sandboxes, true)).extracting(n -> n.path("sandbox").asText())
                .containsExactly("alk11111111", "alk22222222", "alk33333333");
    }

    @Test
    void sessions_none_saySoAndHowOneStarts_insteadOfAnEmptyTable() {
        StringWriter text = new StringWriter();
        SessionTable.printSessions(new PrintWriter(text, true), List.of(), false, Instant.parse("2026-12-07T04:00:00Z"));
        assertThat(text.toString()).isEqualTo("No sessions (`airlock sandbox create` starts one; --all also lists one-shot runs)."
                + System.lineSeparator()).doesNotContain("SANDBOX");
        StringWriter all = new StringWriter();
        SessionTable.printSessions(new PrintWriter(all, true), List.of(), true, Instant.parse("2026-12-07T04:00:00Z"));
        assertThat(all.toString()).startsWith("No sandboxes in use");
    }

    @Test
    void table_coldRuns_underTheirOwnHeading_oldestFirst_aligned_andNothingWithoutThem() throws Exception {
        JsonNode sandboxes = new ObjectMapper().readTree("""
                [{"sandbox":"alk11111111","project":"payments","state":"claimed","kind":"session","name":null,"warm":true,
                  "createdAt":"2026-12-07T03:00:00Z","lastActivity":"2026-12-07T03:59:00Z","running":0,"idleTimeout":null,"expiresAt":null},
                 {"sandbox":"alk66666666","project":"scratch","state":"cold-run","workspace":"/home/dev/scratch",
                  "policy":"/home/dev/scratch/airlock.yaml","createdAt":"2026-12-07T03:59:30Z","runAs":"nobody"},
                 {"sandbox":"alk55555555","project":"cold-b","state":"cold-run","workspace":"/home/dev/b",
                  "policy":"/home/dev/b/airlock.yaml","createdAt":"2026-12-07T03:50:00Z","runAs":"4242:4242"}]""");
        assertThat(SessionTable.claimed(sandboxes, true)).as("a cold run is no session").extracting(n -> n.path("sandbox").asText())
                .containsExactly("alk11111111");

        StringWriter text = new StringWriter();
        SessionTable.printColdRuns(new PrintWriter(text, true), SessionTable.coldRuns(sandboxes), Instant.parse("2026-12-07T04:00:00Z"));
        assertThat(text.toString().lines().map(String::stripTrailing).toList()).containsExactly(
                "",
                "Cold runs (policies the daemon does not pool; each sandbox goes when its command ends):",
                "SANDBOX      PROJECT              AGE     RUN-AS      WORKSPACE",
                "alk55555555  cold-b               10m     4242:4242   /home/dev/b",
                "alk66666666  scratch              30s     nobody      /home/dev/scratch");

        StringWriter none = new StringWriter();
        SessionTable.printColdRuns(new PrintWriter(none, true), SessionTable.coldRuns(new ObjectMapper().readTree("[]")), Instant.EPOCH);
        assertThat(none.toString()).isEmpty();
    }
}
