package dev.airlock.policy.name;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The name index. An exact pattern matches one name; {@code *.x} matches every strict subdomain of
 * {@code x} at any depth and does NOT match {@code x} itself (egress-cases A states this).
 */
class NameTrieTest {

    private static NamePattern pattern(String text) {
        return text.startsWith("*.") ? new NamePattern.Subdomains(text.substring(2)) : new NamePattern.Exact(text);
    }

    private static NameTrie<String> trie(String... patterns) {
        NameTrie<String> t = new NameTrie<>();
        for (String p : patterns) {
            t.put(pattern(p), p);
        }
        return t.freeze();
    }

    @ParameterizedTest(name = "{0}: {1} matched by [{2}]")
    @CsvSource(delimiter = '|', textBlock = """
        the exact name                              | github.com              | github.com
        *.github.com does not cover github.com      | github.com              | github.com
        a direct subdomain                          | api.github.com          | *.github.com
        depth two                                   | a.b.github.com          | *.github.com
        depth five                                  | a.b.c.d.e.github.com    | *.github.com
        a suffix without a label boundary           | evilgithub.com          | ''
        extended by another domain                  | github.com.evil.net     | ''
        a shorter name                              | hub.com                 | ''
        the parent                                  | com                     | ''
        a sibling                                   | gitlab.com              | ''
        """)
    void matches_exactAndSubdomains(String description, String name, String expected) {
        NameTrie<String> t = trie("github.com", "*.github.com");
        String got = String.join(",", t.matches(name));
        assertThat(got).as(description).isEqualTo(expected);
    }

    @Test
    void matches_wildcardAlone_doesNotCoverTheApex() {
        NameTrie<String> t = trie("*.githubusercontent.com");
        assertThat(t.matches("githubusercontent.com")).isEmpty();
        assertThat(t.matches("raw.githubusercontent.com")).containsExactly("*.githubusercontent.com");
    }

    @Test
    void matches_mostSpecificFirst() {
        NameTrie<String> t = trie("*.com", "*.github.com", "api.github.com", "*.api.github.com", "github.com");
        assertThat(t.matches("api.github.com")).containsExactly("api.github.com", "*.github.com", "*.com");
        assertThat(t.matches("v1.api.github.com")).containsExactly("*.api.github.com", "*.github.com", "*.com");
        assertThat(t.matches("github.com")).containsExactly("github.com", "*.com");
        assertThat(t.matches("example.com")).containsExactly("*.com");
    }

    @Test
    void matches_samePatternTwice_keepsBothInInsertionOrder() {
        NameTrie<String> t = new NameTrie<>();
        t.put(pattern("github.com"), "project");
        t.put(pattern("github.com"), "preset github");
        assertThat(t.freeze().matches("github.com")).containsExactly("project", "preset github");
        assertThat(t.size()).isEqualTo(2);
    }

    @Test
    void matches_emptyTrieOrEmptyName_isEmpty() {
        assertThat(new NameTrie<String>().matches("github.com")).isEmpty();
        assertThat(trie("github.com").matches("")).isEmpty();
    }

    @Test
    void put_afterFreeze_isRefused() {
        NameTrie<String> t = trie("github.com");
        assertThatThrownBy(() -> t.put(pattern("gitlab.com"), "x")).isInstanceOf(IllegalStateException.class);
    }

    // ---- NamePattern: what the production overlap check relies on ----------------------------------

    @ParameterizedTest(name = "{0} covered by {1}: {2}; overlaps: {3}")
    @CsvSource(delimiter = '|', textBlock = """
        github.com          | github.com          | true  | true
        api.github.com      | *.github.com        | true  | true
        github.com          | *.github.com        | false | false
        *.api.github.com    | *.github.com        | true  | true
        *.github.com        | *.github.com        | true  | true
        *.github.com        | *.api.github.com    | false | true
        *.github.com        | api.github.com      | false | true
        *.github.com        | github.com          | false | false
        *.github.com        | *.gitlab.com        | false | false
        evilgithub.com      | *.github.com        | false | false
        """)
    void pattern_coverageAndOverlap(String pattern, String other, boolean covered, boolean overlaps) {
        assertThat(pattern(pattern).isCoveredBy(pattern(other))).isEqualTo(covered);
        assertThat(pattern(pattern).overlaps(pattern(other))).isEqualTo(overlaps);
    }

    @Test
    void pattern_printsAsWritten() {
        assertThat(pattern("*.github.com")).hasToString("*.github.com");
        assertThat(pattern("github.com")).hasToString("github.com");
    }
}
