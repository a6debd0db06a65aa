package dev.airlock.gateway.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** A chain head's hash is exactly 64 lower-case hex digits; anything else is refused. */
class ChainHeadTest {

    private static final String HASH = "0123456789abcdef".repeat(4);

    @Test
    void isHash_acceptsSixtyFourLowerCaseHexDigits() {
        assertThat(ChainHead.isHash(HASH)).isTrue();
        assertThat(ChainHead.isHash(ChainHead.GENESIS_HASH)).isTrue();
    }

    @Test
    void isHash_refusesWrongLengthUpperCaseOtherLettersAndNull() {
        assertThat(ChainHead.isHash(HASH.substring(1))).isFalse();
        assertThat(ChainHead.isHash(HASH + "0")).isFalse();
        assertThat(ChainHead.isHash(HASH.toUpperCase(java.util.Locale.ROOT))).isFalse();
        assertThat(ChainHead.isHash(HASH.substring(1) + "g")).isFalse();
        assertThat(ChainHead.isHash(HASH.substring(1) + "/")).isFalse();
        assertThat(ChainHead.isHash(HASH.substring(1) + ":")).isFalse();
        assertThat(ChainHead.isHash(null)).isFalse();
    }

    @Test
    void parse_badHash_isRefused() {
        assertThatThrownBy(() -> ChainHead.parse("7:" + HASH.toUpperCase(java.util.Locale.ROOT)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("64 lower-case hex digits");
        assertThat(ChainHead.parse("7:" + HASH)).isEqualTo(new ChainHead(7, HASH));
    }
}
