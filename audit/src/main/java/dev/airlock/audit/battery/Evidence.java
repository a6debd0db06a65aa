package dev.airlock.audit.battery;

import java.util.List;

/**
 * A gateway decision the probe caused, from the audit log: enough to find the record with
 * {@code airlock log} and to say why it was decided so.
 */
public record Evidence(long seq, String via, String name, int port, String decision, String reason, String rule) {

    public static String describe(List<Evidence> records) {
        StringBuilder b = new StringBuilder();
        for (Evidence e : records) {
            if (!b.isEmpty()) {
                b.append("; ");
            }
            b.append("seq ").append(e.seq()).append(' ').append(e.via()).append(' ').append(e.name())
                    .append(e.port() > 0 ? ":" + e.port() : "").append(' ').append(e.decision()).append(' ').append(e.reason());
        }
        return b.toString();
    }
}
