package dev.airlock.gateway.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.registry.Sandbox;
import dev.airlock.gateway.registry.SandboxRegistry;
import dev.airlock.gateway.resolve.HostsFile;
import dev.airlock.policy.HostFacts;
import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.ProductionAddresses;
import dev.airlock.policy.Reason;
import dev.airlock.policy.address.HostAddresses;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.address.IpLiterals;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Issue 15 §2: the dial-time re-check (UpstreamDialer → Tunnel.recheck) decides with the same
 * engine, so the same classifier and the same live host snapshot: an address that became the
 * host's between the decision and the dial is refused there too.
 */
class DialTimeHostAddressTest {

    private static IpAddress ip(String s) {
        return ((IpLiterals.Canonical) IpLiterals.shape(s)).address();
    }

    @Test
    void recheck_anAddressThatBecameTheHostsSinceTheDecision_isRefused() throws Exception {
        AtomicReference<HostAddresses> host = new AtomicReference<>(HostAddresses.NONE);
        PolicyEngine engine = PolicyEngine.compile(PolicyFiles.parseProject("airlock.yaml",
                        "version: 1\nproject: demo\nnetwork:\n  allow: [app.test]\n"), OrgPolicy.NONE, Phase.RUN, List.of(),
                new HostFacts(host::get, () -> ProductionAddresses.NONE));
        try (Gateway gw = new Gateway(new Gateway.Config(HostsFile.parse("hosts", "198.18.40.9 app.test\n"), new RecordingAudit(),
                GatewayMetrics.inMemory(), GatewayLimits.DEFAULT, 1, false, "airlock.yaml"), new SandboxRegistry())) {
            Sandbox sb = gw.registry().register("sbx-h", "demo", List.of(), engine);
            ConnectionAuthorizer.Authorization a = gw.authorizer().authorize(sb, AuditEvent.Via.EXPLICIT, "c", "app.test", 443)
                    .get(5, TimeUnit.SECONDS);
            assertThat(a.allowed()).as("positive control: not the host's address when decided").isTrue();
            assertThat(a.tunnel().recheck(engine, ip("198.18.40.9"))).isTrue();
            host.set(new HostAddresses(Set.of(ip("198.18.40.9"))));
            assertThat(a.tunnel().recheck(engine, ip("198.18.40.9"))).as("assigned to the host since: refused at dial time").isFalse();
            ConnectionAuthorizer.Authorization again = gw.authorizer().authorize(sb, AuditEvent.Via.EXPLICIT, "c", "app.test", 443)
                    .get(5, TimeUnit.SECONDS);
            assertThat(again.decision().reason()).isEqualTo(Reason.HOST_ADDRESS);
        }
    }
}
