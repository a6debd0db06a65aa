package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 17 §1: a ready member lives until it is claimed, rotated or the daemon stops, and the
 * pool's {@code ready} is the kernel's truth. Against the real kernel, through the API.
 */
class DaemonIdleIT {

    /**
     * Longer than every thread keep-alive in the daemon's JVM: the virtual-thread scheduler's
     * carriers (30 s), the daemon's pool workers (30 s by default), the JDK's process reapers
     * (60 s). Before the fix the members died with the pool thread that had forked them.
     */
    static final long IDLE_MS = 65_000;

    @TempDir
    Path tmp;

    @BeforeAll
    static void root() {
        Root.require();
    }

    /** The ids and init PIDs of the ready members, as the daemon holds them. */
    static Map<String, Long> readyMembers(DaemonServer server) {
        Daemon.ProjectPool p = server.daemon().projects().get("daemon-it");
        return p.pool().members().stream().filter(m -> !p.pool().inUse(m))
                .collect(Collectors.toMap(Daemon.PoolMember::id, m -> m.sandbox().standby().process().pid()));
    }

    static double deaths(DaemonServer server, String reason) {
        String line = server.daemon().meters().scrape().lines()
                .filter(l -> l.startsWith("airlock_pool_member_deaths_total{") && l.contains("reason=\"" + reason + "\""))
                .findFirst().orElseThrow(() -> new AssertionError("no airlock_pool_member_deaths_total for " + reason));
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
    }

    static JsonNode runTrue(DaemonClient c) throws Exception {
        List<JsonNode> started = new ArrayList<>();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        JsonNode last = c.run("daemon-it", List.of("/bin/sh", "-c", "echo ran"), Map.of(), new ByteArrayInputStream(new byte[0]), out,
                OutputStream.nullOutputStream(), started::add);
        assertThat(last.path("exit").asInt()).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("ran\n");
        return started.get(0);
    }

    @Test
    void idleLongerThanEveryThreadKeepAlive_membersStayAlive_andTheNextClaimIsWarm() throws Exception {
        Path config = DaemonFixture.write(tmp, 2, 8);
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), System.err)) {
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            DaemonIT.eventually(() -> DaemonIT.status(c).path("ready").asInt() == 2, "two sandboxes warm");
            Map<String, Long> before = readyMembers(server);
            assertThat(before).hasSize(2);
            assertThat(before.values()).allMatch(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));

            Thread.sleep(IDLE_MS);

            // the kernel's view: the same inits still run, and every sandbox still has its namespace
            assertThat(before.values()).as("the members' inits after %d ms idle", IDLE_MS)
                    .allMatch(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
            assertThat(before.keySet()).allMatch(DaemonFixture::netnsExists);
            JsonNode s = DaemonIT.status(c);
            assertThat(s.path("ready").asInt()).isEqualTo(2);
            assertThat(s.path("memberDeaths").asInt()).isZero();
            assertThat(readyMembers(server)).isEqualTo(before);

            JsonNode started = runTrue(c);
            assertThat(started.path("warm").asBoolean()).as("the claim after the idle gap").isTrue();
            assertThat(before).containsKey(started.path("sandbox").asText());
        }
        assertThat(DaemonFixture.leasesOf(ProcessHandle.current().pid())).isEmpty();
    }

    @Test
    void memberKilledFromOutside_leavesReadyAtOnce_isCountedAndLogged_andIsReplaced() throws Exception {
        Path config = DaemonFixture.write(tmp, 2, 8);
        ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
        java.io.PrintStream log = new java.io.PrintStream(new OutputStream() {
            @Override
            public synchronized void write(int b) {
                System.err.write(b);
                logBytes.write(b);
            }

            @Override
            public synchronized void write(byte[] b, int off, int len) {
                System.err.write(b, off, len);
                logBytes.write(b, off, len);
            }
        }, true);
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), log)) {
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            DaemonIT.eventually(() -> DaemonIT.status(c).path("ready").asInt() == 2, "two sandboxes warm");
            Map<String, Long> before = readyMembers(server);
            String victim = before.keySet().iterator().next();
            assertThat(deaths(server, "killed")).isZero();

            Process kill = new ProcessBuilder("kill", "-KILL", Long.toString(before.get(victim))).start();
            assertThat(kill.waitFor()).isZero();

            // at once: well before any periodic check (the daemon's tick is a minute)
            long t0 = System.nanoTime();
            while (readyMembers(server).containsKey(victim) && System.nanoTime() - t0 < 5_000_000_000L) {
                Thread.sleep(10);
            }
            assertThat(readyMembers(server)).as("ready after the kill").doesNotContainKey(victim);
            assertThat(deaths(server, "killed")).isEqualTo(1.0);
            assertThat(DaemonIT.status(c).path("memberDeaths").asInt()).isEqualTo(1);
            assertThat(logBytes.toString(StandardCharsets.UTF_8)).contains(victim).contains("exit status 137");

            DaemonIT.eventually(() -> readyMembers(server).size() == 2, "replaced");
            DaemonIT.eventually(() -> !DaemonFixture.netnsExists(victim), "the dead member's objects removed");
            Set<String> now = readyMembers(server).keySet();
            assertThat(now).doesNotContain(victim).contains(before.keySet().stream().filter(id -> !id.equals(victim)).findFirst().orElseThrow());
            assertThat(runTrue(c).path("warm").asBoolean()).isTrue();
        }
        assertThat(DaemonFixture.leasesOf(ProcessHandle.current().pid())).isEmpty();
    }
}
