package dev.airlock.pool.sizing;

import dev.airlock.policy.model.ProjectPolicy.PoolSettings;
import dev.airlock.pool.state.StateDatabaseException;
import dev.airlock.pool.state.UsageHistory;
import dev.airlock.pool.usage.ClaimRecord;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The {@code auto} mode: the pool size to keep right now, read from a {@link Recommendation}.
 *
 * <p>A member takes T (the refill time) to become ready, so a pool that only grew when a busy hour
 * began would spend that hour's first T short. The desired size is therefore the larger of the size
 * for the current hour and the size for the hour T from now: the pool grows T ahead of a busy hour and
 * shrinks only once the busy hour is over. The daemon calls {@link #desiredSize()} whenever it
 * reconciles the pool (a minute apart is plenty: sizes change at most at hour boundaries and T before
 * them), and rebuilds the sizer from fresh history now and then ({@link #fromHistory}, hourly is
 * plenty: one hour of claims barely moves a multi-week average).
 */
public final class AutoSizer {

    private final Recommendation recommendation;
    private final Clock clock;

    public AutoSizer(Recommendation recommendation, Clock clock) {
        this.recommendation = Objects.requireNonNull(recommendation, "recommendation");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * Builds the sizer from the store's history of {@code project}: the last {@code window} (or since
     * the first recorded claim's hour, if that is later, so a young history is not diluted by time
     * before Airlock recorded anything), with T measured from the recorded preparations.
     */
    public static AutoSizer fromHistory(UsageHistory store, String project, PoolSettings settings, Duration window, ZoneId zone, Clock clock)
            throws StateDatabaseException {
        Instant now = clock.instant();
        List<ClaimRecord> records = store.query(project, now.minus(window));
        Demand demand = Demand.recent(records, now, window, zone, Optional.empty());
        return new AutoSizer(Recommendation.compute(project, demand, settings), clock);
    }

    public Recommendation recommendation() {
        return recommendation;
    }

    /** How far ahead the pool grows: the refill time T. */
    public Duration leadTime() {
        return recommendation.demand().refill().mean();
    }

    /** The pool size to keep now, within the policy's [min, max]. */
    public int desiredSize() {
        return desiredSizeAt(clock.instant());
    }

    /** The pool size to keep at {@code t}: the larger of the sizes for t and for t + T. */
    public int desiredSizeAt(Instant t) {
        ZoneId zone = recommendation.demand().zone();
        int now = recommendation.at(HourOfWeek.of(t, zone)).chosen().size();
        int ahead = recommendation.at(HourOfWeek.of(t.plus(leadTime()), zone)).chosen().size();
        return Math.max(now, ahead);
    }
}
