package dev.airlock.server;

import dev.airlock.gateway.audit.AuditEvent;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The denials the dashboard shows: the most recent ones, and counts per hour and reason for its
 * 48-hour plot. Both are bounded (a flood of denials costs a fixed amount). The local daemon fills
 * it from its gateway's events ({@link DaemonEvents}); the Kubernetes daemon from the records its
 * gateway pods forward into its audit chain ({@link ForwardedDenials}).
 */
final class RecentDenials {

    /** Denials the dashboard lists. */
    static final int RECENT = 100;
    /** Hours of denial counts kept for the dashboard's plot (two days). */
    static final int HOURS = 48;

    /** A denial as the dashboard lists it: when it happened (as far as the daemon knows), and the event. */
    record Denial(Instant time, AuditEvent event) {
    }

    private final Deque<Denial> recent = new ArrayDeque<>();
    /** Epoch hour → reason → denials; bounded by {@link #HOURS} and the fixed reason vocabulary. */
    private final NavigableMap<Long, Map<String, Long>> perHour = new TreeMap<>();

    synchronized void add(Instant time, AuditEvent e) {
        recent.addFirst(new Denial(time, e));
        if (recent.size() > RECENT) {
            recent.removeLast();
        }
        perHour.computeIfAbsent(time.getEpochSecond() / 3600, h -> new TreeMap<>()).merge(e.reason().code, 1L, Long::sum);
        while (perHour.size() > HOURS) {
            perHour.pollFirstEntry();
        }
    }

    /** Newest first. */
    synchronized List<Denial> recent() {
        return List.copyOf(recent);
    }

    /** Denials per epoch hour and reason, for the dashboard's plot. */
    synchronized SortedMap<Long, Map<String, Long>> perHour() {
        SortedMap<Long, Map<String, Long>> copy = new TreeMap<>();
        perHour.forEach((h, m) -> copy.put(h, Map.copyOf(m)));
        return copy;
    }
}
