package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The host's commands (ip, nft, ...) as the real host runs them. No root needed. */
class SystemHostTest {

    private static final Tools TOOLS = FakeKernel.TOOLS;
    /** The shell's pid and its session id (field 6 of /proc/PID/stat): equal when it leads a session of its own. */
    private static final List<String> PID_AND_SESSION = List.of("/bin/sh", "-c", "echo $$ $(awk '{print $6}' /proc/$$/stat)");

    @Test
    void aCommand_runsInASessionOfItsOwn_soATerminalsCtrlCDoesNotKillItMidWay() throws Exception {
        Host.Result r = new SystemHost(TOOLS).exec(PID_AND_SESSION, "");

        assertThat(r.exit()).isZero();
        String[] pidAndSession = r.out().trim().split(" ");
        assertThat(pidAndSession[1]).as("its session is its own").isEqualTo(pidAndSession[0]);

        // control: started as the JVM's plain child, the same command is in the JVM's session (a terminal's Ctrl-C reaches it)
        Process plain = new ProcessBuilder(PID_AND_SESSION).start();
        String[] control = new String(plain.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim().split(" ");
        assertThat(plain.waitFor()).isZero();
        assertThat(control[1]).isNotEqualTo(control[0]);
    }

    @Test
    void aCommand_keepsItsExitStatusAndOutput_throughTheSessionAndPdeathsigWrappers() throws Exception {
        Host.Result r = new SystemHost(TOOLS).exec(List.of("/bin/sh", "-c", "read x; echo \"got $x\"; echo oops >&2; exit 7"), "input\n");

        assertThat(r.exit()).isEqualTo(7);
        assertThat(r.out()).isEqualTo("got input\n");
        assertThat(r.err()).isEqualTo("oops\n");
        assertThat(r.argv()).containsExactly("/bin/sh", "-c", "read x; echo \"got $x\"; echo oops >&2; exit 7");
    }
}
