package dev.airlock.gateway.kernel;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.audit.AuditSink;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/**
 * An in-memory audit sink. Decisions are recorded before the gateway acts on them, so a decision
 * is there by the time the client sees the reset; close records follow the relay and are awaited.
 */
final class AuditRecorder implements AuditSink {

    private final List<AuditEvent> events = new CopyOnWriteArrayList<>();

    @Override
    public boolean submit(AuditEvent event) {
        events.add(event);
        return true;
    }

    @Override
    public boolean healthy() {
        return true;
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

    /** The first event matching, waiting (bounded) for it; fails with everything recorded otherwise. */
    AuditEvent await(AuditEvent.Event kind, Predicate<AuditEvent> p, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        do {
            for (AuditEvent e : events) {
                if (e.event() == kind && p.test(e)) {
                    return e;
                }
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        } while (System.nanoTime() < deadline);
        throw new AssertionError("no matching " + kind.code + " record within " + timeout + "; recorded: " + events);
    }
}
