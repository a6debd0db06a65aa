package dev.airlock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.runtime.RunAs;
import dev.airlock.server.DaemonClient;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Which runs a daemon may run cold when it does not pool their policy, and where. */
class RunCommandColdTest {

    private static final Path CWD = Path.of("").toAbsolutePath().normalize();

    @Test
    void coldWorkspace_plainRun_isTheCallersDirectory_andThePoolsWhenPooled() {
        assertThat(RunCommand.coldWorkspace(Map.of(), null, null, null, null)).contains(new DaemonClient.ColdWorkspace(CWD, false));
    }

    @Test
    void coldWorkspace_withWorkspace_isThatDirectoryAbsolute_andNeverThePools() {
        assertThat(RunCommand.coldWorkspace(Map.of(), null, null, null, Path.of("sub/../other")))
                .contains(new DaemonClient.ColdWorkspace(CWD.resolve("other"), true));
    }

    @Test
    void coldWorkspace_withOrgHostsOrEvents_isNone_theRunIsLocal() {
        assertThat(RunCommand.coldWorkspace(Map.of(), Path.of("org.yaml"), null, null, null)).as("--org: the daemon's is in force").isEmpty();
        assertThat(RunCommand.coldWorkspace(Map.of(), null, Path.of("hosts"), null, null)).as("--hosts: the daemon's resolver is shared").isEmpty();
        assertThat(RunCommand.coldWorkspace(Map.of(), null, null, Path.of("e.jsonl"), Path.of("."))).as("--events").isEmpty();
    }

    @Test
    void coldWorkspace_underSudo_runsAsTheSudoCaller_elseAsNobody() {
        assertThat(RunCommand.coldWorkspace(Map.of("SUDO_UID", "4242", "SUDO_GID", "4243"), null, null, null, null))
                .contains(new DaemonClient.ColdWorkspace(CWD, false, Optional.of(new RunAs(4242, 4243))));
        assertThat(RunCommand.coldWorkspace(Map.of("SUDO_UID", "0", "SUDO_GID", "0"), null, null, null, null))
                .as("sudo from root: nobody, as a cold run").contains(new DaemonClient.ColdWorkspace(CWD, false, Optional.empty()));
        assertThat(RunCommand.coldWorkspace(Map.of("SUDO_UID", "42x"), null, null, null, null))
                .contains(new DaemonClient.ColdWorkspace(CWD, false, Optional.empty()));
    }
}
