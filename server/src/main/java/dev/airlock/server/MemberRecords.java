package dev.airlock.server;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The daemon's record of the sandboxes it built, and of its pools' size each minute, in its SQLite
 * database (beside the usage history, whose schema version it leaves alone: these tables are created
 * if missing and never migrated). After a {@code kill -9}
 * the next daemon reads what the last one had (the kernel objects themselves are reaped by the
 * launcher, whose own records name their dead owner), says so, and starts clean. Each change is one
 * autocommitted statement in WAL mode, so a crash loses at most the statement in flight.
 */
final class MemberRecords implements AutoCloseable {

    record Row(String id, String project, Instant created, String state) {
    }

    private final Connection db;

    private MemberRecords(Connection db) {
        this.db = db;
    }

    static MemberRecords open(Path file) throws SQLException {
        Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
        try (Statement s = c.createStatement()) {
            s.execute("PRAGMA journal_mode=WAL");
            s.execute("PRAGMA busy_timeout=5000");
            s.execute("CREATE TABLE IF NOT EXISTS daemon_members (id TEXT PRIMARY KEY, project TEXT NOT NULL,"
                    + " created_ms INTEGER NOT NULL, state TEXT NOT NULL)");
            s.execute("CREATE TABLE IF NOT EXISTS daemon_pool_samples (project TEXT NOT NULL, time_ms INTEGER NOT NULL,"
                    + " desired INTEGER NOT NULL, ready INTEGER NOT NULL, warming INTEGER NOT NULL, in_use INTEGER NOT NULL)");
            s.execute("CREATE INDEX IF NOT EXISTS daemon_pool_samples_time ON daemon_pool_samples (time_ms)");
        } catch (SQLException e) {
            c.close();
            throw e;
        }
        return new MemberRecords(c);
    }

    synchronized void put(String id, String project, Instant created, String state) throws SQLException {
        try (PreparedStatement p = db.prepareStatement("INSERT OR REPLACE INTO daemon_members VALUES (?, ?, ?, ?)")) {
            p.setString(1, id);
            p.setString(2, project);
            p.setLong(3, created.toEpochMilli());
            p.setString(4, state);
            p.executeUpdate();
        }
    }

    synchronized void state(String id, String state) throws SQLException {
        try (PreparedStatement p = db.prepareStatement("UPDATE daemon_members SET state = ? WHERE id = ?")) {
            p.setString(1, state);
            p.setString(2, id);
            p.executeUpdate();
        }
    }

    synchronized void remove(String id) throws SQLException {
        try (PreparedStatement p = db.prepareStatement("DELETE FROM daemon_members WHERE id = ?")) {
            p.setString(1, id);
            p.executeUpdate();
        }
    }

    synchronized List<Row> all() throws SQLException {
        List<Row> rows = new ArrayList<>();
        try (Statement s = db.createStatement(); ResultSet r = s.executeQuery("SELECT id, project, created_ms, state FROM daemon_members ORDER BY created_ms")) {
            while (r.next()) {
                rows.add(new Row(r.getString(1), r.getString(2), Instant.ofEpochMilli(r.getLong(3)), r.getString(4)));
            }
        }
        return rows;
    }

    /** One minute's pool size (the evidence bundle's "pool size over a window"); samples older than 60 days are dropped. */
    synchronized void sample(String project, Instant time, int desired, int ready, int warming, int inUse) throws SQLException {
        try (PreparedStatement p = db.prepareStatement("INSERT INTO daemon_pool_samples VALUES (?, ?, ?, ?, ?, ?)")) {
            p.setString(1, project);
            p.setLong(2, time.toEpochMilli());
            p.setInt(3, desired);
            p.setInt(4, ready);
            p.setInt(5, warming);
            p.setInt(6, inUse);
            p.executeUpdate();
        }
        try (PreparedStatement p = db.prepareStatement("DELETE FROM daemon_pool_samples WHERE time_ms < ?")) {
            p.setLong(1, time.minus(java.time.Duration.ofDays(60)).toEpochMilli());
            p.executeUpdate();
        }
    }

    synchronized void clear() throws SQLException {
        try (Statement s = db.createStatement()) {
            s.executeUpdate("DELETE FROM daemon_members");
        }
    }

    @Override
    public synchronized void close() {
        try {
            db.close();
        } catch (SQLException e) {
            // closing: nothing left to do
        }
    }
}
