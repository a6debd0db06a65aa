package dev.airlock.gateway.registry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.address.IpAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

class SandboxRegistryTest {

    private static PolicyEngine engine(String project) {
        return PolicyEngine.of(project, List.of(), List.of(), List.of(), List.of());
    }

    @Test
    void swapPolicy_switchesOnlyTheProjectsSandboxesUnderTheOldEngine() {
        SandboxRegistry r = new SandboxRegistry();
        PolicyEngine run = engine("p");
        PolicyEngine setup = engine("p");
        PolicyEngine other = engine("q");
        PolicyEngine next = engine("p");
        Sandbox member = r.register("m", "p", List.of(IpAddress.ipv4(1)), run);
        Sandbox templateSetup = r.register("s", "p", List.of(IpAddress.ipv4(2)), setup);
        Sandbox otherProject = r.register("o", "q", List.of(IpAddress.ipv4(3)), other);

        assertThat(r.swapPolicy("p", run, next)).isEqualTo(1);

        assertThat(member.engine()).isSameAs(next);
        assertThat(templateSetup.engine()).as("a setup keeps its setup-phase engine").isSameAs(setup);
        assertThat(otherProject.engine()).isSameAs(other);
    }

    @Test
    void updatePolicyOf_oneSandbox_unknownIdIsIgnored() {
        SandboxRegistry r = new SandboxRegistry();
        PolicyEngine next = engine("p");
        Sandbox s = r.register("m", "p", List.of(IpAddress.ipv4(1)), engine("p"));

        r.updatePolicyOf("m", next);
        r.updatePolicyOf("gone", engine("p"));

        assertThat(s.engine()).isSameAs(next);
    }
}
