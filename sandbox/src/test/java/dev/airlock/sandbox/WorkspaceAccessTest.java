package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Issue 19 §2: a cold run as root says, before the command starts, that the sandbox user cannot write the workspace. */
class WorkspaceAccessTest {

    private static final Path WS = Path.of("/srv/app");
    private static final SandboxUser NOBODY = new SandboxUser(65534, 65534);
    private static final SandboxUser CALLER = new SandboxUser(1000, 1000);

    @Test
    void problem_rootOwned755_forNobody_saysWhoRunsAndTheFix() {
        assertThat(WorkspaceAccess.problem(WS, 0, 0, 0755, NOBODY)).get().asString()
                .contains("uid 65534 (nobody, as no SUDO_UID says who called sudo), which cannot write the workspace /srv/app"
                        + " (owner 0:0, mode 755)")
                .contains("chown -R 65534:65534 /srv/app", "--workspace");
    }

    @Test
    void problem_ownedByTheSandboxUser_isNone() {
        assertThat(WorkspaceAccess.problem(WS, 1000, 1000, 0700, CALLER)).isEmpty();
    }

    @Test
    void problem_groupWritableForItsGroup_isNone_butNotWithoutX() {
        assertThat(WorkspaceAccess.problem(WS, 0, 1000, 0770, CALLER)).isEmpty();
        assertThat(WorkspaceAccess.problem(WS, 0, 1000, 0760, CALLER)).isPresent();
    }

    @Test
    void problem_ownerBitsDecideForTheOwner_evenWhenOthersMayWrite() {
        assertThat(WorkspaceAccess.problem(WS, 1000, 1000, 0577, CALLER)).get().asString().contains("the caller of sudo");
        assertThat(WorkspaceAccess.problem(WS, 0, 0, 0777, NOBODY)).isEmpty();
    }
}
