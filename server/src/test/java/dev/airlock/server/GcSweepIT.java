package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.sandbox.MemberWorkspaces;
import dev.airlock.sandbox.SandboxLauncher;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 17 §3: a member workspace that a daemon killed with {@code kill -9} created but never
 * recorded (no sandbox holds it) is removed by {@code airlock gc}, but only while no daemon runs on
 * that state directory: a running daemon creates workspaces before it records them.
 */
class GcSweepIT {

    @TempDir
    Path tmp;

    @BeforeAll
    static void root() {
        Root.require();
    }

    private Path unrecordedWorkspace(Path state) throws Exception {
        Path ws = Files.createDirectories(MemberWorkspaces.root(state).resolve("soak").resolve("w-0123abcd"));
        Files.writeString(ws.resolve("work.txt"), "left by a killed daemon\n");
        return ws;
    }

    @Test
    void sweep_noDaemonOnTheState_removesAWorkspaceNoSandboxHolds() throws Exception {
        Path state = Files.createDirectories(tmp.resolve("state"));
        Files.createFile(state.resolve("daemon.lock")); // a daemon ran here once
        Path ws = unrecordedWorkspace(state);
        try (SandboxLauncher launcher = SandboxLauncher.system(state)) {
            assertThat(DaemonServer.sweepMemberWorkspacesIfNoDaemon(state, launcher)).hasValueSatisfying(
                    removed -> assertThat(removed).containsExactly("workspace " + ws));
        }
        assertThat(ws).doesNotExist();
    }

    @Test
    void sweep_aDaemonHoldsTheState_leavesItsWorkspacesAlone() throws Exception {
        Path state = Files.createDirectories(tmp.resolve("state"));
        Path ws = unrecordedWorkspace(state);
        // Another process stands in for the running daemon, holding the same kind of lock (a POSIX
        // record lock, as FileChannel.tryLock takes; flock(1) would take a BSD lock, which does not conflict).
        Process daemon = new ProcessBuilder("python3", "-c", "import fcntl, sys, time\n"
                + "f = open(sys.argv[1], 'a')\nfcntl.lockf(f, fcntl.LOCK_EX)\nprint('locked', flush=True)\ntime.sleep(60)\n",
                state.resolve("daemon.lock").toString()).start();
        try {
            assertThat(new String(daemon.getInputStream().readNBytes(7), java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("locked\n");
            assertThat(lockHeldElsewhere(state)).as("positive control: the stand-in holds the daemon's lock").isTrue();
            try (SandboxLauncher launcher = SandboxLauncher.system(state)) {
                assertThat(DaemonServer.sweepMemberWorkspacesIfNoDaemon(state, launcher)).isEmpty();
            }
            assertThat(ws.resolve("work.txt")).as("a running daemon's workspace").exists();
        } finally {
            daemon.destroyForcibly();
            daemon.waitFor();
        }
    }

    private static boolean lockHeldElsewhere(Path state) throws Exception {
        try (FileChannel ch = FileChannel.open(state.resolve("daemon.lock"), StandardOpenOption.WRITE); FileLock l = ch.tryLock()) {
            return l == null;
        }
    }
}
