package dev.airlock.runtime;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.audit.AuditSink;
import java.util.ArrayList;
import java.util.List;

/**
 * Passes every event to the audit log and keeps this run's own decisions, for the summary printed
 * after the command and for {@code --events}. The audit log stays the authority: if it refuses an
 * event, so does this sink, and the gateway fails closed.
 */
final class RunEvents implements AuditSink {

    private final AuditSink log;
    private final List<AuditEvent> mine = new ArrayList<>();

    RunEvents(AuditSink log) {
        this.log = log;
    }

    @Override
    public boolean submit(AuditEvent event) {
        if (!log.submit(event)) {
            return false;
        }
        synchronized (mine) {
            mine.add(event);
        }
        return true;
    }

    List<AuditEvent> events() {
        synchronized (mine) {
            return List.copyOf(mine);
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
