package dev.airlock.audit.battery;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.audit.AuditRecord;
import dev.airlock.gateway.audit.RecordedReason;
import java.util.List;

/**
 * A gateway decision the probe caused, from the audit log: enough to find the record with
 * {@code airlock log} and to say why it was decided so.
 *
 * @param reason as the log holds it: a code another Airlock version wrote stays readable here
 */
public record Evidence(long seq, AuditEvent.Via via, String name, int port, Entry entry, RecordedReason reason, String rule) {

    /** What the record says happened: a decision either way, or the close of an allowed connection. */
    public enum Entry {
        ALLOW("allow"), DENY("deny"), CLOSE("close");

        /** As the report prints it (the log's {@code decision} code, or {@code close}). */
        public final String code;

        Entry(String code) {
            this.code = code;
        }
    }

    /** The evidence one audit record gives. */
    public static Evidence of(AuditRecord r) {
        Entry entry = switch (r.event()) {
            case CLOSE -> Entry.CLOSE;
            case DECISION -> switch (r.decision()) {
                case ALLOW -> Entry.ALLOW;
                case DENY -> Entry.DENY;
            };
        };
        return new Evidence(r.seq(), r.via(), r.name(), r.port(), entry, r.reason(), r.rule());
    }

    public static String describe(List<Evidence> records) {
        StringBuilder b = new StringBuilder();
        for (Evidence e : records) {
            if (!b.isEmpty()) {
                b.append("; ");
            }
            b.append("seq ").append(e.seq()).append(' ').append(e.via().code).append(' ').append(e.name())
                    .append(e.port() > 0 ? ":" + e.port() : "").append(' ').append(e.entry().code).append(' ')
                    .append(e.reason().code());
        }
        return b.toString();
    }
}
