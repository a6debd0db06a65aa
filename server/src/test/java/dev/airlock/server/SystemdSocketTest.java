package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Socket activation's variables (sd_listen_fds(3)): one socket for this very process, or none. */
class SystemdSocketTest {

    @Test
    void passed_oneSocketForThisProcess_isDescriptorThree() throws IOException {
        assertThat(SystemdSocket.passed(Map.of("LISTEN_FDS", "1", "LISTEN_PID", "4242"), 4242)).contains(new SystemdSocket(3));
    }

    @Test
    void passed_noVariables_isNone_theDaemonBindsItsOwn() throws IOException {
        assertThat(SystemdSocket.passed(Map.of(), 4242)).isEmpty();
        assertThat(SystemdSocket.passed(Map.of("LISTEN_FDS", "1"), 4242)).as("no LISTEN_PID").isEmpty();
    }

    @Test
    void passed_variablesMeantForAnotherProcess_areNotOurs() throws IOException {
        assertThat(SystemdSocket.passed(Map.of("LISTEN_FDS", "1", "LISTEN_PID", "4241"), 4242)).as("inherited from a parent").isEmpty();
    }

    @Test
    void passed_otherThanOneSocket_isRefusedWithTheFix() {
        for (String n : new String[] {"0", "2", "x", ""}) {
            assertThatThrownBy(() -> SystemdSocket.passed(Map.of("LISTEN_FDS", n, "LISTEN_PID", "4242"), 4242)).as(n)
                    .isInstanceOf(IOException.class).hasMessageContaining("LISTEN_FDS=" + n).hasMessageContaining("Fix: give airlock.socket one ListenStream=");
        }
    }
}
