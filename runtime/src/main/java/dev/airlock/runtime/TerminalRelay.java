package dev.airlock.runtime;

import dev.airlock.sandbox.SandboxException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Joins the caller's terminal (raw) to a command's own terminal in the same process (a cold
 * {@code airlock run}): keys to the command, its output to the caller, the caller's size on every
 * resize. The daemon does the same over its API ({@code server/TerminalStream}).
 */
final class TerminalRelay {

    private TerminalRelay() {
    }

    /** Relays until the command exits and its output is written; returns its exit status. */
    public static int run(TerminalCommand c, CallerTerminal caller, InputStream in, OutputStream out) throws InterruptedException {
        caller.onResize(size -> {
            try {
                c.terminal().resize(size);
            } catch (SandboxException e) {
                // the command has ended
            }
        });
        Thread output = Thread.ofPlatform().name("airlock-tty-out").start(() -> {
            byte[] buf = new byte[16384];
            try {
                for (int n; (n = c.terminal().read(buf)) > 0; ) {
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException e) {
                // the caller's terminal went away: the command still runs to its end
            }
        });
        // A daemon thread: blocked in the caller's read when the command ends, it must not keep the JVM.
        Thread.ofPlatform().daemon().name("airlock-tty-in").start(() -> {
            byte[] buf = new byte[4096];
            try {
                for (int n; (n = in.read(buf)) > 0; ) {
                    c.terminal().write(buf, 0, n);
                }
            } catch (IOException e) {
                // the command's terminal is closed
            }
        });
        try {
            int code = c.process().waitFor();
            c.terminal().commandEnded();
            output.join();
            return code;
        } finally {
            c.terminal().close();
        }
    }
}
