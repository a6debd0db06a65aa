package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.airlock.sandbox.WindowSize;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class TerminalFramesTest {

    @Property
    void stdin_anyBytes_parseBackToTheSameBytes(@ForAll @Size(max = 5000) byte[] keys) {
        String line = TerminalFrames.stdin(keys, 0, keys.length);
        assertThat(line).endsWith("\n").doesNotContain("\n\n");
        TerminalFrames.Frame f = TerminalFrames.parse(line.substring(0, line.length() - 1));
        assertThat(f).isInstanceOfSatisfying(TerminalFrames.Stdin.class, s -> assertThat(s.data()).isEqualTo(keys));
    }

    @Property
    void resize_anySize_parsesBackToTheSameSize(@ForAll @IntRange(min = 1, max = 65535) int rows, @ForAll @IntRange(min = 1, max = 65535) int cols) {
        String line = TerminalFrames.resize(new WindowSize(rows, cols));
        assertThat(TerminalFrames.parse(line.strip())).isEqualTo(new TerminalFrames.Resize(new WindowSize(rows, cols)));
    }

    @Property
    void lines_anyChunking_givesTheFramesInOrder(@ForAll @Size(max = 40) List<@Size(max = 200) byte[]> keys, @ForAll @IntRange(min = 1, max = 97) int chunk) {
        StringBuilder body = new StringBuilder();
        keys.forEach(k -> body.append(TerminalFrames.stdin(k, 0, k.length)));
        byte[] all = body.toString().getBytes(StandardCharsets.US_ASCII);
        TerminalFrames.Lines lines = new TerminalFrames.Lines();
        List<byte[]> got = new ArrayList<>();
        for (int i = 0; i < all.length; i += chunk) {
            for (String l : lines.feed(java.util.Arrays.copyOfRange(all, i, Math.min(all.length, i + chunk)))) {
                got.add(((TerminalFrames.Stdin) TerminalFrames.parse(l)).data());
            }
        }
        assertThat(got).hasSize(keys.size());
        for (int i = 0; i < keys.size(); i++) {
            assertThat(got.get(i)).isEqualTo(keys.get(i));
        }
    }

    @Test
    void parse_whatIsNoFrame_isUnknown_andTheStreamGoesOn() {
        assertThat(TerminalFrames.parse("not json")).isInstanceOf(TerminalFrames.Unknown.class);
        assertThat(TerminalFrames.parse("[1,2]")).isInstanceOf(TerminalFrames.Unknown.class);
        assertThat(TerminalFrames.parse("{\"stdin\":\"%%%\"}")).isInstanceOf(TerminalFrames.Unknown.class);
        assertThat(TerminalFrames.parse("{\"resize\":[0,80]}")).isInstanceOf(TerminalFrames.Unknown.class);
        assertThat(TerminalFrames.parse("{\"resize\":[24]}")).isInstanceOf(TerminalFrames.Unknown.class);
        assertThat(TerminalFrames.parse("{\"signal\":\"INT\"}")).isInstanceOf(TerminalFrames.Unknown.class);
    }

    @Test
    void requested_ttyInTheFirstLine_givesTheSize_absentMeansPipes() throws Exception {
        ObjectMapper json = new ObjectMapper();
        assertThat(TerminalFrames.requested(json.readTree("{\"command\":[\"bash\"],\"tty\":{\"rows\":30,\"cols\":100}}")))
                .contains(new WindowSize(30, 100));
        assertThat(TerminalFrames.requested(json.readTree("{\"command\":[\"bash\"]}"))).isEmpty();
        assertThatThrownBy(() -> TerminalFrames.requested(json.readTree("{\"tty\":true}"))).isInstanceOf(ApiHandler.BadRequest.class)
                .hasMessageContaining("\"rows\"");
        assertThatThrownBy(() -> TerminalFrames.requested(json.readTree("{\"tty\":{\"rows\":0,\"cols\":80}}")))
                .isInstanceOf(ApiHandler.BadRequest.class);
    }
}
