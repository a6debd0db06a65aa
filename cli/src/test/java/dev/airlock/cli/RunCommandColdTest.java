package dev.airlock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.server.DaemonClient;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Which runs a daemon may run cold when it does not pool their policy, and where. */
class RunCommandColdTest {

    private static final Path CWD = Path.of("").toAbsolutePath().normalize();

    @Test
    void coldWorkspace_plainRun_isTheCallersDirectory_andThePoolsWhenPooled() {
        assertThat(RunCommand.coldWorkspace(null, null, null, null)).contains(new DaemonClient.ColdWorkspace(CWD, false));
    }

    @Test
    void coldWorkspace_withWorkspace_isThatDirectoryAbsolute_andNeverThePools() {
        assertThat(RunCommand.coldWorkspace(null, null, null, Path.of("sub/../other")))
                .contains(new DaemonClient.ColdWorkspace(CWD.resolve("other"), true));
    }

    @Test
    void coldWorkspace_withOrgHostsOrEvents_isNone_theRunIsLocal() {
        assertThat(RunCommand.coldWorkspace(Path.of("org.yaml"), null, null, null)).as("--org: the daemon's is in force").isEmpty();
        assertThat(RunCommand.coldWorkspace(null, Path.of("hosts"), null, null)).as("--hosts: the daemon's resolver is shared").isEmpty();
        assertThat(RunCommand.coldWorkspace(null, null, Path.of("e.jsonl"), Path.of("."))).as("--events").isEmpty();
    }
}
