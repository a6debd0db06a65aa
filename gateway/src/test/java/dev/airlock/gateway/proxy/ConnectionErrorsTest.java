package dev.airlock.gateway.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.embedded.EmbeddedChannel;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** Issue 11 §1: a handler's exception is logged, once per connection, whichever handler caught it. */
class ConnectionErrorsTest {

    @Test
    void caught_secondExceptionOnTheSameConnection_isNotLoggedAgain() {
        EmbeddedChannel connection = new EmbeddedChannel();
        assertThat(ConnectionErrors.caught(connection, "explicit proxy", new IOException("Connection reset by peer"))).isTrue();
        assertThat(ConnectionErrors.caught(connection, "relay", new IllegalStateException("later"))).isFalse();
        assertThat(ConnectionErrors.caught(connection, "explicit proxy", new IOException("again"))).isFalse();
        connection.finishAndReleaseAll();
    }

    @Test
    void caught_anotherConnection_isLoggedToo() {
        EmbeddedChannel first = new EmbeddedChannel();
        EmbeddedChannel second = new EmbeddedChannel();
        assertThat(ConnectionErrors.caught(first, "transparent listener", new IllegalStateException("bug"))).isTrue();
        assertThat(ConnectionErrors.caught(second, "transparent listener", new IllegalStateException("bug"))).isTrue();
        first.finishAndReleaseAll();
        second.finishAndReleaseAll();
    }
}
