package dev.airlock.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

class CallerEnvironmentTest {

    private static final Map<String, String> CALLER = Map.of("TERM", "xterm-256color", "COLORTERM", "truecolor", "LANG", "de_DE.UTF-8",
            "LC_ALL", "C.UTF-8", "AWS_SECRET_ACCESS_KEY", "secret", "GH_TOKEN", "ghp_x", "HOME", "/root", "PATH", "/usr/sbin:/usr/bin",
            "SSH_AUTH_SOCK", "/tmp/ssh-x/agent.1");

    @Test
    void select_byDefault_onlyTheTerminalsDescription() throws Exception {
        assertThat(CallerEnvironment.select(CALLER, List.of(), List.of())).containsOnlyKeys("TERM", "COLORTERM", "LANG", "LC_ALL")
                .containsEntry("TERM", "xterm-256color");
    }

    @Test
    void select_policyNames_passTheCallersValue_whenItHasOne() throws Exception {
        assertThat(CallerEnvironment.select(CALLER, List.of("GH_TOKEN", "NOT_SET"), List.of())).containsEntry("GH_TOKEN", "ghp_x")
                .doesNotContainKey("NOT_SET").doesNotContainKey("AWS_SECRET_ACCESS_KEY");
    }

    @Test
    void select_envOptions_nameCopies_nameValueSets_andWinsOverTheRest() throws Exception {
        Map<String, String> env = CallerEnvironment.select(CALLER, List.of("GH_TOKEN"), List.of("HOME", "TERM=dumb", "GH_TOKEN=other", "X=a=b"));
        assertThat(env).containsEntry("HOME", "/root").containsEntry("TERM", "dumb").containsEntry("GH_TOKEN", "other")
                .containsEntry("X", "a=b");
    }

    @Test
    void select_badOption_isRefusedWithTheFix() {
        for (String bad : List.of("=x", "", "1ABC", "MY-VAR")) {
            assertThatThrownBy(() -> CallerEnvironment.select(CALLER, List.of(), List.of(bad))).isInstanceOf(CallerEnvironment.BadOption.class)
                    .hasMessageContaining("write NAME (to pass the caller's value) or NAME=VALUE");
        }
    }

    @Property
    void select_anyCallerEnvironment_passesOnlyWhatIsNamedOrDescribesTheTerminal(@ForAll("environments") Map<String, String> caller,
            @ForAll("names") List<String> policy, @ForAll("names") List<String> options) throws Exception {
        Map<String, String> env = CallerEnvironment.select(caller, policy, options);
        Set<String> allowed = new HashSet<>(CallerEnvironment.TERMINAL);
        allowed.addAll(policy);
        allowed.addAll(options);
        for (Map.Entry<String, String> e : env.entrySet()) {
            assertThat(allowed.contains(e.getKey()) || e.getKey().startsWith("LC_")).as(e.getKey()).isTrue();
            assertThat(e.getValue()).isEqualTo(caller.get(e.getKey()));
        }
        for (String n : options) {
            assertThat(env.containsKey(n)).isEqualTo(caller.containsKey(n));
        }
    }

    @Provide
    Arbitrary<Map<String, String>> environments() {
        Arbitrary<String> name = Arbitraries.oneOf(Arbitraries.of("TERM", "COLORTERM", "LANG", "LC_CTYPE", "GH_TOKEN", "AWS_SECRET", "HOME"),
                Arbitraries.strings().withCharRange('A', 'Z').withChars('_').ofMinLength(1).ofMaxLength(8));
        return Arbitraries.maps(name, Arbitraries.strings().ofMaxLength(10)).ofMaxSize(12);
    }

    @Provide
    Arbitrary<List<String>> names() {
        return Arbitraries.of("GH_TOKEN", "HOME", "NOPE", "TERM", "AWS_SECRET").list().ofMaxSize(3);
    }
}
