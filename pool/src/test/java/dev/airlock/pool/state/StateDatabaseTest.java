package dev.airlock.pool.state;

import dev.airlock.pool.usage.ClaimRecord;
import dev.airlock.pool.usage.Retention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StateDatabaseTest {

    private static final Instant NOW = Instant.parse("2026-11-27T12:00:00Z");
    private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);

    @TempDir
    Path dir;

    private StateDatabase open() throws StateDatabaseException {
        return StateDatabase.open(dir.resolve("airlock.db"), Retention.DEFAULT, CLOCK);
    }

    private static ClaimRecord warm(String project, Instant t) {
        return ClaimRecord.warm(project, t, Duration.ofMillis(7), Duration.ofMillis(1850), Duration.ofMinutes(12));
    }

    @Test
    void append_thenQuery_returnsEveryFieldInTimeOrder() throws Exception {
        ClaimRecord w = warm("payments", NOW.minusSeconds(60));
        ClaimRecord c = ClaimRecord.cold("payments", NOW.minusSeconds(120), Duration.ofMillis(2100), Duration.ofNanos(2_000_123_000));
        ClaimRecord f = ClaimRecord.failed("payments", NOW.minusSeconds(30), Duration.ofSeconds(5));
        try (StateDatabase store = open()) {
            store.append(w);
            store.append(c);
            store.append(f);
            assertThat(store.query("payments", NOW.minusSeconds(3600))).containsExactly(c, w, f);
        }
    }

    @Test
    void query_filtersByProjectAndSince() throws Exception {
        try (StateDatabase store = open()) {
            store.appendAll(List.of(warm("payments", NOW.minusSeconds(7200)), warm("payments", NOW.minusSeconds(60)),
                    warm("billing", NOW.minusSeconds(60))));
            assertThat(store.query("payments", NOW.minusSeconds(3600))).extracting(ClaimRecord::time).containsExactly(NOW.minusSeconds(60));
            assertThat(store.query("billing", Instant.EPOCH)).hasSize(1);
            assertThat(store.queryAll(Instant.EPOCH)).hasSize(3);
        }
    }

    @Test
    void open_setsWalModeAndSchemaVersion() throws Exception {
        Path db = dir.resolve("airlock.db");
        open().close();
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("PRAGMA journal_mode")) {
                assertThat(rs.getString(1)).isEqualTo("wal");
            }
            try (ResultSet rs = s.executeQuery("PRAGMA user_version")) {
                assertThat(rs.getInt(1)).isEqualTo(StateDatabase.SCHEMA_VERSION);
            }
        }
    }

    @Test
    void open_again_keepsHistory() throws Exception {
        try (StateDatabase store = open()) {
            store.append(warm("payments", NOW.minusSeconds(60)));
        }
        try (StateDatabase store = open()) {
            assertThat(store.query("payments", Instant.EPOCH)).hasSize(1);
        }
    }

    /** Without close(): the connection is simply dropped, as a crash would; commits are already on disk. */
    @Test
    void open_afterConnectionAbandoned_keepsCommittedClaims() throws Exception {
        StateDatabase abandoned = open();
        abandoned.append(warm("payments", NOW.minusSeconds(60)));
        assertThat(Files.exists(dir.resolve("airlock.db-wal"))).as("the claim sits in the write-ahead log").isTrue();
        try (StateDatabase store = open()) {
            assertThat(store.query("payments", Instant.EPOCH)).hasSize(1);
            store.append(warm("payments", NOW.minusSeconds(30)));
        }
        abandoned.close();
    }

    @Test
    void open_newerSchema_refusedWithFix() throws Exception {
        Path db = dir.resolve("airlock.db");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement s = c.createStatement()) {
            s.execute("PRAGMA user_version = 99");
        }
        assertThatThrownBy(() -> StateDatabase.open(db, Retention.DEFAULT, CLOCK))
                .isInstanceOf(StateDatabaseException.class)
                .hasMessageContaining(db.toString())
                .hasMessageContaining("schema version 99")
                .hasMessageContaining("upgrade Airlock");
    }

    @Test
    void open_notADatabase_refusedNamingTheFile() throws Exception {
        Path db = dir.resolve("airlock.db");
        Files.writeString(db, "this is not a database, it is a text file that is long enough to have a header of its own".repeat(10));
        assertThatThrownBy(() -> StateDatabase.open(db, Retention.DEFAULT, CLOCK))
                .isInstanceOf(StateDatabaseException.class)
                .hasMessageStartingWith(db.toString())
                .hasMessageContaining("move it away");
    }

    @Test
    void open_missingDirectory_refusedWithFix() {
        Path db = dir.resolve("no-such-dir").resolve("airlock.db");
        assertThatThrownBy(() -> StateDatabase.open(db)).isInstanceOf(StateDatabaseException.class)
                .hasMessageContaining("does not exist; create it");
    }

    @Test
    void prune_dropsClaimsOlderThanMaxAge() throws Exception {
        Retention week = new Retention(Duration.ofDays(7), 1000);
        Path db = dir.resolve("airlock.db");
        try (StateDatabase store = StateDatabase.open(db, week, CLOCK)) {
            store.appendAll(List.of(warm("payments", NOW.minus(Duration.ofDays(8))), warm("payments", NOW.minus(Duration.ofDays(6)))));
            assertThat(store.prune()).isEqualTo(1);
            assertThat(store.query("payments", Instant.EPOCH)).extracting(ClaimRecord::time).containsExactly(NOW.minus(Duration.ofDays(6)));
        }
    }

    @Test
    void open_prunesWhatRetentionNoLongerKeeps() throws Exception {
        Path db = dir.resolve("airlock.db");
        try (StateDatabase store = StateDatabase.open(db, Retention.DEFAULT, CLOCK)) {
            store.append(warm("payments", NOW.minus(Duration.ofDays(20))));
        }
        Clock later = Clock.fixed(NOW.plus(Duration.ofDays(10)), ZoneOffset.UTC);
        try (StateDatabase store = StateDatabase.open(db, new Retention(Duration.ofDays(28), 1000), later)) {
            assertThat(store.query("payments", Instant.EPOCH)).isEmpty();
        }
    }

    @Test
    void append_beyondMaxRows_keepsTheNewest() throws Exception {
        Retention small = new Retention(Duration.ofDays(56), 10);
        List<ClaimRecord> records = new ArrayList<>();
        for (int i = 0; i < 1005; i++) {
            records.add(warm("payments", NOW.minusSeconds(2000 - i)));
        }
        try (StateDatabase store = StateDatabase.open(dir.resolve("airlock.db"), small, CLOCK)) {
            store.appendAll(records);
            List<ClaimRecord> kept = store.query("payments", Instant.EPOCH);
            assertThat(kept).hasSize(10);
            assertThat(kept.getLast()).isEqualTo(records.getLast());
            assertThat(kept.getFirst()).isEqualTo(records.get(995));
        }
    }

    @Test
    void record_ageAtClaimOnColdClaim_refused() {
        assertThatThrownBy(() -> new ClaimRecord("payments", NOW, ClaimRecord.Result.COLD, Duration.ZERO, Optional.empty(),
                Optional.of(Duration.ofSeconds(1)))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("warm");
    }

    @Test
    void record_negativeDuration_refused() {
        assertThatThrownBy(() -> ClaimRecord.failed("payments", NOW, Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("negative");
    }

    /** The daemon records claims from many request threads at once; none may be lost or torn. */
    @Test
    void append_fromManyThreads_keepsEveryClaim() throws Exception {
        int threads = 8;
        int each = 50;
        try (StateDatabase store = open()) {
            List<Thread> running = new ArrayList<>();
            List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int t = 0; t < threads; t++) {
                int id = t;
                running.add(Thread.ofPlatform().start(() -> {
                    for (int i = 0; i < each; i++) {
                        try {
                            store.append(warm("p" + id, NOW.minusSeconds(i)));
                        } catch (StateDatabaseException e) {
                            failures.add(e);
                        }
                    }
                }));
            }
            for (Thread t : running) {
                t.join();
            }
            assertThat(failures).isEmpty();
            assertThat(store.queryAll(Instant.EPOCH)).hasSize(threads * each);
            assertThat(store.query("p3", Instant.EPOCH)).hasSize(each);
        }
    }
}
