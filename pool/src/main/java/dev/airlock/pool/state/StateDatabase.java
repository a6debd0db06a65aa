package dev.airlock.pool.state;

import dev.airlock.pool.usage.ClaimRecord;
import dev.airlock.pool.usage.Retention;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

/**
 * The daemon's SQLite database ({@code $STATE/airlock.db}): the one owner of its file, schema,
 * migrations and every query. The usage history ({@link UsageHistory}), the daemon's members
 * ({@link MemberLog}) and the pools' size over time ({@link PoolHistory}) are its tables; their users
 * take those interfaces, so that a test can hand them a fake.
 *
 * <p>Design: the daemon can be killed with {@code kill -9} at any moment, so every write is one
 * transaction and the database runs in WAL mode. SQLite replays or discards the write-ahead log on
 * the next open: a committed write survives, a half-written one vanishes whole. {@code synchronous=NORMAL}
 * is durable against the process dying (the log is in the kernel's page cache); only a power loss can
 * drop the last commits, which costs a few claims of history and never corrupts the file.
 *
 * <p>The schema version is the database's {@code user_version} (so an older Airlock, which reads only
 * that number, refuses a newer file instead of guessing); {@code schema_migration} lists each migration
 * with when it was applied. {@link #open} applies the missing {@link #MIGRATIONS} in one transaction,
 * and refuses a newer or corrupt file with the fix. Times are stored as epoch microseconds and durations
 * as microseconds (finer values are truncated); the daemon's own tables keep the milliseconds they were
 * first written with.
 *
 * <p>Thread-safe: one connection, every method synchronised. Writes arrive at human rates, so
 * serialising them costs nothing that matters.
 */
public final class StateDatabase implements UsageHistory, MemberLog, PoolHistory, AutoCloseable {

    /** One forward migration: the statements that move the schema from {@code version - 1} to {@code version}. */
    private record Migration(int version, String description, List<String> statements) {
    }

    private static final List<Migration> MIGRATIONS = List.of(
            // The claim table, indexed for "one project since T" and for retention by time.
            new Migration(1, "usage history: claim", List.of("""
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
                    "CREATE INDEX claim_time ON claim (time_us)")),
            // The daemon's tables. Daemons before schema 2 created them outside the version, hence IF NOT EXISTS:
            // a file they wrote keeps its rows.
            new Migration(2, "daemon members, pool-size samples, migration log", List.of(
                    "CREATE TABLE IF NOT EXISTS daemon_members (id TEXT PRIMARY KEY, project TEXT NOT NULL,"
                            + " created_ms INTEGER NOT NULL, state TEXT NOT NULL)",
                    "CREATE TABLE IF NOT EXISTS daemon_pool_samples (project TEXT NOT NULL, time_ms INTEGER NOT NULL,"
                            + " desired INTEGER NOT NULL, ready INTEGER NOT NULL, warming INTEGER NOT NULL, in_use INTEGER NOT NULL)",
                    "CREATE INDEX IF NOT EXISTS daemon_pool_samples_time ON daemon_pool_samples (time_ms)",
                    "CREATE TABLE schema_migration (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_us INTEGER NOT NULL)")));

    /** The schema this code writes: the last migration's version. */
    static final int SCHEMA_VERSION = MIGRATIONS.getLast().version();

    /** Prune every this many appends, so retention holds without a timer and costs nothing per claim. */
    private static final int PRUNE_EVERY = 1000;
    /** How long a writer waits for another connection's lock (the daemon may share the file). */
    private static final int BUSY_TIMEOUT_MS = 5000;
    /** How long pool-size samples are kept. */
    private static final Duration SAMPLE_RETENTION = Duration.ofDays(60);

    private final Path path;
    private final Connection connection;
    private final Retention retention;
    private final Clock clock;
    private int appendsSincePrune;

    private StateDatabase(Path path, Connection connection, Retention retention, Clock clock) {
        this.path = path;
        this.connection = connection;
        this.retention = retention;
        this.clock = clock;
    }

    /** Opens (creating if needed) the database at {@code db} with the default retention and the system clock. */
    public static StateDatabase open(Path db) throws StateDatabaseException {
        return open(db, Retention.DEFAULT, Clock.systemUTC());
    }

    /**
     * Opens the database at {@code db}, creating the file and its schema or migrating an older one, then
     * prunes the claims {@code retention} no longer keeps. The clock decides what "too old" means.
     */
    public static StateDatabase open(Path db, Retention retention, Clock clock) throws StateDatabaseException {
        Objects.requireNonNull(retention, "retention");
        Objects.requireNonNull(clock, "clock");
        Path parent = db.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw new StateDatabaseException(db + ": its directory " + parent + " does not exist; create it or pass another state directory", null);
        }
        StateDatabase store = new StateDatabase(db, connect(db, "jdbc:sqlite:" + db.toAbsolutePath()), retention, clock);
        store.prepare(true);
        return store;
    }

    /**
     * Opens an existing database read only, as it is: nothing is created, migrated or pruned (the
     * evidence bundle reads a running daemon's file). A file written before some table existed answers
     * without that table's data, or says so.
     */
    public static StateDatabase openReadOnly(Path db) throws StateDatabaseException {
        if (!Files.isRegularFile(db)) {
            throw new StateDatabaseException(db + " does not exist (the daemon has not run on this host)", null);
        }
        Connection c = connect(db, "jdbc:sqlite:file:" + db.toAbsolutePath() + "?mode=ro");
        StateDatabase store = new StateDatabase(db, c, Retention.DEFAULT, Clock.systemUTC());
        store.prepare(false);
        return store;
    }

    private static Connection connect(Path db, String url) throws StateDatabaseException {
        try {
            return DriverManager.getConnection(url);
        } catch (SQLException e) {
            throw new StateDatabaseException(db + ": cannot open the state database: " + e.getMessage()
                    + "; check that the file is readable and writable", e);
        }
    }

    /** Configures and migrates a writable connection, or checks the version of a read-only one; closes it on failure. */
    private void prepare(boolean writable) throws StateDatabaseException {
        try {
            if (writable) {
                configure();
            }
            connection.setAutoCommit(false);
            int version = checkedVersion();
            if (writable) {
                migrate(version);
                prune();
            } else {
                connection.commit();
            }
        } catch (SQLException | StateDatabaseException e) {
            try {
                connection.close();
            } catch (SQLException suppressed) {
                e.addSuppressed(suppressed);
            }
            if (e instanceof StateDatabaseException sde) {
                throw sde;
            }
            throw new StateDatabaseException(unusable((SQLException) e), e);
        }
    }

    /** The message for a file SQLite cannot use: a corrupt file or another program's file is moved away, not repaired. */
    private String unusable(SQLException e) {
        boolean broken = e instanceof SQLiteException s && (s.getResultCode() == SQLiteErrorCode.SQLITE_NOTADB
                || s.getResultCode() == SQLiteErrorCode.SQLITE_CORRUPT);
        if (broken) {
            return path + ": not an Airlock state database, or corrupt (" + e.getMessage() + "); move it away (with any "
                    + path.getFileName() + "-wal and -shm beside it) and Airlock starts a new one, without the old usage history";
        }
        return path + ": cannot prepare the state database: " + e.getMessage() + "; if the file is not an Airlock database, move it away";
    }

    public Path path() {
        return path;
    }

    private void configure() throws SQLException {
        try (Statement s = connection.createStatement()) {
            try (ResultSet rs = s.executeQuery("PRAGMA journal_mode = WAL")) {
                // The pragma answers with the mode in force; anything else means WAL is unavailable
                // (for example on a file system without shared memory), and kill -9 safety with it.
                if (!rs.next() || !"wal".equalsIgnoreCase(rs.getString(1))) {
                    throw new SQLException("the database refused WAL mode (journal_mode is "
                            + (rs.isClosed() ? "unknown" : rs.getString(1)) + ")");
                }
            }
            s.execute("PRAGMA synchronous = NORMAL");
            s.execute("PRAGMA busy_timeout = " + BUSY_TIMEOUT_MS);
        }
    }

    /** The file's schema version, refused when a newer Airlock wrote it. */
    private int checkedVersion() throws SQLException, StateDatabaseException {
        int version;
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery("PRAGMA user_version")) {
            version = rs.next() ? rs.getInt(1) : 0;
        }
        if (version > SCHEMA_VERSION) {
            connection.rollback();
            throw new StateDatabaseException(path + ": the state database has schema version " + version
                    + " but this Airlock knows up to " + SCHEMA_VERSION + "; upgrade Airlock, or move the file away to start a new history", null);
        }
        return version;
    }

    private void migrate(int version) throws SQLException {
        if (version == SCHEMA_VERSION) {
            connection.commit();
            return;
        }
        List<Migration> missing = MIGRATIONS.subList(version, MIGRATIONS.size());
        try (Statement s = connection.createStatement()) {
            for (Migration m : missing) {
                for (String sql : m.statements()) {
                    s.execute(sql);
                }
            }
            // The log table exists from version 2 on (created above); it lists the migrations each open applied.
            try (PreparedStatement log = connection.prepareStatement(
                    "INSERT INTO schema_migration (version, description, applied_us) VALUES (?, ?, ?)")) {
                for (Migration m : missing) {
                    bind(log, m.version(), m.description(), micros(clock.instant()));
                    log.executeUpdate();
                }
            }
            // user_version is transactional in SQLite: the schema and its version commit together.
            s.execute("PRAGMA user_version = " + SCHEMA_VERSION);
            connection.commit();
        } catch (SQLException e) {
            connection.rollback();
            throw e;
        }
    }

    /** Appends claims in one transaction: all of them are stored, or none. */
    @Override
    public synchronized void appendAll(List<ClaimRecord> records) throws StateDatabaseException {
        try (PreparedStatement insert = connection.prepareStatement(
                "INSERT INTO claim (project, time_us, result, claim_us, prepare_us, age_us) VALUES (?, ?, ?, ?, ?, ?)")) {
            for (ClaimRecord r : records) {
                insert.setString(1, r.project());
                insert.setLong(2, micros(r.time()));
                insert.setString(3, r.result().label);
                insert.setLong(4, micros(r.claimDuration()));
                setOptional(insert, 5, r.prepareDuration());
                setOptional(insert, 6, r.ageAtClaim());
                insert.addBatch();
            }
            insert.executeBatch();
            connection.commit();
        } catch (SQLException e) {
            rollbackQuietly(e);
            throw new StateDatabaseException(path + ": cannot record a claim: " + e.getMessage()
                    + "; check free disk space and that no other program holds the database", e);
        }
        appendsSincePrune += records.size();
        if (appendsSincePrune >= PRUNE_EVERY) {
            prune();
        }
    }

    @Override
    public synchronized List<ClaimRecord> query(String project, Instant since) throws StateDatabaseException {
        return rows("read the usage history", "SELECT project, time_us, result, claim_us, prepare_us, age_us FROM claim"
                + " WHERE project = ? AND time_us >= ? ORDER BY time_us, id", this::claim, project, micros(since));
    }

    @Override
    public synchronized List<ClaimRecord> queryAll(Instant since) throws StateDatabaseException {
        return rows("read the usage history", "SELECT project, time_us, result, claim_us, prepare_us, age_us FROM claim"
                + " WHERE time_us >= ? ORDER BY time_us, id", this::claim, micros(since));
    }

    /** Reads one row of a result into a value. */
    @FunctionalInterface
    private interface Row<T> {
        T read(ResultSet rs) throws SQLException;
    }

    /** Runs one query and reads every row; {@code what} completes "cannot ..." in the error. */
    private <T> List<T> rows(String what, String sql, Row<T> row, Object... values) throws StateDatabaseException {
        List<T> out = new ArrayList<>();
        try (PreparedStatement q = connection.prepareStatement(sql)) {
            bind(q, values);
            try (ResultSet rs = q.executeQuery()) {
                while (rs.next()) {
                    out.add(row.read(rs));
                }
            }
            connection.commit();
        } catch (SQLException e) {
            rollbackQuietly(e);
            throw new StateDatabaseException(path + ": cannot " + what + ": " + e.getMessage(), e);
        }
        return out;
    }

    private ClaimRecord claim(ResultSet rs) throws SQLException {
        String label = rs.getString(3);
        ClaimRecord.Result result = ClaimRecord.Result.ofLabel(label)
                .orElseThrow(() -> new SQLException("unknown claim result \"" + label + "\""));
        return new ClaimRecord(rs.getString(1), instant(rs.getLong(2)), result, Duration.ofNanos(rs.getLong(4) * 1000),
                optional(rs, 5), optional(rs, 6));
    }

    /**
     * Deletes what the retention no longer keeps: claims older than {@code maxAge} before now, then the
     * oldest beyond {@code maxRows}. Returns how many were deleted. {@link #open} and every
     * thousandth append call it; the daemon need not.
     */
    public synchronized int prune() throws StateDatabaseException {
        appendsSincePrune = 0;
        Instant cutoff = clock.instant().minus(retention.maxAge());
        try (PreparedStatement byAge = connection.prepareStatement("DELETE FROM claim WHERE time_us < ?");
                PreparedStatement byCount = connection.prepareStatement(
                        "DELETE FROM claim WHERE id IN (SELECT id FROM claim ORDER BY time_us DESC, id DESC LIMIT -1 OFFSET ?)")) {
            byAge.setLong(1, micros(cutoff));
            int deleted = byAge.executeUpdate();
            byCount.setLong(1, retention.maxRows());
            deleted += byCount.executeUpdate();
            connection.commit();
            return deleted;
        } catch (SQLException e) {
            rollbackQuietly(e);
            throw new StateDatabaseException(path + ": cannot prune old usage history: " + e.getMessage(), e);
        }
    }

    @Override
    public synchronized void put(String id, String project, Instant created, String state) throws StateDatabaseException {
        update("record the member " + id, "INSERT OR REPLACE INTO daemon_members (id, project, created_ms, state) VALUES (?, ?, ?, ?)",
                id, project, created.toEpochMilli(), state);
    }

    @Override
    public synchronized void state(String id, String state) throws StateDatabaseException {
        update("record the state of member " + id, "UPDATE daemon_members SET state = ? WHERE id = ?", state, id);
    }

    @Override
    public synchronized void remove(String id) throws StateDatabaseException {
        update("forget the member " + id, "DELETE FROM daemon_members WHERE id = ?", id);
    }

    @Override
    public synchronized void clear() throws StateDatabaseException {
        update("forget the members", "DELETE FROM daemon_members");
    }

    @Override
    public synchronized List<Member> all() throws StateDatabaseException {
        return rows("read the daemon's members", "SELECT id, project, created_ms, state FROM daemon_members ORDER BY created_ms",
                r -> new Member(r.getString(1), r.getString(2), Instant.ofEpochMilli(r.getLong(3)), r.getString(4)));
    }

    @Override
    public synchronized void sample(String project, Instant time, int desired, int ready, int warming, int inUse)
            throws StateDatabaseException {
        try (PreparedStatement insert = connection.prepareStatement(
                        "INSERT INTO daemon_pool_samples (project, time_ms, desired, ready, warming, in_use) VALUES (?, ?, ?, ?, ?, ?)");
                PreparedStatement old = connection.prepareStatement("DELETE FROM daemon_pool_samples WHERE time_ms < ?")) {
            bind(insert, project, time.toEpochMilli(), desired, ready, warming, inUse);
            insert.executeUpdate();
            old.setLong(1, time.minus(SAMPLE_RETENTION).toEpochMilli());
            old.executeUpdate();
            connection.commit();
        } catch (SQLException e) {
            rollbackQuietly(e);
            throw new StateDatabaseException(path + ": cannot record the pool size of " + project + ": " + e.getMessage()
                    + "; check free disk space", e);
        }
    }

    @Override
    public synchronized List<ProjectWindow> window(Instant from, Instant to) throws StateDatabaseException {
        try {
            List<String> tables = new ArrayList<>();
            try (Statement s = connection.createStatement();
                    ResultSet rs = s.executeQuery("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")) {
                while (rs.next()) {
                    tables.add(rs.getString(1));
                }
            }
            if (!tables.contains("claim")) {
                connection.commit();
                throw new StateDatabaseException("no daemon claim data: " + path + " has no claim table (tables: " + tables + ")", null);
            }
            Map<String, long[]> counts = new TreeMap<>();
            try (PreparedStatement q = connection.prepareStatement(
                    "SELECT project, result, count(*) FROM claim WHERE time_us >= ? AND time_us < ? GROUP BY project, result")) {
                // whole seconds, as the evidence bundle has always counted them
                bind(q, from.getEpochSecond() * 1_000_000L, (to.getEpochSecond() + 1) * 1_000_000L);
                try (ResultSet rs = q.executeQuery()) {
                    while (rs.next()) {
                        long[] n = counts.computeIfAbsent(rs.getString(1), k -> new long[3]);
                        String label = rs.getString(2);
                        n[ClaimRecord.Result.ofLabel(label).orElse(ClaimRecord.Result.FAILED).ordinal()] += rs.getLong(3);
                    }
                }
            }
            Map<String, Size> sizes = new LinkedHashMap<>();
            if (tables.contains("daemon_pool_samples")) {
                try (PreparedStatement q = connection.prepareStatement("SELECT project, avg(ready), max(ready), avg(desired), max(in_use), count(*)"
                        + " FROM daemon_pool_samples WHERE time_ms >= ? AND time_ms < ? GROUP BY project")) {
                    bind(q, from.toEpochMilli(), to.toEpochMilli() + 1);
                    try (ResultSet rs = q.executeQuery()) {
                        while (rs.next()) {
                            sizes.put(rs.getString(1), new Size(rs.getDouble(2), rs.getLong(3), rs.getDouble(4), rs.getLong(5), rs.getLong(6)));
                            counts.computeIfAbsent(rs.getString(1), k -> new long[3]);
                        }
                    }
                }
            }
            connection.commit();
            List<ProjectWindow> out = new ArrayList<>();
            counts.forEach((p, n) -> out.add(new ProjectWindow(p, n[0], n[1], n[2], Optional.ofNullable(sizes.get(p)))));
            return out;
        } catch (SQLException e) {
            rollbackQuietly(e);
            throw new StateDatabaseException("the daemon's database " + path + " could not be read: " + e.getMessage(), e);
        }
    }

    /** Runs one change and commits it. */
    private void update(String what, String sql, Object... values) throws StateDatabaseException {
        try (PreparedStatement p = connection.prepareStatement(sql)) {
            bind(p, values);
            p.executeUpdate();
            connection.commit();
        } catch (SQLException e) {
            rollbackQuietly(e);
            throw new StateDatabaseException(path + ": cannot " + what + ": " + e.getMessage()
                    + "; check free disk space and that no other program holds the database", e);
        }
    }

    private static void bind(PreparedStatement p, Object... values) throws SQLException {
        for (int i = 0; i < values.length; i++) {
            p.setObject(i + 1, values[i]);
        }
    }

    /** Closes the connection; committed claims are already durable, so a missing close loses nothing. */
    @Override
    public synchronized void close() throws StateDatabaseException {
        try {
            connection.close();
        } catch (SQLException e) {
            throw new StateDatabaseException(path + ": cannot close the state database: " + e.getMessage(), e);
        }
    }

    private void rollbackQuietly(SQLException cause) {
        try {
            connection.rollback();
        } catch (SQLException e) {
            cause.addSuppressed(e);
        }
    }

    private static void setOptional(PreparedStatement s, int index, Optional<Duration> d) throws SQLException {
        if (d.isPresent()) {
            s.setLong(index, micros(d.get()));
        } else {
            s.setNull(index, Types.INTEGER);
        }
    }

    private static Optional<Duration> optional(ResultSet rs, int column) throws SQLException {
        long v = rs.getLong(column);
        return rs.wasNull() ? Optional.empty() : Optional.of(Duration.ofNanos(v * 1000));
    }

    static long micros(Instant t) {
        return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000L), t.getNano() / 1000);
    }

    static long micros(Duration d) {
        return Math.addExact(Math.multiplyExact(d.getSeconds(), 1_000_000L), d.getNano() / 1000);
    }

    static Instant instant(long micros) {
        return Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1000);
    }
}
