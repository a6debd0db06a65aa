package dev.airlock.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ResourcesTest {

    @Test
    void cpuQuota_isCpusTimesThePeriod_neverBelowTheKernelsMinimum() {
        assertThat(new Resources(16L << 20, 2, 16).cpuQuotaMicros()).isEqualTo(200_000);
        assertThat(new Resources(16L << 20, 0.5, 16).cpuQuotaMicros()).isEqualTo(50_000);
        assertThat(new Resources(16L << 20, 0.001, 16).cpuQuotaMicros()).isEqualTo(1000); // the policy allows 0.001
        assertThat(new Resources(16L << 20, 9999.999, 16).cpuQuotaMicros()).isEqualTo(999_999_900L); // and 9999.999
    }

    @Test
    void resources_everyLimitIsRequired() {
        assertThatThrownBy(() -> new Resources(0, 1, 16)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Resources(16L << 20, 0, 16)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Resources(16L << 20, Double.NaN, 16)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Resources(16L << 20, 1, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
