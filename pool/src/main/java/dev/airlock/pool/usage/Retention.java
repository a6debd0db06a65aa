package dev.airlock.pool.usage;

import java.time.Duration;

/**
 * How much usage history the store keeps: records older than {@code maxAge}, and the oldest beyond
 * {@code maxRows}, are deleted. Both bounds hold, so a burst of claims cannot grow the file without end.
 */
public record Retention(Duration maxAge, long maxRows) {

    /**
     * Eight weeks: sizing averages each hour of the week over the weeks observed, and eight samples
     * per hour are plenty, while older habits (before a team grew or moved) should age out.
     * A million rows is about 100 MB, and over a hundred claims an hour for the whole eight weeks.
     */
    public static final Retention DEFAULT = new Retention(Duration.ofDays(56), 1_000_000);

    public Retention {
        if (maxAge.isNegative() || maxAge.isZero()) {
            throw new IllegalArgumentException("retention maxAge must be positive: " + maxAge);
        }
        if (maxRows < 1) {
            throw new IllegalArgumentException("retention maxRows must be at least 1: " + maxRows);
        }
    }
}
