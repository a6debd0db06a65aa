package dev.airlock.audit.report;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * Values as a person reads them on a page (report, evidence bundle, dashboard): times to the
 * second in UTC, sizes in binary units. Machine formats (JSON, the audit log) keep full precision.
 */
public final class Readable {

    private static final DateTimeFormatter SECOND = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'", Locale.ROOT).withZone(ZoneOffset.UTC);
    private static final String[] UNITS = {"bytes", "KiB", "MiB", "GiB", "TiB"};

    private Readable() {
    }

    /** {@code 2026-11-27 00:00:05 UTC}: nanoseconds say nothing to a reader and make times hard to compare by eye. */
    public static String time(Instant t) {
        return SECOND.format(t);
    }

    /** {@code 4 GiB}, {@code 1.5 GiB}, {@code 512 MiB}, {@code 900 bytes}: the units the policy file is written in. */
    public static String bytes(long n) {
        double v = n;
        int u = 0;
        while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
            v /= 1024;
            u++;
        }
        if (u == 0) {
            return n + " bytes";
        }
        return (v == Math.rint(v) ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.1f", v)) + " " + UNITS[u];
    }
}
