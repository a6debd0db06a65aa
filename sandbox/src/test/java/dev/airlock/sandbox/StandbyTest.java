package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StandbyTest {

    @Test
    void header_environmentThenArgvThenTheTerminal_eachFieldNulTerminated() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("TERM", "xterm");
        String h = new String(Standby.header(env, List.of("bash", "-i"), "/dev/pts/3"), StandardCharsets.UTF_8);
        assertThat(h).isEqualTo("1\0TERM=xterm\0" + "2\0bash\0-i\0" + "/dev/pts/3\0");
    }

    @Test
    void header_withoutTerminal_endsWithAnEmptyField() {
        String h = new String(Standby.header(Map.of(), List.of("true"), ""), StandardCharsets.UTF_8);
        assertThat(h).isEqualTo("0\0" + "1\0true\0" + "\0");
    }
}
