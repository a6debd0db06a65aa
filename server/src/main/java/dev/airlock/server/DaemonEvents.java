package dev.airlock.server;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.audit.AuditSink;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Passes every gateway event to the audit log, and keeps in memory what the daemon shows: the most
 * recent denials (dashboard, {@link RecentDenials}) and each live sandbox's own denials (the summary a run prints). The
 * audit log stays the authority: when it refuses an event, so does this sink, and the gateway fails
 * closed. Both memories are bounded, so a sandbox that floods denials costs a fixed amount.
 */
final class DaemonEvents implements AuditSink {

    /** Denials kept per sandbox for its summary; beyond this the summary counts on what it has. */
    static final int PER_SANDBOX = 1000;

    private final AuditSink log;
    private final Clock clock;
    private final RecentDenials recent = new RecentDenials();
    private final Map<String, List<AuditEvent>> bySandbox = new ConcurrentHashMap<>();

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
            recent.add(clock.instant(), e);
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

    /** The dashboard's denials, each at the time the daemon saw it. */
    RecentDenials denials() {
        return recent;
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
