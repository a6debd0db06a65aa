package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The idle timeout of sessions, on a clock the test moves: no sleeps. */
class IdleSessionsTest {

    static final IdleTimeout ONE_HOUR = new IdleTimeout(Optional.of(Duration.ofHours(1)));

    final MutableClock clock = new MutableClock(Instant.parse("2026-12-07T04:00:00Z"));
    final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    final ByteArrayOutputStream logged = new ByteArrayOutputStream();
    final List<IdleSessions.Tracked> live = new ArrayList<>();
    final List<String> released = new ArrayList<>();

    final IdleSessions idle = new IdleSessions(() -> List.copyOf(live), id -> {
        if (live.removeIf(t -> t.id().equals(id))) {
            released.add(id);
            return "";
        }
        throw new DaemonException("no claimed sandbox " + id);
    }, new PrintStream(logged, true, StandardCharsets.UTF_8), meters);

    SessionActivity session(String id, IdleTimeout timeout) {
        SessionActivity a = new SessionActivity(clock, timeout);
        live.add(new IdleSessions.Tracked(id, "payments", a));
        return a;
    }

    double expired() {
        return meters.get("airlock.sessions.expired").tag("project", "payments").counter().count();
    }

    @Test
    void tick_idleLongerThanTheTimeout_releasesLogsAndCounts() {
        session("alk00000001", ONE_HOUR);
        idle.watch("payments");
        clock.advance(Duration.ofMinutes(61));

        assertThat(idle.tick()).containsExactly("alk00000001");

        assertThat(released).containsExactly("alk00000001");
        assertThat(expired()).isEqualTo(1.0);
        assertThat(logged.toString(StandardCharsets.UTF_8)).contains("session alk00000001 of payments released: idle since 2026-12-07T04:00:00Z")
                .contains("idle timeout (1h)");
    }

    @Test
    void tick_idleExactlyTheTimeout_keepsTheSession() {
        session("alk00000001", ONE_HOUR);
        clock.advance(Duration.ofHours(1));
        assertThat(idle.tick()).isEmpty();
        clock.advance(Duration.ofSeconds(1));
        assertThat(idle.tick()).containsExactly("alk00000001");
    }

    @Test
    void tick_whileACommandRuns_keepsTheSession_andIdleCountsFromTheCommandsEnd() throws Exception {
        SessionActivity a = session("alk00000001", ONE_HOUR);
        clock.advance(Duration.ofMinutes(10));
        a.commandStarted();
        clock.advance(Duration.ofHours(5)); // a long build: running, so not idle

        assertThat(idle.tick()).isEmpty();
        assertThat(a.expiresAt()).as("no end while a command runs").isEmpty();

        a.commandEnded();
        assertThat(a.expiresAt()).contains(clock.instant().plus(Duration.ofHours(1)));
        clock.advance(Duration.ofMinutes(59));
        assertThat(idle.tick()).isEmpty();
        clock.advance(Duration.ofMinutes(2));
        assertThat(idle.tick()).containsExactly("alk00000001");
    }

    @Test
    void tick_anExecStartedRecently_keepsTheSession() throws Exception {
        SessionActivity a = session("alk00000001", ONE_HOUR);
        clock.advance(Duration.ofMinutes(50));
        a.commandStarted();
        a.commandEnded();
        clock.advance(Duration.ofMinutes(50));
        assertThat(idle.tick()).as("100 min since the claim, 50 since the last command").isEmpty();
        assertThat(a.lastActivity()).isEqualTo(Instant.parse("2026-12-07T04:50:00Z"));
    }

    @Test
    void tick_never_keepsTheSessionForever() {
        SessionActivity a = session("alk00000001", IdleTimeout.NEVER);
        clock.advance(Duration.ofDays(365));
        assertThat(idle.tick()).isEmpty();
        assertThat(a.expiresAt()).isEmpty();
    }

    @Test
    void tick_onlyTheIdleOnes_eachWithItsOwnTimeout() {
        session("alk00000001", ONE_HOUR);
        session("alk00000002", new IdleTimeout(Optional.of(Duration.ofHours(8))));
        clock.advance(Duration.ofHours(2));
        assertThat(idle.tick()).containsExactly("alk00000001");
        assertThat(live).extracting(IdleSessions.Tracked::id).containsExactly("alk00000002");
    }

    @Test
    void commandStarted_afterTheSessionExpired_isRefused_soTheReleaseKillsNoNewCommand() {
        SessionActivity a = new SessionActivity(clock, ONE_HOUR);
        clock.advance(Duration.ofHours(2));
        assertThat(a.expireIfIdle()).isTrue();
        assertThat(a.expireIfIdle()).as("once").isFalse();
        assertThatThrownBy(a::commandStarted).isInstanceOf(DaemonException.class).hasMessageContaining("idle timeout (1h)")
                .hasMessageContaining("Fix: create a new one");
        assertThat(a.running()).isZero();
    }

    @Test
    void tick_aSessionStoppedByItsUserInTheMeantime_isNotCounted() {
        SessionActivity a = new SessionActivity(clock, ONE_HOUR);
        live.add(new IdleSessions.Tracked("alk00000003", "payments", a));
        IdleSessions racing = new IdleSessions(() -> List.copyOf(live), id -> {
            throw new DaemonException("no claimed sandbox " + id);
        }, new PrintStream(logged, true, StandardCharsets.UTF_8), meters);
        racing.watch("payments");
        clock.advance(Duration.ofHours(2));
        assertThat(racing.tick()).isEmpty();
        assertThat(expired()).isZero();
    }

    @Test
    void tick_logsWhatTheForgottenSessionWasDenied_andNothingWhenNothingWas() {
        SessionActivity a = new SessionActivity(clock, ONE_HOUR);
        live.add(new IdleSessions.Tracked("alk00000004", "payments", a));
        live.add(new IdleSessions.Tracked("alk00000005", "payments", new SessionActivity(clock, ONE_HOUR)));
        IdleSessions summarising = new IdleSessions(() -> List.copyOf(live), id -> id.equals("alk00000004")
                ? "airlock: blocked 1 attempt:\n  prod.example.test:443  no-rule  x1\n" : "airlock: nothing was blocked\n",
                new PrintStream(logged, true, StandardCharsets.UTF_8), meters);
        clock.advance(Duration.ofHours(2));
        assertThat(summarising.tick()).containsExactly("alk00000004", "alk00000005");
        assertThat(logged.toString(StandardCharsets.UTF_8)).contains("idle timeout (1h)\nairlock: blocked 1 attempt:\n  prod.example.test:443")
                .doesNotContain("nothing was blocked");
    }

    @Test
    void period_aQuarterOfTheShortestTimeout_betweenOneSecondAndOneMinute() {
        assertThat(IdleSessions.period(List.of(IdleTimeout.DEFAULT))).isEqualTo(Duration.ofMinutes(1));
        assertThat(IdleSessions.period(List.of(IdleTimeout.DEFAULT, IdleTimeout.parse("2m").orElseThrow()))).isEqualTo(Duration.ofSeconds(30));
        assertThat(IdleSessions.period(List.of(IdleTimeout.parse("2s").orElseThrow()))).isEqualTo(Duration.ofSeconds(1));
        assertThat(IdleSessions.period(List.of(IdleTimeout.NEVER))).isEqualTo(Duration.ofMinutes(1));
    }

    @Test
    void idleTimeout_parse_acceptsUnitsZeroAndNever_refusesTheRest() {
        assertThat(IdleTimeout.parse("8h")).contains(IdleTimeout.DEFAULT);
        assertThat(IdleTimeout.parse("90s").orElseThrow().after()).contains(Duration.ofSeconds(90));
        assertThat(IdleTimeout.parse("30m").orElseThrow().after()).contains(Duration.ofMinutes(30));
        assertThat(IdleTimeout.parse("2d").orElseThrow().after()).contains(Duration.ofDays(2));
        assertThat(IdleTimeout.parse("0")).contains(IdleTimeout.NEVER);
        assertThat(IdleTimeout.parse("never")).contains(IdleTimeout.NEVER);
        for (String bad : List.of("", "8", "h", "-1h", "1.5h", "08h", "8H", "PT8H", "1w", "8 h")) {
            assertThat(IdleTimeout.parse(bad)).as(bad).isEmpty();
        }
        assertThat(IdleTimeout.parse("120m").orElseThrow()).hasToString("2h");
        assertThat(IdleTimeout.NEVER).hasToString("never");
    }
}
