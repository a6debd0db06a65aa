package dev.airlock.audit.battery;

import java.util.List;
import java.util.Optional;

/**
 * One probe's line of the report.
 *
 * @param observed what happened, in words (the agent's detail)
 * @param output   the probe's own output (error text included), bounded
 * @param records  the gateway's audit records for this probe (their {@code seq})
 */
public record ProbeResult(String id, String category, String target, String expected, Status status, String observed,
        String output, List<Evidence> records, Optional<ControlResult> control, long durationMs) {

    public ProbeResult {
        records = List.copyOf(records);
    }
}
