package dev.airlock.gateway.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.address.IpLiterals;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class HostAddressWatchTest {

    static IpAddress ip(String s) {
        return ((IpLiterals.Canonical) IpLiterals.shape(s)).address();
    }

    private final ByteArrayOutputStream logged = new ByteArrayOutputStream();
    private final PrintStream log = new PrintStream(logged, true, StandardCharsets.UTF_8);

    @Test
    void refresh_anAddressAssignedSinceStart_isSeen() throws IOException {
        AtomicReference<Set<IpAddress>> kernel = new AtomicReference<>(Set.of(ip("10.9.0.5")));
        HostAddressWatch w = new HostAddressWatch(kernel::get, log);
        assertThat(w.current().contains(ip("198.18.40.2"))).isFalse();
        kernel.set(Set.of(ip("10.9.0.5"), ip("198.18.40.2"), ip("2001:db8:77::2")));
        assertThat(w.refresh()).isTrue();
        assertThat(w.current().addresses()).containsExactlyInAnyOrder(ip("10.9.0.5"), ip("198.18.40.2"), ip("2001:db8:77::2"));
        assertThat(w.refresh()).as("nothing changed").isFalse();
    }

    @Test
    void refresh_failing_keepsTheLastSetAndSaysSo() throws IOException {
        AtomicReference<Boolean> fail = new AtomicReference<>(false);
        HostAddressWatch w = new HostAddressWatch(() -> {
            if (fail.get()) {
                throw new IOException("netlink said no");
            }
            return Set.of(ip("10.9.0.5"));
        }, log);
        fail.set(true);
        assertThat(w.refresh()).isFalse();
        assertThat(w.current().contains(ip("10.9.0.5"))).as("never dropped because the kernel could not be asked").isTrue();
        assertThat(logged.toString(StandardCharsets.UTF_8)).contains("keeping the last 1").contains("netlink said no");
    }

    @Test
    void start_unreadable_failsClosed() {
        assertThatThrownBy(() -> new HostAddressWatch(() -> {
            throw new IOException("no interfaces");
        }, log)).isInstanceOf(IOException.class);
    }

    @Test
    void system_readsThisHostsLoopback() throws IOException {
        // The real reader: every Linux host has loopback on lo.
        assertThat(InterfaceAddresses.SYSTEM.read()).contains(ip("127.0.0.1"));
    }
}
