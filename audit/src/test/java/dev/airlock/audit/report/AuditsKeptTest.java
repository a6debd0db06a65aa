package dev.airlock.audit.report;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.audit.battery.Status;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which battery runs keep a report when the daemon stops under them. */
class AuditsKeptTest {

    private static final Instant T = Instant.parse("2026-12-08T01:00:00Z");

    @Test
    void aRunStoppedUnderIt_withOnlyErrors_isNotKept_theErrorsAreTheStops() {
        var torn = RunFixtures.run(T, RunFixtures.SHA_A, List.of(RunFixtures.probe("metadata:80:transparent", "metadata", Status.ERROR),
                RunFixtures.probe("files:state-dir", "files", Status.PASS)));

        assertThat(Audits.kept(torn, true)).isFalse();
        // control: the same run when nothing stopped is kept, errors and all (an audit that cannot run fails closed)
        assertThat(Audits.kept(torn, false)).isTrue();
    }

    @Test
    void aRunStoppedUnderIt_thatFoundAFailure_isKept_aFindingIsNeverDropped() {
        var found = RunFixtures.run(T, RunFixtures.SHA_A, List.of(RunFixtures.probe("host-service:listener", "host-service", Status.FAIL),
                RunFixtures.probe("metadata:80:transparent", "metadata", Status.ERROR)));

        assertThat(Audits.kept(found, true)).isTrue();
    }
}
