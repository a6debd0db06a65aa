package dev.airlock.pool.usage;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * One claim on a project's pool, as the daemon saw it.
 *
 * @param project       the project whose pool was claimed from
 * @param time          when the claim arrived
 * @param result        warm (a ready member), cold (none ready: a sandbox was prepared on demand) or failed
 * @param claimDuration from the claim's arrival until the sandbox was handed over (or the failure reported)
 * @param prepareDuration how long preparing a member took when known: the refill this claim triggered
 *                      (warm) or the on-demand preparation (cold). Sizing uses it as the refill time T.
 * @param ageAtClaim    how long the member had been ready when it was handed over; present only when warm
 */
public record ClaimRecord(
        String project,
        Instant time,
        Result result,
        Duration claimDuration,
        Optional<Duration> prepareDuration,
        Optional<Duration> ageAtClaim) {

    /** The outcome of a claim, with the label used by the metrics ({@code claims_total{result}}) and the store. */
    public enum Result {
        WARM("warm"), COLD("cold"), FAILED("failed");

        public final String label;

        Result(String label) {
            this.label = label;
        }

        public static Optional<Result> ofLabel(String label) {
            for (Result r : values()) {
                if (r.label.equals(label)) {
                    return Optional.of(r);
                }
            }
            return Optional.empty();
        }
    }

    public ClaimRecord {
        Objects.requireNonNull(project, "project");
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(result, "result");
        Objects.requireNonNull(claimDuration, "claimDuration");
        Objects.requireNonNull(prepareDuration, "prepareDuration");
        Objects.requireNonNull(ageAtClaim, "ageAtClaim");
        if (project.isEmpty()) {
            throw new IllegalArgumentException("project is empty");
        }
        requireNotNegative("claimDuration", claimDuration);
        prepareDuration.ifPresent(d -> requireNotNegative("prepareDuration", d));
        ageAtClaim.ifPresent(d -> requireNotNegative("ageAtClaim", d));
        if (ageAtClaim.isPresent() && result != Result.WARM) {
            throw new IllegalArgumentException("ageAtClaim is only known for a warm claim, not a " + result.label + " one");
        }
    }

    public static ClaimRecord warm(String project, Instant time, Duration claim, Duration refill, Duration age) {
        return new ClaimRecord(project, time, Result.WARM, claim, Optional.of(refill), Optional.of(age));
    }

    public static ClaimRecord cold(String project, Instant time, Duration claim, Duration prepare) {
        return new ClaimRecord(project, time, Result.COLD, claim, Optional.of(prepare), Optional.empty());
    }

    public static ClaimRecord failed(String project, Instant time, Duration claim) {
        return new ClaimRecord(project, time, Result.FAILED, claim, Optional.empty(), Optional.empty());
    }

    private static void requireNotNegative(String what, Duration d) {
        if (d.isNegative()) {
            throw new IllegalArgumentException(what + " is negative: " + d);
        }
    }
}
