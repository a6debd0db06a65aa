package dev.airlock.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The loopback exemption every sandbox gets (issue 18 d), merged with what the caller passes. */
class SandboxEnvironmentTest {

    private static Map<String, String> sandbox() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("HTTP_PROXY", "http://100.96.0.1:3128");
        env.put("NO_PROXY", "localhost,127.0.0.1,127.0.0.0/8,::1");
        env.put("no_proxy", "localhost,127.0.0.1,127.0.0.0/8,::1");
        return env;
    }

    @Test
    void withCaller_noNoProxyGiven_coversLoopbackInBothSpellings() {
        Map<String, String> env = SandboxSession.withCaller(sandbox(), Map.of("TERM", "dumb"));
        assertThat(env).containsEntry("NO_PROXY", "localhost,127.0.0.1,127.0.0.0/8,::1")
                .containsEntry("no_proxy", "localhost,127.0.0.1,127.0.0.0/8,::1").containsEntry("TERM", "dumb");
    }

    @Test
    void withCaller_callersNoProxy_isMergedNotReplaced() {
        Map<String, String> env = SandboxSession.withCaller(sandbox(), Map.of("NO_PROXY", "internal.test, localhost", "no_proxy", ""));
        assertThat(env.get("NO_PROXY")).isEqualTo("internal.test,localhost,127.0.0.1,127.0.0.0/8,::1");
        assertThat(env.get("no_proxy")).isEqualTo("localhost,127.0.0.1,127.0.0.0/8,::1");
    }

    @Test
    void withCaller_callerCannotDropTheExemption_butKeepsEverythingElse() {
        Map<String, String> env = SandboxSession.withCaller(sandbox(), Map.of("NO_PROXY", "", "HTTP_PROXY", "http://elsewhere:1"));
        assertThat(env.get("NO_PROXY")).contains("127.0.0.0/8", "::1", "localhost");
        assertThat(env).containsEntry("HTTP_PROXY", "http://elsewhere:1");
    }

    @Test
    void loopbackNoProxy_namesLocalhostTheV4LoopbackAndV6Loopback() {
        assertThat(SandboxSession.LOOPBACK_NO_PROXY).contains("localhost", "127.0.0.0/8", "::1");
    }
}
