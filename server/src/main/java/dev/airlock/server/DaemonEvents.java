package dev.airlock.server;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.audit.AuditSink;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Passes every gateway event to the audit log, and keeps in memory what the daemon shows: the most
 * recent denials (dashboard) and each live sandbox's own denials (the summary a run prints). The
 * audit log stays the authority: when it refuses an event, so does this sink, and the gateway fails
 * closed. Both memories are bounded, so a sandbox that floods denials costs a fixed amount.
 */
final class DaemonEvents implements AuditSink {

    /** Denials the dashboard lists. */
    static final int RECENT = 100;
    /** Denials kept per sandbox for its summary; beyond this the summary counts on what it has. */
    static final int PER_SANDBOX = 1000;

    /** Hours of denial counts kept for the dashboard's plot (two days). */
    static final int HOURS = 48;

    /** A denial as the dashboard lists it: when the daemon saw it, and the event. */
    record Denial(Instant time, AuditEvent event) {
    }

    private final AuditSink log;
    private final Clock clock;
    private final Deque<Denial> recent = new ArrayDeque<>();
    private final Map<String, List<AuditEvent>> bySandbox = new ConcurrentHashMap<>();
    /** Epoch hour → reason → denials; bounded by {@link #HOURS} and the fixed reason vocabulary. */
    private final NavigableMap<Long, Map<String, Long>> perHour = new TreeMap<>();

    DaemonEvents(AuditSink log, Clock clock) {
        this.log = log;
        this.clock = clock;
    }

    @Override
    public boolean submit(AuditEvent e) {
        if (!log.submit(e)) {
            return false;
        }
        if (e.decision() == AuditEvent.Decision.DENY) {
            Instant now = clock.instant();
            synchronized (recent) {
                recent.addFirst(new Denial(now, e));
                if (recent.size() > RECENT) {
                    recent.removeLast();
                }
                perHour.computeIfAbsent(now.getEpochSecond() / 3600, h -> new TreeMap<>()).merge(e.reason().code, 1L, Long::sum);
                while (perHour.size() > HOURS) {
                    perHour.pollFirstEntry();
                }
            }
            List<AuditEvent> mine = bySandbox.get(e.sandbox());
            if (mine != null) {
                synchronized (mine) {
                    if (mine.size() < PER_SANDBOX) {
                        mine.add(e);
                    }
                }
            }
        }
        return true;
    }

    /** Starts keeping {@code sandbox}'s denials. */
    void track(String sandbox) {
        bySandbox.put(sandbox, new ArrayList<>());
    }

    /** Stops keeping {@code sandbox}'s denials and returns them. */
    List<AuditEvent> untrack(String sandbox) {
        List<AuditEvent> mine = bySandbox.remove(sandbox);
        if (mine == null) {
            return List.of();
        }
        synchronized (mine) {
            return List.copyOf(mine);
        }
    }

    List<Denial> recentDenials() {
        synchronized (recent) {
            return List.copyOf(recent);
        }
    }

    /** Denials per epoch hour and reason, for the dashboard's plot. */
    SortedMap<Long, Map<String, Long>> denialsPerHour() {
        synchronized (recent) {
            SortedMap<Long, Map<String, Long>> copy = new TreeMap<>();
            perHour.forEach((h, m) -> copy.put(h, Map.copyOf(m)));
            return copy;
        }
    }

    @Override
    public boolean awaitWritten(java.time.Duration timeout) throws InterruptedException {
        return log.awaitWritten(timeout);
    }

    @Override
    public boolean healthy() {
        return log.healthy();
    }

    @Override
    public void close() {
        log.close();
    }
}
