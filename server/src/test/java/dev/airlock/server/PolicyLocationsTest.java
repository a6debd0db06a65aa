package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The daemon never loads a policy from where its sandboxes write (issue 18 e). */
class PolicyLocationsTest {

    @TempDir
    Path dir;

    private DaemonConfig config(String policy, String extra) throws Exception {
        Path f = dir.resolve("daemon.yaml");
        Files.writeString(f, "version: 1\nstate: state\n" + extra + "projects:\n  - policy: " + policy + "\n");
        return DaemonConfig.load(f);
    }

    @Test
    void problem_policyOutsideEveryWorkspace_isNone() throws Exception {
        Files.createDirectories(dir.resolve("etc"));
        assertThat(PolicyLocations.problem(config("etc/airlock.yaml", ""))).isEmpty();
    }

    @Test
    void problem_policyInAMembersWorkspace_isRefusedWithTheFix() throws Exception {
        Files.createDirectories(dir.resolve("state-workspaces/p/w-0123abcd"));
        assertThat(PolicyLocations.problem(config("state-workspaces/p/w-0123abcd/airlock.yaml", "")))
                .hasValueSatisfying(m -> assertThat(m).contains("which sandboxes write", "Fix:", "/etc/airlock"));
    }

    @Test
    void problem_policyInAnOverlayOrStagingTree_isRefused() throws Exception {
        assertThat(PolicyLocations.problem(config("state/overlays/alk0123abcd/airlock.yaml", ""))).isPresent();
        assertThat(PolicyLocations.problem(config("state/staging/p-0123abcd/tree/airlock.yaml", ""))).isPresent();
    }

    @Test
    void problem_orgOrHostsInAProjectsWorkspace_isRefused_throughALinkToo() throws Exception {
        Path ws = Files.createDirectories(dir.resolve("srv/payments"));
        Files.createDirectories(dir.resolve("etc"));
        Files.createSymbolicLink(dir.resolve("etc/org.yaml"), ws.resolve("org.yaml"));
        Files.writeString(ws.resolve("org.yaml"), "version: 1\n");
        Path f = dir.resolve("daemon.yaml");
        Files.writeString(f, "version: 1\nstate: state\norg: etc/org.yaml\nprojects:\n  - policy: etc/airlock.yaml\n    workspace: srv/payments\n");
        assertThat(PolicyLocations.problem(DaemonConfig.load(f))).hasValueSatisfying(m -> assertThat(m).contains("org.yaml"));
    }

    @Test
    void problem_ofOneFile_aPolicyRePointedIntoAWorkspaceWhileTheDaemonRuns_isRefusedAtReload() throws Exception {
        Files.createDirectories(dir.resolve("etc"));
        Path real = Files.writeString(dir.resolve("etc/real.yaml"), "version: 1\n");
        Path link = Files.createSymbolicLink(dir.resolve("etc/airlock.yaml"), real);
        DaemonConfig c = config("etc/airlock.yaml", "");
        assertThat(PolicyLocations.problem(c, java.util.List.of(link))).as("control: outside every workspace").isEmpty();
        Path ws = Files.createDirectories(dir.resolve("state-workspaces/p/w-0123abcd"));
        Files.writeString(ws.resolve("airlock.yaml"), "version: 1\n");
        Files.delete(link);
        Files.createSymbolicLink(link, ws.resolve("airlock.yaml"));

        assertThat(PolicyLocations.problem(c, java.util.List.of(link))).hasValueSatisfying(m -> assertThat(m).contains("which sandboxes write"));
    }
}
