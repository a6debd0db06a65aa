package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.airlock.pool.warm.WarmPool;
import dev.airlock.runtime.SandboxHost;
import dev.airlock.sandbox.FakeKernel;
import dev.airlock.sandbox.GatewayPorts;
import dev.airlock.sandbox.LinkRange;
import dev.airlock.sandbox.Owner;
import dev.airlock.sandbox.Resources;
import dev.airlock.sandbox.SandboxLauncher;
import dev.airlock.sandbox.SandboxSpec;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon's pool logic above the kernel: the daemon runs on a {@link FakeKernel} (its seam,
 * {@link Daemon.HostStart}), so fill, claim, release, rotate and the reap at start run as plain
 * unit tests, with no network namespace, cgroup or bubblewrap. Each sandbox's init is a process
 * that waits ({@code sleep}), as a real init waits for its command.
 */
class DaemonPoolTest {

    private static final String PROJECT = "daemon-it";

    @TempDir
    Path tmp;
    FakeKernel kernel;
    Path dir;
    final ByteArrayOutputStream logged = new ByteArrayOutputStream();
    Daemon daemon;

    @BeforeEach
    void setUp() throws Exception {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        kernel = new FakeKernel(tmp.resolve("run"));
        kernel.runs(List.of("sleep", "600"));
        dir = tmp.resolve("daemon");
    }

    @AfterEach
    void tearDown() {
        if (daemon != null) {
            daemon.close();
        }
    }

    private Daemon start(int size) throws Exception {
        DaemonConfig config = DaemonConfig.load(DaemonFixture.write(dir, size, 4));
        daemon = Daemon.start(config, new PrintStream(logged, true, StandardCharsets.UTF_8), "test", c -> SandboxHost.start(c, kernel));
        return daemon;
    }

    private WarmPool.Status status() {
        return daemon.projects().get(PROJECT).pool().status();
    }

    /** The network namespaces in the fake kernel: one per sandbox. */
    private Set<String> netns() {
        return kernel.objects().stream().filter(o -> o.startsWith("netns ")).map(o -> o.substring(6)).collect(Collectors.toSet());
    }

    private Set<String> readyIds() {
        return daemon.projects().get(PROJECT).pool().members().stream().filter(m -> !daemon.projects().get(PROJECT).pool().inUse(m))
                .map(Daemon.PoolMember::id).collect(Collectors.toSet());
    }

    /** Waits (at most 60 s, the pool fills in the background) until {@code done}; fails with {@code what} and the daemon's log. */
    private void await(String what, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("never: " + what + "; pool " + status() + "; kernel " + kernel.objects() + "; log:\n" + logged.toString(StandardCharsets.UTF_8));
            }
            Thread.sleep(20);
        }
    }

    @Test
    void start_fillsThePoolToItsSize_oneSandboxEachInTheKernel() throws Exception {
        start(2);

        await("two ready members", () -> status().ready() == 2);

        assertThat(netns()).hasSize(2).isEqualTo(readyIds());
    }

    @Test
    void claim_takesAWarmMember_andTheRefillReplacesIt() throws Exception {
        start(2);
        await("two ready members", () -> status().ready() == 2);
        Set<String> before = readyIds();

        Daemon.Session s = daemon.claim(PROJECT);

        assertThat(s.warm).isTrue();
        assertThat(before).contains(s.id());
        await("the pool refilled behind the claim", () -> status().ready() == 2 && status().inUse() == 1);
        assertThat(netns()).hasSize(3).contains(s.id());
        assertThat(readyIds()).doesNotContain(s.id());
    }

    @Test
    void release_destroysTheClaimedSandbox_andKeepsThePoolFull() throws Exception {
        start(1);
        await("one ready member", () -> status().ready() == 1);
        Daemon.Session s = daemon.claim(PROJECT);
        await("the refill", () -> status().ready() == 1);
        assertThat(netns()).as("control: the claimed sandbox is in the kernel").contains(s.id());

        daemon.release(s.id());

        await("the released sandbox is gone", () -> !netns().contains(s.id()));
        assertThat(status().inUse()).isZero();
        assertThat(netns()).hasSize(1).isEqualTo(readyIds());
    }

    @Test
    void rotate_replacesEveryReadyMember_andRemovesTheOldOnesFromTheKernel() throws Exception {
        start(2);
        await("two ready members", () -> status().ready() == 2);
        Set<String> old = readyIds();

        daemon.projects().get(PROJECT).pool().rotate();

        await("two new ready members", () -> status().ready() == 2 && readyIds().stream().noneMatch(old::contains));
        await("the old members removed", () -> netns().stream().noneMatch(old::contains));
        assertThat(netns()).isEqualTo(readyIds());
    }

    @Test
    void start_reapsTheSandboxesOfACrashedDaemon_andKeepsALiveOwnersOnes() throws Exception {
        Owner running = new Owner(7100, 22);
        kernel.live(running);
        SandboxSpec spec = new SandboxSpec(PROJECT, Files.createDirectories(tmp.resolve("ws")), Resources.DEFAULT, new GatewayPorts(1, 2));
        DaemonConfig config = DaemonConfig.load(DaemonFixture.write(dir, 0, 4));
        String leftover = kernel.leftOver(new Owner(7000, 21), config.state(), spec).id();
        try (SandboxLauncher other = new SandboxLauncher(tmp.resolve("other-state"), LinkRange.DEFAULT, kernel.as(running))) {
            String kept = other.prepare(spec).id();
            assertThat(netns()).as("control: both are in the kernel before the daemon starts").contains(leftover, kept);

            start(0);

            assertThat(netns()).doesNotContain(leftover).contains(kept);
        }
    }

    @Test
    void close_leavesNothingInTheKernel() throws Exception {
        start(2);
        await("two ready members", () -> status().ready() == 2);
        daemon.claim(PROJECT);
        await("the refill", () -> status().ready() == 2);
        assertThat(kernel.objects()).as("control: three sandboxes").isNotEmpty();

        daemon.close();
        daemon = null;

        assertThat(kernel.objects()).isEmpty();
    }
}
