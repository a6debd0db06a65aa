package dev.airlock.gateway.audit;

import dev.airlock.policy.Reason;
import java.util.List;

/**
 * One thing the gateway must record: a decision or the close of an allowed connection. The writer
 * adds {@code seq}, {@code time}, {@code prev} and {@code hash} (DESIGN.md §2) when it appends.
 * Strings from the network ({@code name}) are escaped by the writer, never written raw.
 *
 * @param decision allow or deny; written as its {@link Decision#code}
 * @param rule     the deciding rule as text, or "-"
 * @param reason   why; written as its {@link Reason#code}
 */
public record AuditEvent(Event event, String sandbox, String project, Via via, String client, String name, int port,
        List<String> addresses, Decision decision, String rule, Reason reason, long bytesUp, long bytesDown,
        long durationMs) {

    public AuditEvent {
        addresses = List.copyOf(addresses);
    }

    public enum Event {
        DECISION("decision"), CLOSE("close");

        public final String code;

        Event(String code) {
            this.code = code;
        }
    }

    /** The written {@code decision} field: "allow" or "deny" (docs/audit-log.md). */
    public enum Decision {
        ALLOW("allow"), DENY("deny");

        public final String code;

        Decision(String code) {
            this.code = code;
        }

        public static Decision of(boolean allowed) {
            return allowed ? ALLOW : DENY;
        }

        /** The code, as it is written, so that text built from an event reads as the log does. */
        @Override
        public String toString() {
            return code;
        }
    }

    public enum Via {
        TRANSPARENT("transparent"), EXPLICIT("explicit"), DNS("dns");

        public final String code;

        Via(String code) {
            this.code = code;
        }
    }
}
