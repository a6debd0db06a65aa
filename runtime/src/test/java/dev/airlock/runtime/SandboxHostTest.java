package dev.airlock.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.audit.AuditSink;
import dev.airlock.gateway.resolve.HostsFile;
import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.sandbox.FakeKernel;
import dev.airlock.sandbox.GatewayPorts;
import dev.airlock.sandbox.KernelOp;
import dev.airlock.sandbox.LinkRange;
import dev.airlock.sandbox.Owner;
import dev.airlock.sandbox.Resources;
import dev.airlock.sandbox.SandboxException;
import dev.airlock.sandbox.SandboxLauncher;
import dev.airlock.sandbox.SandboxSpec;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link SandboxHost} above the kernel: its kernel is injected ({@link FakeKernel}), so the host's
 * own sequence (reap at start, prepare and register, destroy and unregister, close) runs without
 * root. The gateway is real and listens on loopback ports of this machine.
 */
class SandboxHostTest {

    @TempDir
    Path tmp;
    FakeKernel kernel;
    Path state;
    Path workspace;
    PolicyEngine engine;
    PolicyEngine other;

    @BeforeEach
    void setUp() throws Exception {
        // the sandbox user must be able to reach the workspace
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        kernel = new FakeKernel(tmp.resolve("run"));
        state = Files.createDirectories(tmp.resolve("state"));
        workspace = Files.createDirectories(tmp.resolve("ws"));
        Path policy = Files.writeString(tmp.resolve("airlock.yaml"), "version: 1\nproject: demo\nnetwork:\n  allow: [git.test]\n");
        engine = PolicyEngine.compile(PolicyFiles.loadProject(policy), OrgPolicy.NONE, Phase.RUN, List.of(LinkRange.DEFAULT.range()));
        other = PolicyEngine.compile(PolicyFiles.loadProject(policy), OrgPolicy.NONE, Phase.SETUP, List.of(LinkRange.DEFAULT.range()));
    }

    private SandboxHost.Config config(AuditSink audit) throws Exception {
        return new SandboxHost.Config(state, HostsFile.parse("hosts", "198.18.0.7 git.test\n"), audit, new SimpleMeterRegistry(), 1,
                "airlock.yaml");
    }

    @Test
    void prepare_buildsOnTheInjectedKernel_andRegistersTheMemberAtTheGateway() throws Exception {
        try (SandboxHost host = SandboxHost.start(config(AuditSink.discarding()), kernel)) {
            SandboxHost.Member m = host.prepare("demo", engine, Resources.DEFAULT, workspace);

            assertThat(kernel.objects()).contains("netns " + m.sandbox().netns(), "link " + m.sandbox().hostVeth(),
                    "table " + m.sandbox().nftTable(), "cgroup " + m.sandbox().cgroup());
            // registered under engine: a reload from it reaches this member, one from another engine does not
            assertThat(host.swapPolicy("demo", other, engine)).isZero();
            assertThat(host.swapPolicy("demo", engine, other)).isEqualTo(1);
            host.destroy(m);
        }
    }

    @Test
    void daemonHost_startsItsSandboxesInASessionOfTheirOwn_aRunsHostInTheCallers() throws Exception {
        // The daemon's: a Ctrl-C in the terminal that started it reaches the daemon alone, which stops its sandboxes in order.
        try (SandboxHost host = SandboxHost.start(config(AuditSink.discarding()), kernel)) {
            host.destroy(host.prepare("demo", engine, Resources.DEFAULT, workspace));
        }
        assertThat(kernel.startsInOwnSession()).containsExactly(true);
        // A run's (the cold path): its command is the terminal's foreground job, and gets its Ctrl-C as any command does.
        SandboxLauncher launcher = new SandboxLauncher(state, LinkRange.DEFAULT, kernel);
        try (SandboxHost host = SandboxHost.on(launcher, HostsFile.parse("hosts", "198.18.0.7 git.test\n"), AuditSink.discarding(), "x")) {
            host.destroy(host.prepare("demo", engine, Resources.DEFAULT, workspace));
        } finally {
            launcher.close();
        }
        assertThat(kernel.startsInOwnSession()).containsExactly(true, false);
    }

    @Test
    void destroy_unregistersTheMember_andRemovesEveryKernelObject() throws Exception {
        try (SandboxHost host = SandboxHost.start(config(AuditSink.discarding()), kernel)) {
            SandboxHost.Member m = host.prepare("demo", engine, Resources.DEFAULT, workspace);
            assertThat(kernel.objects()).as("control: the member had kernel objects").isNotEmpty();

            host.destroy(m);

            assertThat(kernel.objects()).isEmpty();
            assertThat(host.swapPolicy("demo", engine, other)).as("no member left under the engine").isZero();
        }
    }

    @Test
    void prepare_thatFailsInTheKernel_leavesNothing_andRegistersNothing() throws Exception {
        try (SandboxHost host = SandboxHost.start(config(AuditSink.discarding()), kernel)) {
            kernel.failOnce(op -> op instanceof KernelOp.CreateCgroup);

            assertThatThrownBy(() -> host.prepare("demo", engine, Resources.DEFAULT, workspace)).isInstanceOf(SandboxException.class)
                    .hasMessageContaining("injected failure");

            assertThat(kernel.objects()).isEmpty();
            assertThat(host.swapPolicy("demo", engine, other)).isZero();
            // control: the same host prepares once the kernel stops failing
            host.destroy(host.prepare("demo", engine, Resources.DEFAULT, workspace));
        }
    }

    @Test
    void start_reapsWhatACrashedOwnerLeft_andKeepsWhatALiveOneHolds() throws Exception {
        Owner running = new Owner(6100, 12);
        kernel.live(running);
        String leftover = kernel.leftOver(new Owner(6000, 11), state, spec()).netns();
        try (SandboxLauncher alive = new SandboxLauncher(tmp.resolve("other-state"), LinkRange.DEFAULT, kernel.as(running))) {
            String kept = alive.prepare(spec()).netns();
            assertThat(kernel.objects()).as("control: both are there before the host starts").contains("netns " + leftover, "netns " + kept);

            try (SandboxHost host = SandboxHost.start(config(AuditSink.discarding()), kernel)) {
                assertThat(kernel.objects()).doesNotContain("netns " + leftover).contains("netns " + kept);
            }
        }
    }

    private SandboxSpec spec() {
        return new SandboxSpec("demo", workspace, Resources.DEFAULT, new GatewayPorts(1, 2));
    }

    @Test
    void close_ofAHostItStarted_closesItsLauncher_andTheAuditSink() throws Exception {
        ClosingAudit audit = new ClosingAudit();
        SandboxHost host = SandboxHost.start(config(audit), kernel);
        host.prepare("demo", engine, Resources.DEFAULT, workspace);

        host.close();

        assertThat(host.launcher().closed()).isTrue();
        assertThat(kernel.objects()).as("the launcher's close destroys what it held").isEmpty();
        assertThat(audit.closed).isTrue();
    }

    @Test
    void close_ofAHostOnTheCallersLauncher_leavesTheLauncherOpen_andClosesTheAuditSink() throws Exception {
        ClosingAudit audit = new ClosingAudit();
        try (SandboxLauncher launcher = new SandboxLauncher(state, LinkRange.DEFAULT, kernel)) {
            SandboxHost host = SandboxHost.on(launcher, HostsFile.parse("hosts", ""), audit, "airlock.yaml");

            host.close();

            assertThat(launcher.closed()).isFalse();
            assertThat(audit.closed).isTrue();
        }
    }

    /** An audit sink that accepts everything (discards it) and remembers whether it was closed. */
    private static final class ClosingAudit implements AuditSink {
        private final AuditSink discard = AuditSink.discarding();
        volatile boolean closed;

        @Override
        public boolean submit(AuditEvent event) {
            return discard.submit(event);
        }

        @Override
        public boolean healthy() {
            return discard.healthy();
        }

        @Override
        public void close() {
            closed = true;
        }
    }
}
