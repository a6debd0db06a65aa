package dev.airlock.gateway.proxy;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.audit.AuditSink;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** An in-memory audit sink that can be told to fail, for fail-closed tests. */
final class RecordingAudit implements AuditSink {

    final List<AuditEvent> events = new CopyOnWriteArrayList<>();
    volatile boolean failing;

    @Override
    public boolean submit(AuditEvent event) {
        if (failing) {
            return false;
        }
        events.add(event);
        return true;
    }

    @Override
    public boolean healthy() {
        return !failing;
    }

    @Override
    public void close() {
    }

    List<AuditEvent> decisions() {
        return events.stream().filter(e -> e.event() == AuditEvent.Event.DECISION).toList();
    }

    List<AuditEvent> closes() {
        return events.stream().filter(e -> e.event() == AuditEvent.Event.CLOSE).toList();
    }
}
