package dev.airlock.audit.evidence;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Pool metrics over a window, from the daemon's SQLite database ({@code $STATE/airlock.db}), read
 * only. The bundle says so explicitly when there is no daemon data, or when the database has no
 * claims table this version understands: a missing number is never shown as zero.
 *
 * <p>The table read is the usage history's: {@code claim(project TEXT, time_us INTEGER -- epoch
 * microseconds, result TEXT -- warm|cold|failed, …)} (pool module {@code ClaimStore}; docs/audit.md,
 * "Evidence bundle"), and the daemon's pool-size samples {@code daemon_pool_samples(project,
 * time_ms, desired, ready, warming, in_use)}, one per project per minute.
 */
public final class PoolMetrics {

    /** Claims of one project in the window. */
    public record ProjectClaims(String project, long warm, long cold, long failed, Optional<Size> size) {
        public double warmHitRate() {
            return warm + cold == 0 ? Double.NaN : (double) warm / (warm + cold);
        }

        public double coldStartRate() {
            return warm + cold == 0 ? Double.NaN : (double) cold / (warm + cold);
        }
    }

    /** The pool's size over the window, from the daemon's minute samples: average and maximum ready, and the desired size. */
    public record Size(double meanReady, long maxReady, double meanDesired, long maxInUse, long samples) {
    }

    /** What was found: {@code note} says why {@code projects} is empty when it is. */
    public record Report(Instant from, Instant to, List<ProjectClaims> projects, String note) {
    }

    private PoolMetrics() {
    }

    public static Report read(Path stateDir, Instant now, Duration window) {
        Instant from = now.minus(window);
        Path db = stateDir.resolve("airlock.db");
        if (!Files.isRegularFile(db)) {
            return new Report(from, now, List.of(), "no daemon data: " + db + " does not exist (the daemon has not run on this host)");
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:file:" + db + "?mode=ro")) {
            List<String> tables = new ArrayList<>();
            try (ResultSet rs = c.createStatement().executeQuery("select name from sqlite_master where type = 'table' order by name")) {
                while (rs.next()) {
                    tables.add(rs.getString(1));
                }
            }
            if (!tables.contains("claim")) {
                return new Report(from, now, List.of(), "no daemon claim data: " + db + " has no claim table (tables: " + tables + ")");
            }
            Map<String, long[]> by = new LinkedHashMap<>();
            try (PreparedStatement ps = c.prepareStatement(
                    "select project, result, count(*) from claim where time_us >= ? and time_us < ? group by project, result order by project")) {
                ps.setLong(1, from.getEpochSecond() * 1_000_000L);
                ps.setLong(2, (now.getEpochSecond() + 1) * 1_000_000L);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        long[] n = by.computeIfAbsent(rs.getString(1), k -> new long[3]);
                        switch (rs.getString(2)) {
                            case "warm" -> n[0] += rs.getLong(3);
                            case "cold" -> n[1] += rs.getLong(3);
                            default -> n[2] += rs.getLong(3);
                        }
                    }
                }
            }
            Map<String, Size> sizes = new LinkedHashMap<>();
            if (tables.contains("daemon_pool_samples")) {
                try (PreparedStatement ps = c.prepareStatement("select project, avg(ready), max(ready), avg(desired), max(in_use), count(*)"
                        + " from daemon_pool_samples where time_ms >= ? and time_ms < ? group by project")) {
                    ps.setLong(1, from.toEpochMilli());
                    ps.setLong(2, now.toEpochMilli() + 1);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            sizes.put(rs.getString(1), new Size(rs.getDouble(2), rs.getLong(3), rs.getDouble(4), rs.getLong(5), rs.getLong(6)));
                            by.computeIfAbsent(rs.getString(1), k -> new long[3]);
                        }
                    }
                }
            }
            List<ProjectClaims> out = new ArrayList<>();
            by.forEach((p, n) -> out.add(new ProjectClaims(p, n[0], n[1], n[2], Optional.ofNullable(sizes.get(p)))));
            return new Report(from, now, out, out.isEmpty() ? "no claims in the window" : "");
        } catch (SQLException e) {
            return new Report(from, now, List.of(), "the daemon's database " + db + " could not be read: " + e.getMessage());
        }
    }
}
