package dev.airlock.pool.state;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.pool.usage.Retention;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link MemberLog} as {@link StateDatabase} keeps it, in a real SQLite file. */
class MemberLogTest {

    private static final Instant NOW = Instant.parse("2026-11-27T12:00:00Z");

    @TempDir
    Path dir;

    private MemberLog.Member member(String id, int secondsAgo, String state) {
        return new MemberLog.Member(id, "payments", NOW.minusSeconds(secondsAgo), state);
    }

    private StateDatabase open() throws StateDatabaseException {
        return StateDatabase.open(dir.resolve("airlock.db"), Retention.DEFAULT, Clock.fixed(NOW, ZoneOffset.UTC));
    }

    @Test
    void put_thenAll_returnsMembersOldestFirst() throws Exception {
        try (StateDatabase log = open()) {
            log.put("alk2", "payments", NOW.minusSeconds(10), "ready");
            log.put("alk1", "payments", NOW.minusSeconds(20), "ready");
            assertThat(log.all()).containsExactly(member("alk1", 20, "ready"), member("alk2", 10, "ready"));
        }
    }

    @Test
    void put_sameId_replacesTheRecord() throws Exception {
        try (StateDatabase log = open()) {
            log.put("alk1", "payments", NOW.minusSeconds(20), "ready");
            log.put("alk1", "payments", NOW.minusSeconds(5), "warming");
            assertThat(log.all()).containsExactly(member("alk1", 5, "warming"));
        }
    }

    @Test
    void stateAndRemove_changeOnlyTheirMember() throws Exception {
        try (StateDatabase log = open()) {
            log.put("alk1", "payments", NOW.minusSeconds(20), "ready");
            log.put("alk2", "payments", NOW.minusSeconds(10), "ready");
            log.state("alk1", "claimed");
            log.state("alk-unknown", "claimed");
            log.remove("alk2");
            assertThat(log.all()).containsExactly(member("alk1", 20, "claimed"));
        }
    }

    @Test
    void all_afterReopen_hasWhatThePreviousDaemonWrote_untilCleared() throws Exception {
        try (StateDatabase log = open()) {
            log.put("alk1", "payments", NOW.minusSeconds(20), "ready");
        }
        try (StateDatabase log = open()) {
            assertThat(log.all()).containsExactly(member("alk1", 20, "ready"));
            log.clear();
            assertThat(log.all()).isEmpty();
        }
    }
}
