package dev.airlock.server;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * When a claimed sandbox was last used, and whether a command runs in it: what the idle timeout
 * reads. A session is idle while no command runs; its idle time counts from the claim or from the
 * last command's start or end, whichever is latest.
 *
 * <p>Expiry and a new command exclude each other under this object's lock: once {@link #expireIfIdle}
 * said yes, {@link #commandStarted} refuses, so the release that follows never kills a command
 * that started in between.
 */
final class SessionActivity {

    private final Clock clock;
    private final IdleTimeout timeout;
    private Instant last;
    private int running;
    private boolean expired;

    SessionActivity(Clock clock, IdleTimeout timeout) {
        this.clock = clock;
        this.timeout = timeout;
        this.last = clock.instant();
    }

    IdleTimeout timeout() {
        return timeout;
    }

    /** A command is about to start; refused once the session expired. */
    synchronized void commandStarted() throws DaemonException {
        if (expired) {
            throw new DaemonException("session expired: it was idle for longer than its idle timeout (" + timeout
                    + ") and is being released. Fix: create a new one with `airlock sandbox create`.");
        }
        running++;
        last = clock.instant();
    }

    /** A command ended (or failed to start). */
    synchronized void commandEnded() {
        running = Math.max(0, running - 1);
        last = clock.instant();
    }

    synchronized int running() {
        return running;
    }

    synchronized Instant lastActivity() {
        return last;
    }

    /** When the session will expire if nothing happens; empty while a command runs or without a limit. */
    synchronized Optional<Instant> expiresAt() {
        return running > 0 || expired ? Optional.empty() : timeout.after().map(last::plus);
    }

    /** True exactly once, when the session has been idle for longer than its timeout; from then on no command starts. */
    synchronized boolean expireIfIdle() {
        if (expired || running > 0 || timeout.after().isEmpty()) {
            return false;
        }
        Duration idle = Duration.between(last, clock.instant());
        if (idle.compareTo(timeout.after().get()) <= 0) {
            return false;
        }
        expired = true;
        return true;
    }
}
