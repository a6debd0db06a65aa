package dev.airlock.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** Who a run asked for by another process runs as: the sudo user it names, by a cold run's rule; never root. */
class RunAsTest {

    @Test
    void sudoCaller_positiveDecimals_isThatUser_elseNone() {
        assertThat(RunAs.sudoCaller(Map.of("SUDO_UID", "1000", "SUDO_GID", "100"))).contains(new RunAs(1000, 100));
        assertThat(RunAs.sudoCaller(Map.of())).isEmpty();
        assertThat(RunAs.sudoCaller(Map.of("SUDO_UID", "0", "SUDO_GID", "0"))).as("sudo from root").isEmpty();
        assertThat(RunAs.sudoCaller(Map.of("SUDO_UID", "1000"))).isEmpty();
        assertThat(RunAs.sudoCaller(Map.of("SUDO_UID", "10x", "SUDO_GID", "100"))).isEmpty();
    }

    @Test
    void new_uidOrGidZero_isRefused() {
        assertThatThrownBy(() -> new RunAs(0, 1000)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("never");
        assertThatThrownBy(() -> new RunAs(1000, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThat(RunAs.nobody()).isEqualTo(new RunAs(65534, 65534));
        assertThat(new RunAs(4242, 4242).sandboxUser().uid()).isEqualTo(4242);
    }
}
