package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.embedded.EmbeddedChannel;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** Who may have the daemon run a policy it does not pool: root on the unix socket, nobody else. */
class CallerCheckTest {

    @Test
    void refusal_root_isNone() {
        assertThat(CallerCheck.refusal(OptionalInt.of(0), "")).isEmpty();
    }

    @Test
    void refusal_anotherUid_namesItAndTheFix() {
        assertThat(CallerCheck.refusal(OptionalInt.of(1000), "")).hasValueSatisfying(m -> assertThat(m)
                .contains("uid 1000").contains("only for root").contains("Fix: run as root"));
    }

    @Test
    void refusal_unknownCaller_failsClosed() {
        assertThat(CallerCheck.refusal(OptionalInt.empty(), "no credentials")).hasValueSatisfying(m -> assertThat(m)
                .contains("unknown caller: no credentials"));
    }

    @Test
    void refusal_aChannelThatIsNotAUnixSocket_failsClosed() {
        // the TCP listener (or anything not a unix socket) has no SO_PEERCRED: never served
        assertThat(CallerCheck.refusal(new EmbeddedChannel())).hasValueSatisfying(m -> assertThat(m).contains("did not come over the unix socket"));
    }
}
