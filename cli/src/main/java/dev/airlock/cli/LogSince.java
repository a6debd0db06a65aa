package dev.airlock.cli;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * The --since value: an age before now ({@code 30m}, {@code 1h}, {@code 2d}) or an ISO-8601 time.
 * Times without an offset are UTC, like the log.
 */
sealed interface LogSince {

    Instant from(Instant now);

    record Age(Duration age) implements LogSince {
        @Override
        public Instant from(Instant now) {
            return now.minus(age);
        }
    }

    record At(Instant at) implements LogSince {
        @Override
        public Instant from(Instant now) {
            return at;
        }
    }

    /** Nine digits of days is beyond any log; the bound keeps the arithmetic from overflowing. */
    Pattern AGE = Pattern.compile("([0-9]{1,9})([smhd])");

    static LogSince parse(String text) {
        Matcher m = AGE.matcher(text);
        if (m.matches()) {
            long n = Long.parseLong(m.group(1));
            return new Age(switch (m.group(2)) {
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                case "d" -> Duration.ofDays(n);
                default -> throw new IllegalStateException("the pattern allows only s, m, h, d");
            });
        }
        try {
            return new At(OffsetDateTime.parse(text).toInstant());
        } catch (DateTimeParseException e) {
            // not with an offset; try the other ISO forms below
        }
        try {
            return new At(LocalDateTime.parse(text).toInstant(ZoneOffset.UTC));
        } catch (DateTimeParseException e) {
            // not a local date-time either
        }
        try {
            return new At(LocalDate.parse(text).atStartOfDay(ZoneOffset.UTC).toInstant());
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("\"" + dev.airlock.policy.Printable.escape(text)
                    + "\" is neither an age (30m, 1h, 2d) nor an ISO-8601 time (2025-06-01T12:00:00Z)");
        }
    }

    final class Converter implements ITypeConverter<LogSince> {
        @Override
        public LogSince convert(String value) {
            try {
                return parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }
}
