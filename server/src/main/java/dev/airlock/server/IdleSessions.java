package dev.airlock.server;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.function.Supplier;

/**
 * Ends forgotten sessions: every tick, a claimed sandbox with no command running and none started
 * for longer than its idle timeout is released through the daemon's own release (the same path as
 * {@code airlock sandbox stop}, so whatever a release does, such as exporting the work, happens
 * here too), logged, and counted in {@code airlock_sessions_expired_total{project}}.
 */
final class IdleSessions {

    /** A claimed sandbox as the tick sees it. */
    record Tracked(String id, String project, SessionActivity activity) {
    }

    /** Releases a sandbox and returns its blocked summary (the daemon's {@code release}). */
    @FunctionalInterface
    interface Release {
        String release(String id) throws DaemonException;
    }

    /** Checks often enough that a session outlives its timeout by at most a quarter of it, and at most a minute. */
    static Duration period(Collection<IdleTimeout> timeouts) {
        Duration shortest = timeouts.stream().flatMap(t -> t.after().stream()).min(Duration::compareTo).orElse(Duration.ofHours(1));
        Duration quarter = shortest.dividedBy(4);
        return quarter.compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1)
                : quarter.compareTo(Duration.ofMinutes(1)) > 0 ? Duration.ofMinutes(1) : quarter;
    }

    private final Supplier<List<Tracked>> sessions;
    private final Release release;
    private final PrintStream log;
    private final MeterRegistry meters;

    IdleSessions(Supplier<List<Tracked>> sessions, Release release, PrintStream log, MeterRegistry meters) {
        this.sessions = sessions;
        this.release = release;
        this.log = log;
        this.meters = meters;
    }

    /** Registers the counter of a project at 0, so that it is scraped before its first expiry. */
    void watch(String project) {
        expired(project);
    }

    /** Releases every session that has been idle for too long; returns their ids. */
    List<String> tick() {
        List<String> ended = new java.util.ArrayList<>();
        for (Tracked s : sessions.get()) {
            Instant last = s.activity().lastActivity();
            if (!s.activity().expireIfIdle()) {
                continue;
            }
            try {
                String summary = release.release(s.id());
                expired(s.project()).increment();
                ended.add(s.id());
                log.println("airlock daemon: session " + s.id() + " of " + s.project() + " released: idle since " + last + ", longer than its idle timeout ("
                        + s.activity().timeout() + ")" + (nothingBlocked(summary) ? "" : "\n" + summary.stripTrailing()));
            } catch (DaemonException e) {
                // stopped by its user in the meantime: nothing to end
            } catch (RuntimeException e) {
                log.println("airlock daemon: releasing the idle session " + s.id() + " failed: " + e);
            }
        }
        return ended;
    }

    /** A release's summary that has nothing to say (its denials are the news a forgotten session's user missed). */
    private static boolean nothingBlocked(String summary) {
        return summary.isBlank() || summary.startsWith("airlock: nothing was blocked");
    }

    private Counter expired(String project) {
        return Counter.builder("airlock.sessions.expired").description("claimed sessions released after their idle timeout")
                .tag("project", project).register(meters);
    }
}
