package dev.airlock.policy;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** What may reach a log line, a record or a 403 body: printable ASCII, at most about 300 characters. */
class PrintableTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '\'', textBlock = """
            plain name is returned as it is              | github.com           | github.com
            space and tilde are the printable edges      | 'a b~'               | 'a b~'
            a backslash is doubled                       | 'a\\b'               | 'a\\\\b'
            """)
    void escape_printableAscii(String row, String in, String out) {
        assertThat(Printable.escape(in)).isEqualTo(out);
    }

    @org.junit.jupiter.api.Test
    void escape_printableInput_isTheSameString() {
        String s = "origin.bench.test:443 (airlock.yaml:5:13, network.allow)";
        assertThat(Printable.escape(s)).isSameAs(s);
    }

    @org.junit.jupiter.api.Test
    void escape_controlDeleteAndNonAscii_areWrittenAsEscapes() {
        assertThat(Printable.escape("a\u001fb")).isEqualTo("a\\x1fb"); // just below space
        assertThat(Printable.escape("a\u007fb")).isEqualTo("a\\x7fb"); // DEL, just above tilde
        assertThat(Printable.escape("a\u00e9b")).isEqualTo("a\\u00e9b");
        assertThat(Printable.escape(null)).isEmpty();
    }

    @org.junit.jupiter.api.Test
    void escape_lengthEdges_exactlyTheLimitStaysAndOneMoreIsCut() {
        String limit = "a".repeat(Printable.MAX_LENGTH);
        assertThat(Printable.escape(limit)).isEqualTo(limit);
        assertThat(Printable.escape(limit + "b")).isEqualTo(limit + "...(" + (Printable.MAX_LENGTH + 1) + " chars)");
    }
}
