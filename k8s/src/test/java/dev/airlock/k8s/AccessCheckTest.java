package dev.airlock.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class AccessCheckTest {

    @Test
    void role_isTheOneTheDocsShip() throws Exception {
        String shipped = Files.readString(Path.of("../docs/kubernetes/rbac.yaml"));
        assertThat(shipped).contains(AccessCheck.role("airlock"));
    }

    @Test
    void role_grantsEveryNeededVerb() {
        String role = AccessCheck.role("team-a");
        assertThat(role).contains("namespace: team-a");
        AccessCheck.NEEDED.forEach(g -> assertThat(role).contains("resources: [" + g.resource() + "]\n    verbs: [" + String.join(", ", g.verbs()) + "]"));
    }
}
