package dev.airlock.server;

import java.time.Duration;

/** A duration as a person reads it in a table: {@code 42s}, {@code 5m}, {@code 2h05m}, {@code 3d4h}. */
public final class CompactDuration {

    private CompactDuration() {
    }

    public static String of(Duration d) {
        long s = Math.max(0, d.toSeconds());
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return s / 60 + "m";
        }
        if (s < 86_400) {
            return String.format(java.util.Locale.ROOT, "%dh%02dm", s / 3600, s % 3600 / 60);
        }
        return s / 86_400 + "d" + s % 86_400 / 3600 + "h";
    }
}
