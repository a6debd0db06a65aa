package dev.airlock.pool.sizing;

import dev.airlock.pool.usage.ClaimRecord;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The measured demand on one pool: the claim arrival rate for each of the 168 hours of the week, and
 * the refill time.
 *
 * <p>An hour's rate is its claims divided by its exposure: the seconds of the history window that
 * fell in that hour of the week. Over whole weeks that is claims / (weeks × 3600); a window that
 * starts or ends mid-week counts each hour only as often as it was observed, so partial weeks neither
 * dilute nor inflate the rate. An hour the window never covered takes the window's overall rate and
 * is marked not observed, so a young history still sizes every hour rather than assuming no demand.
 *
 * @param from    the start of the history window
 * @param to      the end of the history window (exclusive)
 * @param zone    the wall clock that hours of the week are read in
 * @param claims  the claims counted (those inside the window)
 * @param hours   168 entries, index = hour of week
 * @param refill  the refill time T
 */
public record Demand(Instant from, Instant to, ZoneId zone, long claims, List<Hour> hours, RefillEstimate refill) {

    /** Windows longer than this are refused: the exposure walk is hour by hour (10 years = 87,600 steps). */
    private static final Duration MAX_WINDOW = Duration.ofDays(3653);

    /**
     * One hour of the week.
     *
     * @param claims          claims that arrived in this hour of the week during the window
     * @param exposureSeconds how long the window spent in this hour of the week
     * @param ratePerSecond   the arrival rate λ: claims / exposure, or the overall rate when not observed
     * @param observed        whether the window covered this hour at all
     */
    public record Hour(HourOfWeek hour, long claims, double exposureSeconds, double ratePerSecond, boolean observed) {

        public double ratePerHour() {
            return ratePerSecond * 3600;
        }
    }

    public Demand {
        hours = List.copyOf(hours);
        if (hours.size() != HourOfWeek.COUNT) {
            throw new IllegalArgumentException("demand needs 168 hours, got " + hours.size());
        }
    }

    /** Weeks of history the window spans. */
    public double weeks() {
        return Duration.between(from, to).toNanos() / 1e9 / (HourOfWeek.COUNT * 3600.0);
    }

    /**
     * Measures demand from claim times in {@code [from, to)}; claims outside the window are ignored.
     */
    public static Demand measure(List<Instant> claimTimes, Instant from, Instant to, ZoneId zone, RefillEstimate refill) {
        if (to.isBefore(from)) {
            throw new IllegalArgumentException("the history window ends (" + to + ") before it starts (" + from + ")");
        }
        if (Duration.between(from, to).compareTo(MAX_WINDOW) > 0) {
            throw new IllegalArgumentException("the history window is longer than ten years: " + from + " to " + to);
        }
        long[] counts = new long[HourOfWeek.COUNT];
        long total = 0;
        for (Instant t : claimTimes) {
            if (!t.isBefore(from) && t.isBefore(to)) {
                counts[HourOfWeek.of(t, zone).index()]++;
                total++;
            }
        }
        double[] exposure = exposure(from, to, zone);
        double totalExposure = 0;
        for (double e : exposure) {
            totalExposure += e;
        }
        double overall = totalExposure > 0 ? total / totalExposure : 0;
        List<Hour> hours = new ArrayList<>(HourOfWeek.COUNT);
        for (int h = 0; h < HourOfWeek.COUNT; h++) {
            boolean observed = exposure[h] > 0;
            hours.add(new Hour(new HourOfWeek(h), counts[h], exposure[h], observed ? counts[h] / exposure[h] : overall, observed));
        }
        return new Demand(from, to, zone, total, hours, refill);
    }

    /**
     * Measures demand from stored claims (every result counts as an arrival: a failed claim still
     * wanted a member) over {@code [from, to)}. T is the mean of the known preparation durations unless
     * {@code refillOverride} is given.
     */
    public static Demand fromClaims(List<ClaimRecord> records, Instant from, Instant to, ZoneId zone, Optional<Duration> refillOverride) {
        List<Instant> times = new ArrayList<>(records.size());
        List<Duration> prepares = new ArrayList<>();
        for (ClaimRecord r : records) {
            if (!r.time().isBefore(from) && r.time().isBefore(to)) {
                times.add(r.time());
                r.prepareDuration().ifPresent(prepares::add);
            }
        }
        RefillEstimate refill = refillOverride.map(RefillEstimate::given).orElseGet(() -> RefillEstimate.measured(prepares));
        return measure(times, from, to, zone, refill);
    }

    /**
     * Demand from a store's recent history: the last {@code window} before {@code now}, or from the
     * first claim's hour if that is later, so time before anything was recorded does not dilute the
     * rates. With no claims at all the window is empty and every hour has rate 0.
     */
    public static Demand recent(List<ClaimRecord> records, Instant now, Duration window, ZoneId zone, Optional<Duration> refillOverride) {
        Instant from = now.minus(window);
        Optional<Instant> first = records.stream().map(ClaimRecord::time).filter(t -> !t.isAfter(now)).min(Instant::compareTo);
        if (first.isEmpty()) {
            from = now;
        } else {
            Instant firstHour = first.get().atZone(zone).truncatedTo(ChronoUnit.HOURS).toInstant();
            from = firstHour.isAfter(from) ? firstHour : from;
        }
        return fromClaims(records, from, now, zone, refillOverride);
    }

    /**
     * Demand from a trace: the window runs from the start of the first claim's hour to the end of the
     * last claim's hour, so the trace's own span (not the time it is read) decides the exposure.
     */
    public static Demand covering(List<Instant> claimTimes, ZoneId zone, RefillEstimate refill) {
        if (claimTimes.isEmpty()) {
            throw new IllegalArgumentException("there are no claims to measure");
        }
        Instant first = claimTimes.stream().min(Instant::compareTo).orElseThrow();
        Instant last = claimTimes.stream().max(Instant::compareTo).orElseThrow();
        Instant from = first.atZone(zone).truncatedTo(ChronoUnit.HOURS).toInstant();
        Instant to = last.atZone(zone).truncatedTo(ChronoUnit.HOURS).plusHours(1).toInstant();
        return measure(claimTimes, from, to, zone, refill);
    }

    /** Seconds of {@code [from, to)} in each hour of the week, walking wall-clock hour boundaries (DST-safe). */
    private static double[] exposure(Instant from, Instant to, ZoneId zone) {
        double[] exposure = new double[HourOfWeek.COUNT];
        Instant cursor = from;
        while (cursor.isBefore(to)) {
            ZonedDateTime z = cursor.atZone(zone);
            Instant next = z.truncatedTo(ChronoUnit.HOURS).plusHours(1).toInstant();
            if (!next.isAfter(cursor)) {
                next = cursor.plus(Duration.ofHours(1)).truncatedTo(ChronoUnit.HOURS);
            }
            Instant end = next.isBefore(to) ? next : to;
            exposure[HourOfWeek.of(cursor, zone).index()] += Duration.between(cursor, end).toNanos() / 1e9;
            cursor = end;
        }
        return exposure;
    }
}
