package dev.airlock.gateway.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.audit.AuditSink;
import dev.airlock.gateway.proxy.GatewayMetrics;
import dev.airlock.gateway.registry.Sandbox;
import dev.airlock.gateway.registry.SandboxRegistry;
import dev.airlock.gateway.resolve.HostsFile;
import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The one wiring of a gateway: what it listens on, and that close and a failed start leave nothing open. */
class GatewayStackTest {

    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    SandboxRegistry registry;
    Sandbox sandbox;
    final List<String> closed = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        registry = new SandboxRegistry();
        PolicyEngine engine = PolicyEngine.compile(PolicyFiles.parseProject("airlock.yaml",
                "version: 1\nproject: demo\nnetwork:\n  allow: [git.test]\n"), OrgPolicy.NONE, Phase.RUN, List.of());
        sandbox = registry.register("local", "demo", List.of(), engine);
    }

    private GatewayStack.Builder builder() throws Exception {
        return GatewayStack.builder(HostsFile.parse("hosts", "198.18.0.7 git.test\n"), new NamedAudit("audit", closed),
                GatewayMetrics.inMemory()).registry(registry).ioThreads(1);
    }

    private static boolean accepts(InetSocketAddress a) throws Exception {
        try (Socket s = new Socket()) {
            s.connect(a, 2000);
            return true;
        } catch (ConnectException refused) {
            return false;
        }
    }

    @Test
    void start_listensWhereAsked_andCloseStopsTheListeners_thenClosesWhatItOwns_lastHandedFirst() throws Exception {
        GatewayStack stack = builder().explicit(new InetSocketAddress(LOOPBACK, 0), sandbox).dns(new InetSocketAddress(LOOPBACK, 0))
                .owning(() -> closed.add("facts")).owning(() -> closed.add("poller")).start();
        InetSocketAddress explicit = stack.explicitAddress().orElseThrow();
        assertThat(stack.dnsAddress()).isPresent();
        assertThat(stack.transparentAddress()).isEmpty();
        assertThat(accepts(explicit)).as("the explicit proxy listens").isTrue();
        assertThat(stack.registry()).isSameAs(registry);

        stack.close();

        assertThat(accepts(explicit)).as("stopped").isFalse();
        assertThat(closed).containsExactly("poller", "facts", "audit");
        stack.close();
        assertThat(closed).as("close is idempotent").hasSize(3);
    }

    @Test
    void start_thatCannotBind_closesEverything_andThrows() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, LOOPBACK)) {
            InetSocketAddress busy = new InetSocketAddress(LOOPBACK, taken.getLocalPort());

            assertThatThrownBy(() -> builder().explicit(busy, sandbox).owning(() -> closed.add("facts")).start())
                    .isInstanceOf(Exception.class);

            assertThat(closed).containsExactly("facts", "audit");
        }
        // control: the same stack on a free port starts
        closed.clear();
        builder().explicit(new InetSocketAddress(LOOPBACK, 0), sandbox).start().close();
        assertThat(closed).containsExactly("audit");
    }

    /** An audit sink that accepts everything and notes its close. */
    private record NamedAudit(String name, List<String> closed) implements AuditSink {
        @Override
        public boolean submit(AuditEvent event) {
            return true;
        }

        @Override
        public boolean healthy() {
            return true;
        }

        @Override
        public void close() {
            closed.add(name);
        }
    }
}
