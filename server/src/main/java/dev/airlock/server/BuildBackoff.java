package dev.airlock.server;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * When a template whose setup failed is built again. The daemon checks every project's branch each
 * minute and rebuilds when there is no template for HEAD, so a setup that fails (a package the
 * mirror lacks, a test that breaks) ran again every minute, each time with a fetch and a full setup.
 * Now the same inputs (the same commit and environment hash) wait 1, 2, 4 … up to 30 minutes after
 * each failure; new inputs (a push, an edited setup) build at once. Used from one project's
 * template thread at a time; synchronized all the same, as the status page reads it.
 */
final class BuildBackoff {

    static final Duration FIRST = Duration.ofMinutes(1);
    static final Duration LONGEST = Duration.ofMinutes(30);

    private String failedInputs;
    private int failures;
    private Instant retryAt = Instant.MIN;

    /** Whether a build of {@code inputs} may start at {@code now}. */
    synchronized boolean due(String inputs, Instant now) {
        return !inputs.equals(failedInputs) || !now.isBefore(retryAt);
    }

    /** A build of {@code inputs} failed at {@code now}; returns when the same inputs are tried again. */
    synchronized Instant failed(String inputs, Instant now) {
        failures = inputs.equals(failedInputs) ? failures + 1 : 1;
        failedInputs = inputs;
        Duration wait = FIRST.multipliedBy(1L << Math.min(failures - 1, 5));
        retryAt = now.plus(wait.compareTo(LONGEST) > 0 ? LONGEST : wait);
        return retryAt;
    }

    /** A build succeeded: nothing is held back any more. */
    synchronized void succeeded() {
        failedInputs = null;
        failures = 0;
        retryAt = Instant.MIN;
    }

    /** When the failed inputs are tried again, while they are held back. */
    synchronized Optional<Instant> retryAt() {
        return failedInputs == null ? Optional.empty() : Optional.of(retryAt);
    }
}
