package dev.airlock.pool.sizing;

import dev.airlock.policy.model.ProjectPolicy.PoolSettings;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The pool size recommended for each hour of the week, with the alternatives one smaller and one
 * larger, so a reader sees what a member more or less would change.
 *
 * @param project  the project the pool serves
 * @param settings the policy's {@code pool:} block (min, max, targetHitRate)
 * @param demand   the measured demand it was computed from
 * @param hours    168 plans, index = hour of week
 */
public record Recommendation(String project, PoolSettings settings, Demand demand, List<HourPlan> hours) {

    /**
     * The plan for one hour of the week.
     *
     * @param offeredLoad  a = λ·T, the mean number of members refilling if no claim ever found the pool empty
     * @param chosen       the smallest size in [min, max] meeting the target, else max
     * @param smaller      size − 1, when it is at least 0 (it may be below min: shown for the trade-off)
     * @param larger       size + 1 (it may be above max: shown for the trade-off)
     * @param meetsTarget  false when even max misses targetHitRate
     */
    public record HourPlan(HourOfWeek hour, Demand.Hour demand, double offeredLoad, Choice chosen, Optional<Choice> smaller,
            Choice larger, boolean meetsTarget) {
    }

    public Recommendation {
        hours = List.copyOf(hours);
    }

    /** Computes the recommendation: each hour independently, from its own offered load. */
    public static Recommendation compute(String project, Demand demand, PoolSettings settings) {
        if (settings.min() < 0 || settings.max() < settings.min()) {
            throw new IllegalArgumentException("pool min/max out of order: " + settings);
        }
        List<HourPlan> plans = new ArrayList<>(HourOfWeek.COUNT);
        double t = demand.refill().seconds();
        for (Demand.Hour h : demand.hours()) {
            double a = h.ratePerSecond() * t;
            plans.add(plan(h, a, settings));
        }
        return new Recommendation(project, settings, demand, plans);
    }

    private static HourPlan plan(Demand.Hour h, double a, PoolSettings settings) {
        int size = settings.max();
        boolean meets = false;
        if (a == 0) {
            // No claim is expected, so no size misses one: keep the floor.
            size = settings.min();
            meets = true;
        } else {
            // B(S, a) is strictly decreasing in S, so the first size that meets the target is the smallest.
            for (int s = settings.min(); s <= settings.max(); s++) {
                if (ErlangB.hitRate(s, a) >= settings.targetHitRate()) {
                    size = s;
                    meets = true;
                    break;
                }
            }
        }
        Optional<Choice> smaller = size > 0 ? Optional.of(Choice.of(size - 1, a)) : Optional.empty();
        return new HourPlan(h.hour(), h, a, Choice.of(size, a), smaller, Choice.of(size + 1, a), meets);
    }

    /**
     * Consecutive hours of the week with the same recommended size, for a compact listing. Within a
     * span the hit rates shown are the worst hour's (what the span guarantees at least) and the idle
     * members and claims per hour are the span's means.
     *
     * @param first          the span's first hour
     * @param last           the span's last hour (inclusive)
     * @param claimsPerHour  mean arrival rate over the span, claims per hour
     * @param observed       whether every hour of the span was in the history window
     */
    public record Span(HourOfWeek first, HourOfWeek last, double claimsPerHour, boolean observed, boolean meetsTarget,
            Choice chosen, Optional<Choice> smaller, Choice larger) {
    }

    /** The week as spans of equal size (and equal target verdict), Monday 00:00 first. */
    public List<Span> spans() {
        List<Span> spans = new ArrayList<>();
        int start = 0;
        for (int h = 1; h <= HourOfWeek.COUNT; h++) {
            if (h == HourOfWeek.COUNT || hours.get(h).chosen().size() != hours.get(start).chosen().size()
                    || hours.get(h).meetsTarget() != hours.get(start).meetsTarget()) {
                spans.add(span(hours.subList(start, h)));
                start = h;
            }
        }
        return spans;
    }

    private static Span span(List<HourPlan> plans) {
        double claims = 0;
        boolean observed = true;
        for (HourPlan p : plans) {
            claims += p.demand().ratePerHour();
            observed &= p.demand().observed();
        }
        HourPlan firstPlan = plans.getFirst();
        Optional<Choice> smaller = firstPlan.smaller().isEmpty() ? Optional.empty()
                : Optional.of(merge(plans.stream().map(p -> p.smaller().orElseThrow()).toList()));
        return new Span(firstPlan.hour(), plans.getLast().hour(), claims / plans.size(), observed, firstPlan.meetsTarget(),
                merge(plans.stream().map(HourPlan::chosen).toList()), smaller, merge(plans.stream().map(HourPlan::larger).toList()));
    }

    /** Same-size choices of several hours as one: the worst hit rate, the mean idle. */
    private static Choice merge(List<Choice> choices) {
        double worst = 1.0;
        double idle = 0;
        for (Choice c : choices) {
            worst = Math.min(worst, c.hitRate());
            idle += c.idleMembers();
        }
        return new Choice(choices.getFirst().size(), worst, idle / choices.size());
    }

    public HourPlan at(HourOfWeek hour) {
        return hours.get(hour.index());
    }

    /** Whether some hour cannot meet targetHitRate even at max. */
    public boolean anyMissesTarget() {
        return hours.stream().anyMatch(p -> !p.meetsTarget());
    }

    /** The expected hit rate over the week, weighting each hour by its claims (what users experience). */
    public double weeklyHitRate() {
        double claims = 0;
        double hits = 0;
        for (HourPlan p : hours) {
            claims += p.demand().ratePerSecond();
            hits += p.demand().ratePerSecond() * p.chosen().hitRate();
        }
        return claims > 0 ? hits / claims : 1.0;
    }

    /** Expected idle sandbox-hours over one week. */
    public double weeklyIdleSandboxHours() {
        return hours.stream().mapToDouble(p -> p.chosen().idleMembers()).sum();
    }
}
