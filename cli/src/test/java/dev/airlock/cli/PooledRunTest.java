package dev.airlock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Issue 19 §2: a pooled run says where it works, and a run that finds no daemon says what ran instead. */
class PooledRunTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path HERE = Path.of("/home/dev/payments");
    private static final Path SOCKET = Path.of("/tmp/other-state/daemon.sock");
    private static final String INSTEAD = "workspace /home/dev/payments, policy airlock.yaml, no organisation policy, names from the system resolver";

    private static ObjectNode start() {
        return JSON.createObjectNode().put("sandbox", "alk0123abcd").put("warm", true).put("claimMs", 3.14);
    }

    @Test
    void startLine_template_namesTheBranchAndCommit_andThatItIsNotTheCallersDirectory() {
        ObjectNode s = start().put("template", "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d").put("ref", "main").put("behind", 2)
                .put("behindAtStart", 2);

        assertThat(PooledRun.startLine(s, HERE)).isEqualTo("airlock: sandbox alk0123abcd from the daemon's pool (warm, claimed in 3.1 ms;"
                + " /workspace is the project at main 1a2b3c4d5e6f, 2 commit(s) behind HEAD, caught up 2 commit(s), not /home/dev/payments)");
    }

    @Test
    void startLine_noWorkspaceInThePolicy_saysTheWorkspaceIsEmptyAndHowToWorkHere() {
        assertThat(PooledRun.startLine(start().put("workspace", "empty"), HERE))
                .contains("/workspace is an empty directory of its own, not /home/dev/payments: the policy has no workspace:")
                .contains("airlock run --no-daemon", "give the policy a workspace: source");
    }

    @Test
    void startLine_anOlderDaemonThatSaysNothingOfTheWorkspace_claimsNothing() {
        assertThat(PooledRun.startLine(start(), HERE)).isEqualTo("airlock: sandbox alk0123abcd from the daemon's pool (warm, claimed in 3.1 ms)");
    }

    @Test
    void noDaemonNote_airlockStateWithoutADaemon_saysSoAndWhatRunsInstead() {
        assertThat(PooledRun.noDaemonNote(SOCKET, Map.of("AIRLOCK_STATE", "/tmp/other-state"), false, INSTEAD)).get().asString()
                .startsWith("airlock: no daemon answers at /tmp/other-state/daemon.sock (AIRLOCK_STATE=/tmp/other-state); running in a"
                        + " fresh sandbox here instead: " + INSTEAD + ", not a daemon's.")
                .contains("Fix: set AIRLOCK_STATE to the running daemon's state directory");
    }

    @Test
    void noDaemonNote_socketLeftBehind_saysTheDaemonIsGone() {
        assertThat(PooledRun.noDaemonNote(SOCKET, Map.of(), true, INSTEAD)).get().asString()
                .contains("(a socket left by a daemon that no longer runs)");
    }

    @Test
    void noDaemonNote_noDaemonEverExpected_saysNothing() {
        assertThat(PooledRun.noDaemonNote(SOCKET, Map.of("AIRLOCK_STATE", " "), false, INSTEAD)).isEmpty();
    }
}
