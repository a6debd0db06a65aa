package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class BuildBackoffTest {

    private static final Instant T0 = Instant.parse("2026-12-07T10:00:00Z");

    @Test
    void due_sameInputsAfterFailures_waitOneTwoFourMinutes_upToHalfAnHour() {
        BuildBackoff b = new BuildBackoff();
        assertThat(b.due("abc-env", T0)).as("nothing failed yet").isTrue();

        Instant t = T0;
        long[] waits = {1, 2, 4, 8, 16, 30, 30};
        for (long minutes : waits) {
            Instant next = b.failed("abc-env", t);
            assertThat(Duration.between(t, next)).isEqualTo(Duration.ofMinutes(minutes));
            assertThat(b.due("abc-env", next.minusSeconds(1))).isFalse();
            assertThat(b.due("abc-env", next)).isTrue();
            t = next;
        }
    }

    @Test
    void due_newInputs_buildAtOnce_andSuccessClearsTheWait() {
        BuildBackoff b = new BuildBackoff();
        b.failed("abc-env", T0);
        assertThat(b.due("abc-env", T0.plusSeconds(10))).isFalse();
        assertThat(b.due("def-env", T0.plusSeconds(10))).as("a push (new commit) builds at once").isTrue();
        assertThat(b.due("abc-env2", T0.plusSeconds(10))).as("an edited setup (new environment) builds at once").isTrue();
        assertThat(b.retryAt()).contains(T0.plus(BuildBackoff.FIRST));

        // a different failing input starts its own count from one minute
        assertThat(b.failed("def-env", T0.plusSeconds(20))).isEqualTo(T0.plusSeconds(20).plus(BuildBackoff.FIRST));

        b.succeeded();
        assertThat(b.due("def-env", T0.plusSeconds(21))).isTrue();
        assertThat(b.retryAt()).isEmpty();
    }
}
