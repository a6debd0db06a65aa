package dev.airlock.pool.sim;

import dev.airlock.pool.usage.ClaimRecord;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Reads a usage trace: CSV with the header {@code time,project,durationSeconds}, one claim per line,
 * {@code time} an ISO-8601 instant ({@code 2026-11-02T09:15:00Z}), {@code durationSeconds} how long the
 * claim held its sandbox (a decimal number, at least 0). Blank lines and lines starting with {@code #}
 * are skipped, so a trace can carry its own description. Claims need not be in time order.
 */
public final class TraceFile {

    public static final String HEADER = "time,project,durationSeconds";
    private static final Pattern PROJECT = Pattern.compile("[a-z0-9-]{1,40}");
    private static final Pattern SECONDS = Pattern.compile("[0-9]+(\\.[0-9]+)?");
    /** A hold of more than a year is a unit mistake (milliseconds written as seconds), not a claim. */
    private static final double MAX_HOLD_SECONDS = 365.0 * 24 * 3600;

    private TraceFile() {
    }

    /** The trace's claims, sorted by time. */
    public static List<TraceClaim> read(Path file) throws TraceException {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new TraceException(file + ": cannot read the trace: " + e.getMessage() + "; fix: pass a readable CSV file");
        }
        List<TraceClaim> claims = new ArrayList<>();
        boolean header = false;
        for (int i = 0; i < lines.size(); i++) {
            int n = i + 1;
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            if (!header) {
                if (!line.replace(" ", "").equals(HEADER)) {
                    throw new TraceException(file + ":" + n + ": expected the header \"" + HEADER + "\", found \"" + clip(line)
                            + "\"; fix: make the first line of the trace exactly " + HEADER);
                }
                header = true;
                continue;
            }
            claims.add(parse(file, n, line));
        }
        if (!header) {
            throw new TraceException(file + ":1: the trace is empty; fix: start it with the header \"" + HEADER + "\" and add one line per claim");
        }
        claims.sort(Comparator.comparing(TraceClaim::time));
        return claims;
    }

    private static TraceClaim parse(Path file, int n, String line) throws TraceException {
        String[] f = line.split(",", -1);
        if (f.length != 3) {
            throw new TraceException(file + ":" + n + ": expected 3 fields (" + HEADER + "), found " + f.length
                    + "; fix: write one claim as time,project,durationSeconds, e.g. 2026-11-02T09:15:00Z,payments,1800");
        }
        Instant time;
        try {
            time = Instant.parse(f[0].strip());
        } catch (DateTimeParseException e) {
            throw new TraceException(file + ":" + n + ": invalid time \"" + clip(f[0].strip())
                    + "\"; fix: write an ISO-8601 instant in UTC, e.g. 2026-11-02T09:15:00Z");
        }
        String project = f[1].strip();
        if (!PROJECT.matcher(project).matches()) {
            throw new TraceException(file + ":" + n + ": invalid project \"" + clip(project)
                    + "\"; fix: write the project name as in airlock.yaml ([a-z0-9-]{1,40})");
        }
        String s = f[2].strip();
        if (!SECONDS.matcher(s).matches() || Double.parseDouble(s) > MAX_HOLD_SECONDS) {
            throw new TraceException(file + ":" + n + ": invalid durationSeconds \"" + clip(s)
                    + "\"; fix: write how long the claim held its sandbox in seconds, a number from 0 to 31536000, e.g. 1800");
        }
        return new TraceClaim(time, project, Duration.ofNanos(Math.round(Double.parseDouble(s) * 1e9)), n);
    }

    /** Stored claims as a trace (the claim's hold is not recorded, so it is zero). */
    public static List<TraceClaim> fromRecords(List<ClaimRecord> records) {
        List<TraceClaim> claims = new ArrayList<>(records.size());
        for (ClaimRecord r : records) {
            claims.add(new TraceClaim(r.time(), r.project(), Duration.ZERO, 0));
        }
        claims.sort(Comparator.comparing(TraceClaim::time));
        return claims;
    }

    private static String clip(String s) {
        String printable = s.replaceAll("\\p{Cntrl}", "?");
        return printable.length() > 60 ? printable.substring(0, 60) + "…" : printable;
    }
}
