package dev.airlock.pool.state;

import dev.airlock.pool.usage.ClaimRecord;
import dev.airlock.pool.usage.Retention;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;

/**
 * The process {@link StateDatabaseKillTest} kills: appends N claims through the store, then leaves a
 * transaction open halfway (an insert, no commit), says "ready" and waits to be killed.
 */
final class StateDatabaseKillChild {

    public static void main(String[] args) throws Exception {
        Path db = Path.of(args[0]);
        int n = Integer.parseInt(args[1]);
        StateDatabase store = StateDatabase.open(db);
        for (int i = 0; i < n; i++) {
            store.append(ClaimRecord.warm("payments", Instant.parse("2026-11-27T12:00:00Z").plusSeconds(i), Duration.ofMillis(5),
                    Duration.ofSeconds(2), Duration.ofMinutes(1)));
        }
        Connection half = DriverManager.getConnection("jdbc:sqlite:" + db);
        half.setAutoCommit(false);
        try (Statement s = half.createStatement()) {
            s.execute("INSERT INTO claim (project, time_us, result, claim_us) VALUES ('payments', 1, 'cold', 1)");
        }
        System.out.println("ready");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
