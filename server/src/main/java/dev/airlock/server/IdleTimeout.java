package dev.airlock.server;

import java.time.Duration;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How long a claimed session may sit idle (no command running, none started) before the daemon
 * releases it: a number with a unit ({@code 90s}, {@code 30m}, {@code 8h}, {@code 2d}), or
 * {@code 0} / {@code never} for no limit.
 *
 * @param after the limit; empty: never
 */
public record IdleTimeout(Optional<Duration> after) {

    /** Forgotten sessions hold a sandbox, its workspace and a pool slot: a working day, then they go. */
    public static final IdleTimeout DEFAULT = new IdleTimeout(Optional.of(Duration.ofHours(8)));
    public static final IdleTimeout NEVER = new IdleTimeout(Optional.empty());

    private static final Pattern FORM = Pattern.compile("([1-9][0-9]{0,5})(s|m|h|d)");

    /** Parses {@code text}; empty when it is none of the accepted forms (the caller names file and line). */
    public static Optional<IdleTimeout> parse(String text) {
        String t = text.trim();
        if (t.equals("0") || t.equals("never")) {
            return Optional.of(NEVER);
        }
        Matcher m = FORM.matcher(t);
        if (!m.matches()) {
            return Optional.empty();
        }
        long n = Long.parseLong(m.group(1));
        Duration d = switch (m.group(2)) {
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
        };
        return Optional.of(new IdleTimeout(Optional.of(d)));
    }

    /** As written in the configuration: {@code 8h}, {@code 90s}, {@code never}. */
    @Override
    public String toString() {
        if (after.isEmpty()) {
            return "never";
        }
        long s = after.get().toSeconds();
        return s % 86_400 == 0 ? s / 86_400 + "d" : s % 3600 == 0 ? s / 3600 + "h" : s % 60 == 0 ? s / 60 + "m" : s + "s";
    }
}
