package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.policy.address.Cidr;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The public rendering of a sandbox's rules is what the launcher applies, byte for byte. */
class NetworkRulesTest {

    private static final GatewayPorts PORTS = new GatewayPorts(40001, 40053);

    @Test
    void launcherNetwork_appliesExactlyTheRenderedRulesets() {
        LinkRange range = LinkRange.DEFAULT;
        SandboxRecord r = new SandboxRecord("alk0badcafe", "payments", Owner.NONE, 7, range.slot(7), range.hostAddress(7),
                range.sandboxAddress(7), Path.of("/tmp/ws"), List.of(), Path.of("/sys/fs/cgroup/alk0badcafe"), Path.of("/run/x"), 0);
        NetworkRules rules = new NetworkRules("alk0badcafe", range.hostAddress(7), range.sandboxAddress(7), PORTS);

        SandboxLauncher.Network n = SandboxLauncher.network(r, PORTS);

        assertThat(n.sandboxSide()).contains(new KernelOp.ApplyNftRuleset("alk0badcafe", "alk_0badcafe", rules.sandboxRuleset()));
        assertThat(n.hostSide()).contains(new KernelOp.ApplyNftRuleset(null, "alk_0badcafe", rules.hostRuleset()));
        assertThat(n.sandboxSide().stream().filter(op -> op instanceof KernelOp.ApplyNftRuleset)).hasSize(1);
        assertThat(n.hostSide().stream().filter(op -> op instanceof KernelOp.ApplyNftRuleset)).hasSize(1);
    }

    @Test
    void example_isTheFirstLinkOfTheDefaultRange() {
        NetworkRules e = NetworkRules.example(PORTS);

        assertThat(e.hostAddress()).isEqualTo(Cidr.of("100.96.0.1").network());
        assertThat(e.sandboxAddress()).isEqualTo(Cidr.of("100.96.0.2").network());
        assertThat(e.table()).isEqualTo("alk_00000000");
        assertThat(e.hostRuleset()).contains("iifname \"alk00000000h\"", "tproxy ip to :40001", "redirect to :40053");
        assertThat(e.sandboxRuleset()).contains("oifname \"alk00000000s\" ip saddr 100.96.0.2");
    }

    @Test
    void policyRouteCommands_areTheOnesTheHostRuns() {
        assertThat(NetworkRules.policyRouteCommands()).containsExactly(
                "ip route replace local 0.0.0.0/0 dev lo table 1095499776",
                "ip rule add fwmark 0x414c0000 lookup 1095499776 pref 100");
    }

    @Test
    void constructor_refusesAnIdOfAnotherShape() {
        assertThatThrownBy(() -> new NetworkRules("alkt0000000", LinkRange.DEFAULT.hostAddress(0), LinkRange.DEFAULT.sandboxAddress(0), PORTS))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
