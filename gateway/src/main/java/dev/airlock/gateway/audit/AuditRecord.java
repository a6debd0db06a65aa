package dev.airlock.gateway.audit;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * One line of the audit log, as written and as read back (DESIGN.md §2, docs/audit-log.md). Every
 * string is already printable ASCII: the writer passed it through
 * {@link dev.airlock.policy.Printable#escape}, and the reader refuses anything else. {@code reason}
 * may be a code this version does not know ({@link RecordedReason.Unknown}), kept as written. {@code origin}
 * is present on a record another writer's chain held first (a gateway pod's, forwarded to the daemon).
 */
public record AuditRecord(long seq, Instant time, AuditEvent.Event event, String sandbox, String project,
        AuditEvent.Via via, String client, String name, int port, List<String> addresses, AuditEvent.Decision decision, String rule,
        RecordedReason reason, long bytesUp, long bytesDown, long durationMs, Optional<Origin> origin, String prev, String hash) {

    public AuditRecord {
        addresses = List.copyOf(addresses);
        java.util.Objects.requireNonNull(origin, "origin");
    }

    /** A record this chain's own writer made (no {@link Origin}). */
    public AuditRecord(long seq, Instant time, AuditEvent.Event event, String sandbox, String project,
            AuditEvent.Via via, String client, String name, int port, List<String> addresses, AuditEvent.Decision decision, String rule,
            RecordedReason reason, long bytesUp, long bytesDown, long durationMs, String prev, String hash) {
        this(seq, time, event, sandbox, project, via, client, name, port, addresses, decision, rule, reason, bytesUp, bytesDown,
                durationMs, Optional.empty(), prev, hash);
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
