package dev.airlock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** A command line is made of the command its arguments name; help, typos and completion see all of them. */
class CommandTreeTest {

    private static final String[] ALL = {"run", "demo", "policy", "gateway", "log", "gc", "daemon", "pool", "audit", "evidence",
        "template", "sandbox"};

    @Test
    void commandLine_namedCommand_holdsThatCommandAlone() {
        CommandLine cmd = Main.commandLine("policy", "explain", "--policy", "airlock.yaml", "github.com");
        assertThat(cmd.getSubcommands()).containsOnlyKeys("policy");
        assertThat(cmd.getSubcommands().get("policy").getSubcommands()).containsKey("explain");
    }

    @Test
    void commandLine_noCommandNamed_holdsTheWholeTree() {
        for (String[] args : new String[][] {{}, {"--help"}, {"-h"}, {"polcy", "explain"}}) {
            assertThat(Main.commandLine(args).getSubcommands()).as(String.join(" ", args)).containsOnlyKeys(ALL);
        }
    }

    @Test
    void version_needsNoCommand() {
        assertThat(Main.commandLine("--version").getSubcommands()).isEmpty();
        Cli v = Cli.run("-V");
        assertThat(v.code()).isZero();
        assertThat(v.out()).startsWith("airlock ");
    }

    @Test
    void help_listsEveryCommand_andATypoStillGetsASuggestion() {
        assertThat(Cli.run("--help").out()).contains(ALL);
        Cli typo = Cli.run("polcy");
        assertThat(typo.code()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(typo.err()).contains("Unmatched argument").contains("policy");
    }

    @Test
    void namedCommand_keepsItsExitCodesAndHelp() {
        Cli help = Cli.run("pool", "--help");
        assertThat(help.code()).isZero();
        assertThat(help.out()).contains("Usage: airlock pool");
        assertThat(Cli.run("pool", "--no-such-option").code()).isEqualTo(ExitCodes.BAD_INPUT);
    }

    @Test
    void completionScript_coversTheWholeTree(@TempDir Path dir) throws Exception {
        Path script = dir.resolve("airlock");
        CompletionScript.main(new String[] {script.toString()});
        String text = Files.readString(script);
        assertThat(text).contains("_complete_airlock").contains(ALL);
        // nested commands and aliases too
        assertThat(text).contains("explain").contains("ls");
    }
}
