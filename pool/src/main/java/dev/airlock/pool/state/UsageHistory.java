package dev.airlock.pool.state;

import dev.airlock.pool.usage.ClaimRecord;
import java.time.Instant;
import java.util.List;

/**
 * The usage history the pool is sized from: one {@link ClaimRecord} per claim. {@link StateDatabase}
 * keeps it in {@code airlock.db}; tests may keep it in a list.
 */
public interface UsageHistory {

    /** Appends one claim, committed before this returns. */
    default void append(ClaimRecord record) throws StateDatabaseException {
        appendAll(List.of(record));
    }

    /** Appends claims at once: all of them are stored, or none. */
    void appendAll(List<ClaimRecord> records) throws StateDatabaseException;

    /** The claims of {@code project} at or after {@code since}, oldest first. */
    List<ClaimRecord> query(String project, Instant since) throws StateDatabaseException;

    /** Every project's claims at or after {@code since}, oldest first. */
    List<ClaimRecord> queryAll(Instant since) throws StateDatabaseException;
}
