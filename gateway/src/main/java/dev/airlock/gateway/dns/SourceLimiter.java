package dev.airlock.gateway.dns;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;

/**
 * A counting semaphore with a second bound per source address: at most {@code total} slots in use,
 * and at most {@code perSource} of them held by one source. The per-source bound keeps one busy
 * sandbox from taking every slot and starving the others. Never blocks; thread-safe. The map holds
 * only sources with a slot in use, so it is bounded by {@code total}.
 */
final class SourceLimiter {

    private final int total;
    private final int perSource;
    private final Map<InetAddress, Integer> bySource = new HashMap<>();
    private int used;

    SourceLimiter(int total, int perSource) {
        if (total < 1 || perSource < 1) {
            throw new IllegalArgumentException("limits must be positive: " + total + ", " + perSource);
        }
        this.total = total;
        this.perSource = perSource;
    }

    /** Takes a slot for {@code source}, or returns false at once when either bound is reached. */
    synchronized boolean tryAcquire(InetAddress source) {
        int mine = bySource.getOrDefault(source, 0);
        if (used >= total || mine >= perSource) {
            return false;
        }
        used++;
        bySource.put(source, mine + 1);
        return true;
    }

    /** Returns a slot taken by {@link #tryAcquire} for the same source. */
    synchronized void release(InetAddress source) {
        Integer mine = bySource.get(source);
        if (mine == null) {
            throw new IllegalStateException("no slot is held for " + source);
        }
        if (mine == 1) {
            bySource.remove(source);
        } else {
            bySource.put(source, mine - 1);
        }
        used--;
    }

    synchronized int used() {
        return used;
    }

    synchronized int used(InetAddress source) {
        return bySource.getOrDefault(source, 0);
    }
}
