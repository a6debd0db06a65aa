package dev.airlock.gateway.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.gateway.registry.Sandbox;
import dev.airlock.gateway.registry.SandboxRegistry;
import dev.airlock.gateway.resolve.HostsFile;
import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 18 (3): a gateway shared by many projects (the daemon's, labelled "daemon") names, in a
 * 403 body, the policy file the sandbox's own engine was compiled from, as a cold run does.
 */
class PooledDenialAdviceTest {

    @Test
    void response_sharedGateway_namesTheSandboxsPolicyFile() throws Exception {
        PolicyEngine engine = PolicyEngine.compile(PolicyFiles.parseProject("/srv/projects/web/airlock.yaml",
                "version: 1\nproject: web\nnetwork:\n  allow: [docs.test]\n"), OrgPolicy.NONE, Phase.RUN, List.of());
        try (Gateway gw = new Gateway(new Gateway.Config(HostsFile.parse("hosts", "198.18.0.9 other.test\n"), new RecordingAudit(),
                GatewayMetrics.inMemory(), GatewayLimits.DEFAULT, 1, false, "daemon"), new SandboxRegistry())) {
            Sandbox sb = gw.registry().register("sbx-p", "web", List.of(), engine);
            InetSocketAddress proxy = gw.explicitListener(new InetSocketAddress("127.0.0.1", 0), sb);
            try (Socket s = new Socket(proxy.getAddress(), proxy.getPort())) {
                s.setSoTimeout(10_000);
                TestGateway.send(s, "GET http://other.test:8080/ HTTP/1.1\r\nHost: other.test:8080\r\n\r\n");
                TestGateway.Response r = TestGateway.read(s);
                assertThat(r.status()).isEqualTo(403);
                assertThat(r.body()).contains("to allow it, add under network.allow in /srv/projects/web/airlock.yaml:")
                        .contains("- other.test:8080").doesNotContain("in daemon");
            }
        }
    }
}
