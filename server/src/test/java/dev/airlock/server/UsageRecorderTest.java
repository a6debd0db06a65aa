package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.pool.state.StateDatabaseException;
import dev.airlock.pool.state.UsageHistory;
import dev.airlock.pool.usage.ClaimRecord;
import dev.airlock.pool.warm.PoolListener;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The recorder against an in-memory {@link UsageHistory}: no database, no daemon. */
class UsageRecorderTest {

    private static final Instant NOW = Instant.parse("2026-11-27T12:00:00Z");
    private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);

    /** Keeps claims in a list; fails every append when told to. */
    private static final class ListHistory implements UsageHistory {
        final List<ClaimRecord> claims = new ArrayList<>();
        boolean failing;

        @Override
        public synchronized void appendAll(List<ClaimRecord> records) throws StateDatabaseException {
            if (failing) {
                throw new StateDatabaseException("/state/airlock.db: cannot record a claim: disk full", null);
            }
            claims.addAll(records);
        }

        @Override
        public synchronized List<ClaimRecord> query(String project, Instant since) {
            return claims.stream().filter(c -> c.project().equals(project) && !c.time().isBefore(since)).toList();
        }

        @Override
        public synchronized List<ClaimRecord> queryAll(Instant since) {
            return claims.stream().filter(c -> !c.time().isBefore(since)).toList();
        }
    }

    @Test
    void claimed_recordsEachResultAsItsClaimRecord() {
        ListHistory history = new ListHistory();
        try (UsageRecorder recorder = new UsageRecorder(history, PoolListener.NONE, CLOCK, new PrintStream(new ByteArrayOutputStream()))) {
            recorder.claimed("payments", PoolListener.Result.WARM, Duration.ofMillis(7), Duration.ofMinutes(12), Duration.ofSeconds(2));
            recorder.claimed("payments", PoolListener.Result.COLD, Duration.ofSeconds(3), Duration.ZERO, Duration.ofSeconds(2));
            recorder.claimed("payments", PoolListener.Result.FAILED, Duration.ofSeconds(5), Duration.ZERO, Duration.ZERO);
        }
        assertThat(history.query("payments", Instant.EPOCH)).containsExactly(
                ClaimRecord.warm("payments", NOW, Duration.ofMillis(7), Duration.ofSeconds(2), Duration.ofMinutes(12)),
                ClaimRecord.cold("payments", NOW, Duration.ofSeconds(3), Duration.ofSeconds(2)),
                ClaimRecord.failed("payments", NOW, Duration.ofSeconds(5)));
    }

    @Test
    void claimed_historyUnwritable_logsAndKeepsServing() {
        ListHistory history = new ListHistory();
        history.failing = true;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        try (UsageRecorder recorder = new UsageRecorder(history, PoolListener.NONE, CLOCK, new PrintStream(log, true, StandardCharsets.UTF_8))) {
            recorder.claimed("payments", PoolListener.Result.WARM, Duration.ofMillis(7), Duration.ofMinutes(12), Duration.ofSeconds(2));
        }
        assertThat(history.claims).isEmpty();
        assertThat(log.toString(StandardCharsets.UTF_8)).contains("cannot record a claim in the usage history").contains("disk full");
    }
}
