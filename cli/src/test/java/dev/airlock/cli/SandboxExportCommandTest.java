package dev.airlock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** `airlock sandbox export` without a daemon, and with bad input; with a daemon it is DaemonExportIT's API (server). */
class SandboxExportCommandTest {

    @TempDir
    Path tmp;

    private record Ran(int code, String out, String err) {
    }

    private Ran run(SandboxExportCommand c, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(c).setOut(new PrintWriter(out)).setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Ran(code, out.toString(), err.toString());
    }

    @Test
    void export_notASandboxId_isBadInputWithTheFix() {
        Ran r = run(new SandboxExportCommand(), "../etc");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("not a sandbox id").contains("Fix:");
    }

    @Test
    void export_noDaemon_says125AndHowToStartOne() {
        SandboxExportCommand c = new SandboxExportCommand();
        c.socket = tmp.resolve("daemon.sock");
        Ran r = run(c, "alk1234abcd", "--to", tmp.toString());
        assertThat(r.code()).isEqualTo(125);
        assertThat(r.err()).contains("no daemon answers on " + tmp.resolve("daemon.sock")).contains("Fix:");
    }

    @Test
    void help_describesTheBranchThePatchAndTheBoundary() {
        Ran r = run(new SandboxExportCommand(), "--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("airlock/ID").contains(".git/airlock/ID.patch").contains("--to").contains("never on the host");
    }
}
