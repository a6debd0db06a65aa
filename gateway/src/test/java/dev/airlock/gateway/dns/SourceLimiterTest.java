package dev.airlock.gateway.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.UnknownHostException;
import org.junit.jupiter.api.Test;

class SourceLimiterTest {

    private static InetAddress a(int last) {
        try {
            return InetAddress.getByAddress(new byte[] {127, 0, 0, (byte) last});
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void tryAcquire_oneSourceStopsAtItsShare_othersGoOn() {
        SourceLimiter l = new SourceLimiter(3, 2);

        assertThat(l.tryAcquire(a(1))).isTrue();
        assertThat(l.tryAcquire(a(1))).isTrue();
        assertThat(l.tryAcquire(a(1))).as("its share is 2").isFalse();
        assertThat(l.tryAcquire(a(2))).isTrue();
        assertThat(l.tryAcquire(a(3))).as("the total is 3").isFalse();
        assertThat(l.used()).isEqualTo(3);
    }

    @Test
    void release_freesTheSlotForAnyone_andForgetsIdleSources() {
        SourceLimiter l = new SourceLimiter(1, 1);
        assertThat(l.tryAcquire(a(1))).isTrue();

        l.release(a(1));

        assertThat(l.used()).isZero();
        assertThat(l.used(a(1))).isZero();
        assertThat(l.tryAcquire(a(2))).isTrue();
    }

    @Test
    void release_withoutASlot_isABug() {
        SourceLimiter l = new SourceLimiter(1, 1);

        assertThatThrownBy(() -> l.release(a(1))).isInstanceOf(IllegalStateException.class);
    }
}
