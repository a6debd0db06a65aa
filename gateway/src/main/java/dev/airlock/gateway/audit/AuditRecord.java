package dev.airlock.gateway.audit;

import java.time.Instant;
import java.util.List;

/**
 * One line of the audit log, as written and as read back (DESIGN.md §2, docs/audit-log.md). Every
 * string is already printable ASCII: the writer passed it through
 * {@link dev.airlock.policy.Printable#escape}, and the reader refuses anything else. {@code reason}
 * may be a code this version does not know ({@link RecordedReason.Unknown}), kept as written.
 */
public record AuditRecord(long seq, Instant time, AuditEvent.Event event, String sandbox, String project,
        AuditEvent.Via via, String client, String name, int port, List<String> addresses, AuditEvent.Decision decision, String rule,
        RecordedReason reason, long bytesUp, long bytesDown, long durationMs, String prev, String hash) {

    public AuditRecord {
        addresses = List.copyOf(addresses);
    }

    public boolean denied() {
        return decision == AuditEvent.Decision.DENY;
    }

    /** {@code time} as the log writes it: ISO-8601 in UTC with milliseconds. */
    public String timeText() {
        return AuditCodec.formatTime(time);
    }

    /** This record as the end of the chain. */
    public ChainHead head() {
        return new ChainHead(seq, hash);
    }
}
