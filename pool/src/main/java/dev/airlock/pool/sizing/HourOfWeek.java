package dev.airlock.pool.sizing;

import java.time.DayOfWeek;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.Locale;

/** One of the 168 hours of a week, Monday 00:00–01:00 being 0, in a given time zone's wall clock. */
public record HourOfWeek(int index) {

    public static final int COUNT = 7 * 24;

    public HourOfWeek {
        if (index < 0 || index >= COUNT) {
            throw new IllegalArgumentException("hour of week must be 0 to 167: " + index);
        }
    }

    public static HourOfWeek of(Instant t, ZoneId zone) {
        ZonedDateTime z = t.atZone(zone);
        return new HourOfWeek((z.getDayOfWeek().getValue() - 1) * 24 + z.getHour());
    }

    public DayOfWeek day() {
        return DayOfWeek.of(index / 24 + 1);
    }

    public int hour() {
        return index % 24;
    }

    /** "Mon 09:00". */
    public String label() {
        return day().getDisplayName(TextStyle.SHORT, Locale.ENGLISH) + " " + String.format(Locale.ROOT, "%02d:00", hour());
    }

    @Override
    public String toString() {
        return label();
    }
}
