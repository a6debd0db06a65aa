package dev.airlock.pool.usage;

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
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The usage history, kept in the daemon's SQLite database ({@code $STATE/airlock.db}).
 *
 * <p>Design: the daemon can be killed with {@code kill -9} at any moment, so every write is one
 * transaction and the database runs in WAL mode. SQLite replays or discards the write-ahead log on
 * the next open: a committed claim survives, a half-written one vanishes whole. {@code synchronous=NORMAL}
 * is durable against the process dying (the log is in the kernel's page cache); only a power loss can
 * drop the last commits, which costs a few claims of history and never corrupts the file.
 *
 * <p>The schema version is the database's {@code user_version}; {@link #open} creates or migrates the
 * schema in one transaction and refuses a database written by a newer Airlock instead of guessing.
 * Times are stored as epoch microseconds and durations as microseconds (finer values are truncated).
 *
 * <p>{@code user_version} is one number per database file, and this class owns it. A component that
 * adds tables to the same file must add its statements as further {@link #MIGRATIONS} entries (so one
 * list orders every migration), or keep its own file.
 *
 * <p>Thread-safe: one connection, every method synchronised. Claims arrive at human rates, so
 * serialising them costs nothing that matters.
 */
public final class ClaimStore implements AutoCloseable {

    /** The schema this code writes. Each entry of {@link #MIGRATIONS} moves the version up by one. */
    static final int SCHEMA_VERSION = 1;

    private static final List<List<String>> MIGRATIONS = List.of(
            // 0 -> 1: the claim table, indexed for "one project since T" and for retention by time.
            List.of("""
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
                    "CREATE INDEX claim_time ON claim (time_us)"));

    /** Prune every this many appends, so retention holds without a timer and costs nothing per claim. */
    private static final int PRUNE_EVERY = 1000;
    /** How long a writer waits for another connection's lock (the daemon may share the file). */
    private static final int BUSY_TIMEOUT_MS = 5000;

    private final Path path;
    private final Connection connection;
    private final Retention retention;
    private final Clock clock;
    private int appendsSincePrune;

    private ClaimStore(Path path, Connection connection, Retention retention, Clock clock) {
        this.path = path;
        this.connection = connection;
        this.retention = retention;
        this.clock = clock;
    }

    /** Opens (creating if needed) the store at {@code db} with the default retention and the system clock. */
    public static ClaimStore open(Path db) throws ClaimStoreException {
        return open(db, Retention.DEFAULT, Clock.systemUTC());
    }

    /**
     * Opens the store at {@code db}, creating the file and its schema or migrating an older one, then
     * prunes what {@code retention} no longer keeps. The clock decides what "too old" means.
     */
    public static ClaimStore open(Path db, Retention retention, Clock clock) throws ClaimStoreException {
        Objects.requireNonNull(retention, "retention");
        Objects.requireNonNull(clock, "clock");
        Path parent = db.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw new ClaimStoreException(db + ": its directory " + parent + " does not exist; create it or pass another state directory", null);
        }
        Connection c;
        try {
            c = DriverManager.getConnection("jdbc:sqlite:" + db.toAbsolutePath());
        } catch (SQLException e) {
            throw new ClaimStoreException(db + ": cannot open the usage database: " + e.getMessage()
                    + "; check that the file is readable and writable", e);
        }
        ClaimStore store = new ClaimStore(db, c, retention, clock);
        try {
            store.configure();
            store.migrate();
            store.prune();
        } catch (SQLException | ClaimStoreException e) {
            try {
                c.close();
            } catch (SQLException suppressed) {
                e.addSuppressed(suppressed);
            }
            if (e instanceof ClaimStoreException cse) {
                throw cse;
            }
            throw new ClaimStoreException(db + ": cannot prepare the usage database: " + e.getMessage()
                    + "; if the file is not an Airlock database, move it away", e);
        }
        return store;
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
        connection.setAutoCommit(false);
    }

    private void migrate() throws SQLException, ClaimStoreException {
        int version;
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery("PRAGMA user_version")) {
            version = rs.next() ? rs.getInt(1) : 0;
        }
        if (version > SCHEMA_VERSION) {
            connection.rollback();
            throw new ClaimStoreException(path + ": the usage database has schema version " + version
                    + " but this Airlock knows up to " + SCHEMA_VERSION + "; upgrade Airlock, or move the file away to start a new history", null);
        }
        if (version == SCHEMA_VERSION) {
            connection.commit();
            return;
        }
        try (Statement s = connection.createStatement()) {
            for (int v = version; v < SCHEMA_VERSION; v++) {
                for (String sql : MIGRATIONS.get(v)) {
                    s.execute(sql);
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

    /** Appends one claim, committed before this returns. */
    public void append(ClaimRecord record) throws ClaimStoreException {
        appendAll(List.of(record));
    }

    /** Appends claims in one transaction: all of them are stored, or none. */
    public synchronized void appendAll(List<ClaimRecord> records) throws ClaimStoreException {
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
            throw new ClaimStoreException(path + ": cannot record a claim: " + e.getMessage()
                    + "; check free disk space and that no other program holds the database", e);
        }
        appendsSincePrune += records.size();
        if (appendsSincePrune >= PRUNE_EVERY) {
            prune();
        }
    }

    /** The claims of {@code project} at or after {@code since}, oldest first. */
    public synchronized List<ClaimRecord> query(String project, Instant since) throws ClaimStoreException {
        return select("SELECT project, time_us, result, claim_us, prepare_us, age_us FROM claim"
                + " WHERE project = ? AND time_us >= ? ORDER BY time_us, id", project, micros(since));
    }

    /** Every project's claims at or after {@code since}, oldest first. */
    public synchronized List<ClaimRecord> queryAll(Instant since) throws ClaimStoreException {
        return select("SELECT project, time_us, result, claim_us, prepare_us, age_us FROM claim"
                + " WHERE time_us >= ? ORDER BY time_us, id", null, micros(since));
    }

    private List<ClaimRecord> select(String sql, String project, long sinceMicros) throws ClaimStoreException {
        List<ClaimRecord> out = new ArrayList<>();
        try (PreparedStatement q = connection.prepareStatement(sql)) {
            int i = 1;
            if (project != null) {
                q.setString(i++, project);
            }
            q.setLong(i, sinceMicros);
            try (ResultSet rs = q.executeQuery()) {
                while (rs.next()) {
                    out.add(row(rs));
                }
            }
            connection.commit();
        } catch (SQLException e) {
            rollbackQuietly(e);
            throw new ClaimStoreException(path + ": cannot read the usage history: " + e.getMessage(), e);
        }
        return out;
    }

    private ClaimRecord row(ResultSet rs) throws SQLException {
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
    public synchronized int prune() throws ClaimStoreException {
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
            throw new ClaimStoreException(path + ": cannot prune old usage history: " + e.getMessage(), e);
        }
    }

    /** Closes the connection; committed claims are already durable, so a missing close loses nothing. */
    @Override
    public synchronized void close() throws ClaimStoreException {
        try {
            connection.close();
        } catch (SQLException e) {
            throw new ClaimStoreException(path + ": cannot close the usage database: " + e.getMessage(), e);
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
