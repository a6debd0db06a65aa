package dev.airlock.pool.sim;

import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.random.RandomGenerator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A duration drawn for each refill or claim: a fixed value, or exponential with a given mean. */
public sealed interface Distribution {

    Duration mean();

    /** One draw, in seconds. */
    double sampleSeconds(RandomGenerator random);

    record Fixed(Duration mean) implements Distribution {
        public Fixed {
            requireNotNegative(mean);
        }

        @Override
        public double sampleSeconds(RandomGenerator random) {
            return seconds(mean);
        }

        @Override
        public String toString() {
            return text(mean);
        }
    }

    record Exponential(Duration mean) implements Distribution {
        public Exponential {
            requireNotNegative(mean);
        }

        @Override
        public double sampleSeconds(RandomGenerator random) {
            // Inversion: 1 − U is in (0, 1], so the logarithm is finite.
            return -seconds(mean) * Math.log(1.0 - random.nextDouble());
        }

        @Override
        public String toString() {
            return "exp:" + text(mean);
        }
    }

    Pattern DURATION = Pattern.compile("([0-9]+(?:\\.[0-9]+)?)(ms|s|m|h)");

    /**
     * Parses {@code 45s}, {@code 1.5m}, {@code 500ms}, {@code 2h} (fixed) or the same prefixed with
     * {@code exp:} (exponential with that mean). Empty when the text is not one of these.
     */
    static Optional<Distribution> parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        boolean exponential = t.startsWith("exp:");
        Optional<Duration> d = parseDuration(exponential ? t.substring(4) : t);
        return d.map(x -> exponential ? new Exponential(x) : new Fixed(x));
    }

    /** Parses {@code 45s}, {@code 1.5m}, {@code 500ms} or {@code 2h}. */
    static Optional<Duration> parseDuration(String text) {
        Matcher m = DURATION.matcher(text.trim());
        if (!m.matches()) {
            return Optional.empty();
        }
        double value = Double.parseDouble(m.group(1));
        double unitSeconds = switch (m.group(2)) {
            case "ms" -> 0.001;
            case "s" -> 1;
            case "m" -> 60;
            default -> 3600;
        };
        double seconds = value * unitSeconds;
        if (seconds > 365L * 24 * 3600) {
            return Optional.empty();
        }
        return Optional.of(Duration.ofNanos(Math.round(seconds * 1e9)));
    }

    private static void requireNotNegative(Duration d) {
        if (d.isNegative()) {
            throw new IllegalArgumentException("duration is negative: " + d);
        }
    }

    private static double seconds(Duration d) {
        return d.toNanos() / 1e9;
    }

    private static String text(Duration d) {
        return d.toNanos() % 1_000_000_000L == 0 ? d.toSeconds() + "s" : (d.toNanos() / 1e6) + "ms";
    }
}
