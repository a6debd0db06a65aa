package dev.airlock.sandbox;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Finds a standby's init ({@link Standby#INIT}, the shell inside the sandbox) among the descendants
 * of the process the launcher started: that one runs in the sandbox's finished root, whose
 * {@code /dev/pts} is the sandbox's own devpts. Only descendants of the given process are looked at,
 * so a recycled PID elsewhere on the host is never taken for it.
 */
final class StandbyInit {

    private StandbyInit() {
    }

    /** The init's PID, waiting at most {@code wait} for bubblewrap to exec it. */
    static long find(Process started, Duration wait) throws SandboxException {
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            Optional<Long> pid = started.toHandle().descendants().map(ProcessHandle::pid).filter(StandbyInit::isInit).findFirst();
            if (pid.isPresent()) {
                return pid.get();
            }
            if (!started.isAlive()) {
                throw new SandboxException("the sandbox's init exited (" + started.exitValue() + ") before its terminal was made."
                        + " Fix: release it and claim another.");
            }
            if (System.nanoTime() > deadline) {
                throw new SandboxException("the sandbox's init did not start within " + wait.toSeconds() + " s. Fix: see the host's load;"
                        + " release it and claim another.");
            }
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new SandboxException("interrupted while waiting for the sandbox's init", e);
            }
        }
    }

    /** Its command line is exactly {@link Standby#INIT} (bubblewrap's own processes carry it after their options). */
    static boolean isInit(long pid) {
        try {
            byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
            String text = new String(raw, StandardCharsets.UTF_8);
            if (text.endsWith("\0")) {
                text = text.substring(0, text.length() - 1);
            }
            return List.of(text.split("\0", -1)).equals(Standby.INIT);
        } catch (IOException e) {
            return false; // gone, or not yet readable
        }
    }
}
