package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.airlock.runtime.RunAs;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Who a daemon's run of a policy it does not pool runs as: the sudo user its request names, never root; none, nobody. */
class SudoCallerFieldTest {

    private static ObjectNode req(String json) throws Exception {
        return (ObjectNode) ApiHandler.parse(json);
    }

    @Test
    void parse_bothFields_isThatUser() throws Exception {
        assertThat(SudoCallerField.parse(req("{\"sudoUid\":4242,\"sudoGid\":4243}"))).isEqualTo(new RunAs(4242, 4243));
        assertThat(SudoCallerField.parse(req("{\"sudoUid\":2147483647,\"sudoGid\":1}"))).isEqualTo(new RunAs(Integer.MAX_VALUE, 1));
    }

    @Test
    void parse_neither_isNobody() throws Exception {
        assertThat(SudoCallerField.parse(req("{\"policy\":\"/p/airlock.yaml\"}"))).isEqualTo(new RunAs(65534, 65534));
    }

    @Test
    void parse_uidOrGidZero_isRefused_aSandboxNeverRunsAsRoot() {
        assertThatThrownBy(() -> SudoCallerField.parse(req("{\"sudoUid\":0,\"sudoGid\":1000}")))
                .isInstanceOf(ApiHandler.BadRequest.class).hasMessageContaining("\"sudoUid\"").hasMessageContaining("never runs as root")
                .hasMessageContaining("Fix:");
        assertThatThrownBy(() -> SudoCallerField.parse(req("{\"sudoUid\":1000,\"sudoGid\":0}")))
                .isInstanceOf(ApiHandler.BadRequest.class).hasMessageContaining("\"sudoGid\"");
    }

    @Test
    void parse_outOfRangeOrNotAWholeNumber_isRefused() {
        for (String bad : new String[] {"-1", "2147483648", "1.5", "\"1000\"", "null", "99999999999999999999999"}) {
            assertThatThrownBy(() -> SudoCallerField.parse(req("{\"sudoUid\":" + bad + ",\"sudoGid\":1000}"))).as(bad)
                    .isInstanceOf(ApiHandler.BadRequest.class).hasMessageContaining("from 1 to 2147483647");
        }
    }

    @Test
    void parse_oneFieldAlone_isRefused() {
        assertThatThrownBy(() -> SudoCallerField.parse(req("{\"sudoUid\":1000}"))).isInstanceOf(ApiHandler.BadRequest.class)
                .hasMessageContaining("come together");
    }

    @Test
    void put_thenParse_isTheSameUser_andEmptyPutsNothing() throws Exception {
        ObjectNode r = req("{}");
        SudoCallerField.put(r, Optional.of(new RunAs(1000, 100)));
        assertThat(SudoCallerField.parse(r)).isEqualTo(new RunAs(1000, 100));
        ObjectNode none = req("{}");
        SudoCallerField.put(none, Optional.empty());
        assertThat(none.isEmpty()).isTrue();
    }
}
