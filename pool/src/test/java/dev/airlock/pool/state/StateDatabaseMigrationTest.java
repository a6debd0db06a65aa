package dev.airlock.pool.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.pool.usage.ClaimRecord;
import dev.airlock.pool.usage.Retention;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
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

/**
 * Files written before {@link StateDatabase} owned the schema open and keep their rows. The "old"
 * files are built here with the exact statements the old code ran: ClaimStore's schema 1, and
 * MemberRecords' tables, which it created beside it without touching the version.
 */
class StateDatabaseMigrationTest {

    private static final Instant NOW = Instant.parse("2026-11-27T12:00:00Z");
    private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);

    /** ClaimStore's migration 0 -> 1, as it shipped. */
    private static final List<String> CLAIM_STORE_SCHEMA_1 = List.of("""
            CREATE TABLE claim (
                id          INTEGER PRIMARY KEY,
                project     TEXT    NOT NULL,
                time_us     INTEGER NOT NULL,
                result      TEXT    NOT NULL CHECK (result IN ('warm', 'cold', 'failed')),
                claim_us    INTEGER NOT NULL CHECK (claim_us >= 0),
                prepare_us  INTEGER CHECK (prepare_us >= 0),
                age_us      INTEGER CHECK (age_us >= 0)
            )""",
            "CREATE INDEX claim_project_time ON claim (project, time_us)",
            "CREATE INDEX claim_time ON claim (time_us)",
            "PRAGMA user_version = 1");

    /** MemberRecords.open, as it shipped. */
    private static final List<String> MEMBER_RECORDS_TABLES = List.of(
            "CREATE TABLE IF NOT EXISTS daemon_members (id TEXT PRIMARY KEY, project TEXT NOT NULL,"
                    + " created_ms INTEGER NOT NULL, state TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS daemon_pool_samples (project TEXT NOT NULL, time_ms INTEGER NOT NULL,"
                    + " desired INTEGER NOT NULL, ready INTEGER NOT NULL, warming INTEGER NOT NULL, in_use INTEGER NOT NULL)",
            "CREATE INDEX IF NOT EXISTS daemon_pool_samples_time ON daemon_pool_samples (time_ms)");

    @TempDir
    Path dir;

    private Path oldFile(List<String> schema, String... rows) throws SQLException {
        Path db = dir.resolve("airlock.db");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement s = c.createStatement()) {
            s.execute("PRAGMA journal_mode=WAL");
            for (String sql : schema) {
                s.execute(sql);
            }
            for (String sql : rows) {
                s.execute(sql);
            }
        }
        return db;
    }

    private static long micros(Instant t) {
        return t.getEpochSecond() * 1_000_000L;
    }

    private static int userVersion(Path db) throws SQLException {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("PRAGMA user_version")) {
            return rs.getInt(1);
        }
    }

    private static List<String> migrationLog(Path db) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT version, applied_us FROM schema_migration ORDER BY version")) {
            while (rs.next()) {
                out.add(rs.getInt(1) + "@" + rs.getLong(2));
            }
        }
        return out;
    }

    @Test
    void open_fileOfTheOldDaemon_migratesAndKeepsClaimsMembersAndSamples() throws Exception {
        List<String> schema = new ArrayList<>(CLAIM_STORE_SCHEMA_1);
        schema.addAll(MEMBER_RECORDS_TABLES);
        long t = micros(NOW.minusSeconds(600));
        Path db = oldFile(schema,
                "INSERT INTO claim (project, time_us, result, claim_us, prepare_us, age_us) VALUES ('payments', " + t + ", 'warm', 7000, 1850000, 720000000)",
                "INSERT INTO claim (project, time_us, result, claim_us, prepare_us, age_us) VALUES ('payments', " + (t + 1) + ", 'cold', 2100000, 2000000, NULL)",
                "INSERT OR REPLACE INTO daemon_members VALUES ('alk0123abcd', 'payments', " + NOW.minusSeconds(60).toEpochMilli() + ", 'ready')",
                "INSERT INTO daemon_pool_samples VALUES ('payments', " + NOW.minusSeconds(120).toEpochMilli() + ", 2, 1, 1, 1)");

        try (StateDatabase state = StateDatabase.open(db, Retention.DEFAULT, CLOCK)) {
            assertThat(state.query("payments", Instant.EPOCH)).containsExactly(
                    ClaimRecord.warm("payments", NOW.minusSeconds(600), Duration.ofMillis(7), Duration.ofMillis(1850), Duration.ofMinutes(12)),
                    ClaimRecord.cold("payments", NOW.minusSeconds(600).plusNanos(1000), Duration.ofMillis(2100), Duration.ofSeconds(2)));
            assertThat(state.all()).containsExactly(new MemberLog.Member("alk0123abcd", "payments", NOW.minusSeconds(60), "ready"));
            assertThat(state.window(NOW.minus(Duration.ofDays(1)), NOW)).containsExactly(
                    new PoolHistory.ProjectWindow("payments", 1, 1, 0, Optional.of(new PoolHistory.Size(1, 1, 2, 1, 1))));
        }
        assertThat(userVersion(db)).isEqualTo(StateDatabase.SCHEMA_VERSION).isEqualTo(2);
        assertThat(migrationLog(db)).as("only the migration this open applied").containsExactly("2@" + micros(NOW));
    }

    @Test
    void open_schema1WithoutDaemonTables_createsThem() throws Exception {
        Path db = oldFile(CLAIM_STORE_SCHEMA_1);
        try (StateDatabase state = StateDatabase.open(db, Retention.DEFAULT, CLOCK)) {
            state.put("alk0123abcd", "payments", NOW, "ready");
            state.sample("payments", NOW, 2, 2, 0, 0);
            assertThat(state.all()).extracting(MemberLog.Member::id).containsExactly("alk0123abcd");
        }
        assertThat(userVersion(db)).isEqualTo(2);
    }

    @Test
    void open_newFile_appliesEveryMigrationAndLogsEach() throws Exception {
        Path db = dir.resolve("airlock.db");
        StateDatabase.open(db, Retention.DEFAULT, CLOCK).close();
        StateDatabase.open(db, Retention.DEFAULT, CLOCK).close();
        assertThat(userVersion(db)).isEqualTo(2);
        assertThat(migrationLog(db)).as("applied once, on the first open").containsExactly("1@" + micros(NOW), "2@" + micros(NOW));
    }

    @Test
    void open_corruptFile_refusedNamingTheFileAndTheFix() throws Exception {
        Path db = dir.resolve("airlock.db");
        try (StateDatabase state = StateDatabase.open(db, Retention.DEFAULT, CLOCK)) {
            state.put("alk0123abcd", "payments", NOW, "ready");
        }
        byte[] bytes = Files.readAllBytes(db);
        assertThat(bytes.length).isGreaterThan(4096);
        // keep SQLite's 100-byte header, overwrite the schema page behind it: the file claims to be a database and is not one
        for (int i = 100; i < bytes.length; i++) {
            bytes[i] = (byte) 0xA5;
        }
        Files.write(db, bytes);
        assertThatThrownBy(() -> StateDatabase.open(db, Retention.DEFAULT, CLOCK))
                .isInstanceOf(StateDatabaseException.class)
                .hasMessageStartingWith(db.toString())
                .hasMessageContaining("corrupt")
                .hasMessageContaining("move it away");
    }

    @Test
    void openReadOnly_oldFile_readsWithoutMigratingIt() throws Exception {
        long t = micros(NOW.minusSeconds(60));
        Path db = oldFile(CLAIM_STORE_SCHEMA_1,
                "INSERT INTO claim (project, time_us, result, claim_us) VALUES ('payments', " + t + ", 'failed', 5)");
        try (StateDatabase state = StateDatabase.openReadOnly(db)) {
            assertThat(state.window(NOW.minus(Duration.ofDays(1)), NOW))
                    .containsExactly(new PoolHistory.ProjectWindow("payments", 0, 0, 1, Optional.empty()));
            assertThatThrownBy(() -> state.put("alk0123abcd", "payments", NOW, "ready")).isInstanceOf(StateDatabaseException.class)
                    .hasMessageContaining(db.toString());
        }
        assertThat(userVersion(db)).as("a reader never migrates").isEqualTo(1);
    }

    @Test
    void openReadOnly_newerSchema_refusedWithFix() throws Exception {
        Path db = oldFile(List.of("PRAGMA user_version = 99"));
        assertThatThrownBy(() -> StateDatabase.openReadOnly(db)).isInstanceOf(StateDatabaseException.class)
                .hasMessageContaining(db.toString()).hasMessageContaining("schema version 99").hasMessageContaining("upgrade Airlock");
    }

    @Test
    void openReadOnly_missingFile_refusedAndNotCreated() {
        Path db = dir.resolve("airlock.db");
        assertThatThrownBy(() -> StateDatabase.openReadOnly(db)).isInstanceOf(StateDatabaseException.class)
                .hasMessageContaining("does not exist");
        assertThat(db).doesNotExist();
    }
}
