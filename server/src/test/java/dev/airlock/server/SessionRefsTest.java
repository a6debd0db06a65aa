package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** How `airlock sandbox exec|attach|stop SESSION` finds a session: id, name, or unique id prefix. */
class SessionRefsTest {

    static final List<SessionRefs.Session> LIVE = List.of(
            new SessionRefs.Session("alk1234abcd", Optional.of("fix-login")),
            new SessionRefs.Session("alk1299ffff", Optional.empty()),
            new SessionRefs.Session("alk5555aaaa", Optional.of("alk1299ffff-notes")));

    @Test
    void resolve_theFullId() throws Exception {
        assertThat(SessionRefs.resolve("alk1299ffff", LIVE)).isEqualTo("alk1299ffff");
    }

    @Test
    void resolve_theName() throws Exception {
        assertThat(SessionRefs.resolve("fix-login", LIVE)).isEqualTo("alk1234abcd");
    }

    @Test
    void resolve_aUniquePrefix() throws Exception {
        assertThat(SessionRefs.resolve("alk123", LIVE)).isEqualTo("alk1234abcd");
        assertThat(SessionRefs.resolve("alk5", LIVE)).isEqualTo("alk5555aaaa");
    }

    @Test
    void resolve_anAmbiguousPrefix_namesTheCandidates_andTheFix() {
        assertThatThrownBy(() -> SessionRefs.resolve("alk12", LIVE)).isInstanceOf(DaemonException.class)
                .hasMessage("session alk12 is ambiguous: it starts alk1234abcd, alk1299ffff. Fix: give more of the id, or the session's name"
                        + " (see `airlock sandbox list`).");
    }

    @Test
    void resolve_unknown_saysWhereToLook() {
        assertThatThrownBy(() -> SessionRefs.resolve("alk7777", LIVE)).isInstanceOf(DaemonException.class)
                .hasMessage("no session alk7777; see `airlock sandbox list`");
        assertThatThrownBy(() -> SessionRefs.resolve("", LIVE)).hasMessageStartingWith("no session ");
        assertThatThrownBy(() -> SessionRefs.resolve("fix", LIVE)).as("a name prefix is not a name").hasMessageStartingWith("no session fix;");
        assertThatThrownBy(() -> SessionRefs.resolve("alk1234abcd", List.of())).hasMessageStartingWith("no session alk1234abcd;");
    }

    @Test
    void resolve_anExactIdWinsOverANameStartingWithIt() throws Exception {
        List<SessionRefs.Session> tricky = List.of(new SessionRefs.Session("alkabc00001", Optional.empty()),
                new SessionRefs.Session("alkabc00002", Optional.of("alkabc00001-x")),
                new SessionRefs.Session("alk00000009", Optional.of("web")));
        assertThat(SessionRefs.resolve("alkabc00001", tricky)).as("an id that is also a prefix of a name").isEqualTo("alkabc00001");
        assertThat(SessionRefs.resolve("alkabc00001-x", tricky)).isEqualTo("alkabc00002");
        assertThat(SessionRefs.resolve("web", tricky)).isEqualTo("alk00000009");
    }

    @Test
    void nameProblem_acceptsShortLowerCaseNames_refusesOthersWithTheFix() {
        for (String ok : List.of("fix-login", "a", "agent.2", "x_y", "0day", "alkaline")) {
            assertThat(SessionRefs.nameProblem(ok)).as(ok).isEmpty();
        }
        for (String bad : List.of("", "Fix", "-x", ".x", "a b", "a/b", "x".repeat(41), "ünï")) {
            assertThat(SessionRefs.nameProblem(bad)).as(bad).hasValueSatisfying(v -> assertThat(v).contains("Fix:"));
        }
        assertThat(SessionRefs.nameProblem("alk12ab")).hasValueSatisfying(v -> assertThat(v).contains("looks like a sandbox id"));
        assertThat(SessionRefs.nameProblem("alk")).as("a prefix of every id").hasValueSatisfying(v -> assertThat(v).contains("looks like a sandbox id"));
    }
}
