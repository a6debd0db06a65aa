package dev.airlock.policy.name;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import java.util.stream.Stream;

/**
 * Names are compared after UTS-46 mapping to lower-case Punycode, with one trailing dot stripped
 * (DESIGN.md §2). Anything that is not a plain name afterwards is invalid, never repaired.
 */
class HostNamesTest {

    @ParameterizedTest(name = "{0}: \"{1}\" -> {2}")
    @CsvSource(delimiter = '|', textBlock = """
        already canonical                          | github.com             | github.com
        upper case folds                           | GitHub.COM             | github.com
        one trailing dot is stripped               | github.com.            | github.com
        case and trailing dot together             | API.GitHub.com.        | api.github.com
        full-width letters fold                    | ｇｉｔｈｕｂ.com        | github.com
        full-width letters and dots fold           | ＧＩＴＨＵＢ．ＣＯＭ．    | github.com
        ideographic full stop is a dot             | github。com            | github.com
        umlaut becomes Punycode                    | bücher.de              | xn--bcher-kva.de
        upper-case umlaut too                      | BÜCHER.de              | xn--bcher-kva.de
        Punycode stays as it is                    | xn--bcher-kva.de       | xn--bcher-kva.de
        upper-case Punycode folds                  | XN--BCHER-KVA.DE       | xn--bcher-kva.de
        a single label                             | localhost              | localhost
        digits are fine inside a name              | 1e100.net              | 1e100.net
        a numeric label that is not the last one   | 123.example.com        | 123.example.com
        hyphens inside a label                     | my-host.example.com    | my-host.example.com
        """)
    void canonicalize_accepts(String description, String raw, String canonical) {
        assertThat(HostNames.canonicalize(raw)).as(description).isEqualTo(new HostNames.Canonical(canonical));
    }

    @Test
    void canonicalize_utsIgnoredCodePoints_vanish() {
        // UTS-46 maps a soft hyphen or a zero-width space to nothing: the name IS github.com, and is
        // then decided exactly like github.com (the gateway dials what github.com resolves to).
        assertThat(HostNames.canonicalize("git\u00ADhub.com")).isEqualTo(new HostNames.Canonical("github.com"));
        assertThat(HostNames.canonicalize("git\u200Bhub.com")).isEqualTo(new HostNames.Canonical("github.com"));
    }

    @Test
    void canonicalize_longestLegalLabelAndName_areAccepted() {
        String label63 = "a".repeat(63);
        assertThat(HostNames.canonicalize(label63 + ".com")).isInstanceOf(HostNames.Canonical.class);
        String name253 = name(253);
        assertThat(HostNames.canonicalize(name253)).isEqualTo(new HostNames.Canonical(name253));
        assertThat(HostNames.canonicalize(name253 + ".")).as("253 plus the trailing dot")
                .isEqualTo(new HostNames.Canonical(name253));
    }

    @ParameterizedTest(name = "homograph {0}: \"{1}\" is not {2}")
    @CsvSource(delimiter = '|', textBlock = """
        Cyrillic і (U+0456)                | gіthub.com     | github.com
        dotless ı (U+0131)                 | gıthub.com     | github.com
        capital I with dot (U+0130)        | GİTHUB.com     | github.com
        all-Cyrillic раураl                | раураl.com     | paypal.com
        Greek omicrons                     | gοοgle.com     | google.com
        Cyrillic o (U+043E) in the TLD         | github.cоm     | github.com
        """)
    void canonicalize_homographs_stayDistinct(String description, String raw, String lookalike) {
        HostNames.Result r = HostNames.canonicalize(raw);
        assertThat(r).as(description).isInstanceOf(HostNames.Canonical.class);
        String name = ((HostNames.Canonical) r).name();
        assertThat(name).isNotEqualTo(lookalike).contains("xn--").matches("[a-z0-9.-]+");
    }

    static Stream<Arguments> invalidNames() {
        return Stream.of(
                Arguments.of("two trailing dots", "github.com.."),
                Arguments.of("only a dot", "."),
                Arguments.of("only dots", ".."),
                Arguments.of("empty", ""),
                Arguments.of("leading dot", ".github.com"),
                Arguments.of("empty label in the middle", "api..github.com"),
                Arguments.of("label of 64", "a".repeat(64) + ".com"),
                Arguments.of("name of 254", name(254)),
                Arguments.of("leading hyphen", "-github.com"),
                Arguments.of("trailing hyphen", "github-.com"),
                Arguments.of("space", "git hub.com"),
                Arguments.of("trailing space", "github.com "),
                Arguments.of("tab", "github.com\t"),
                Arguments.of("NUL", "github.com\u0000.evil.net"),
                Arguments.of("CR/LF header injection", "github.com\r\nHost: evil.net"),
                Arguments.of("LF", "github.com\nevil"),
                Arguments.of("DEL", "github\u007F.com"),
                Arguments.of("C1 control NEL", "github\u0085.com"),
                Arguments.of("ANSI escape", "\u001B[31mgithub.com"),
                Arguments.of("userinfo", "github.com@evil.com"),
                Arguments.of("fragment", "evil.com#github.com"),
                Arguments.of("backslash", "evil.com\\github.com"),
                Arguments.of("percent-encoding", "github%2ecom"),
                Arguments.of("port", "github.com:443"),
                Arguments.of("path", "github.com/evil"),
                Arguments.of("query", "github.com?x"),
                Arguments.of("underscore", "git_hub.com"),
                Arguments.of("glob", "*.github.com"),
                Arguments.of("full-width at sign", "github.com＠evil.com"),
                Arguments.of("full-width colon", "github.com：443"),
                Arguments.of("one dot leader maps to a dot inside a label", "github\u2024com"),
                Arguments.of("xn-- with nothing after it", "xn--.com"),
                Arguments.of("xn-- that is not Punycode", "xn--a.com"),
                Arguments.of("xn-- digits that do not decode", "xn--99999999.com"),
                Arguments.of("xn-- ending in a hyphen", "xn--github-.com"),
                Arguments.of("xn-- of a symbol IDNA refuses", "xn--ls8h.com"),
                Arguments.of("longer than any name could be", "a.".repeat(600) + "com"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidNames")
    void canonicalize_refuses(String description, String raw) {
        assertThat(HostNames.canonicalize(raw)).as(description).isInstanceOf(HostNames.Invalid.class);
        assertThat(HostNames.canonicalOrEmpty(raw)).isEmpty();
    }

    @Test
    void canonicalize_null_isInvalid() {
        assertThat(HostNames.canonicalize(null)).isInstanceOf(HostNames.Invalid.class);
    }

    @ParameterizedTest(name = "{0} under {1}: same-or-sub {2}, strict {3}")
    @CsvSource(delimiter = '|', textBlock = """
        github.com             | github.com | true  | false
        api.github.com         | github.com | true  | true
        a.b.api.github.com     | github.com | true  | true
        evilgithub.com         | github.com | false | false
        github.com.evil.net    | github.com | false | false
        hub.com                | github.com | false | false
        xgithub.com            | github.com | false | false
        """)
    void isSubdomain_needsALabelBoundary(String name, String parent, boolean sameOrSub, boolean strict) {
        assertThat(HostNames.isSameOrSubdomain(name, parent)).isEqualTo(sameOrSub);
        assertThat(HostNames.isStrictSubdomain(name, parent)).isEqualTo(strict);
    }

    // ---- properties --------------------------------------------------------------------------------

    @Property(tries = 2000)
    void canonicalize_isIdempotent(@ForAll("hostish") String raw) {
        if (HostNames.canonicalize(raw) instanceof HostNames.Canonical c) {
            assertThat(HostNames.canonicalize(c.name())).isEqualTo(c);
        }
    }

    @Property(tries = 2000)
    void canonicalize_yieldsOnlyLowerCaseLdhWithoutTrailingDot(@ForAll("hostish") String raw) {
        if (HostNames.canonicalize(raw) instanceof HostNames.Canonical c) {
            assertThat(c.name()).matches("[a-z0-9-]+(\\.[a-z0-9-]+)*").hasSizeLessThanOrEqualTo(HostNames.MAX_NAME_LENGTH);
        }
    }

    @Property
    void canonicalize_caseAndOneTrailingDot_doNotMatter(@ForAll("ldhNames") String name, @ForAll boolean dot) {
        String raw = name.toUpperCase(java.util.Locale.ROOT) + (dot ? "." : "");
        assertThat(HostNames.canonicalize(raw)).isEqualTo(HostNames.canonicalize(name));
    }

    /** Strings that are often names: LDH, upper case, dots, and a few non-ASCII look-alikes. */
    @Provide
    Arbitrary<String> hostish() {
        Arbitrary<Character> chars = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(10, Arbitraries.chars().range('a', 'z')),
                net.jqwik.api.Tuple.of(3, Arbitraries.chars().range('A', 'Z')),
                net.jqwik.api.Tuple.of(3, Arbitraries.chars().range('0', '9')),
                net.jqwik.api.Tuple.of(4, Arbitraries.of('.', '-')),
                net.jqwik.api.Tuple.of(2, Arbitraries.of('ü', 'ß', 'і', 'ı', 'İ', 'ｇ', 'Ａ', '．', '。', 'é', 'ω', '中')),
                net.jqwik.api.Tuple.of(1, Arbitraries.chars()));
        return chars.list().ofMinSize(1).ofMaxSize(40).map(l -> {
            StringBuilder sb = new StringBuilder();
            l.forEach(sb::append);
            return sb.toString();
        });
    }

    @Provide
    Arbitrary<String> ldhNames() {
        Arbitrary<String> label = Arbitraries.strings().withCharRange('a', 'z').withCharRange('0', '9').ofMinLength(1).ofMaxLength(12);
        return label.list().ofMinSize(1).ofMaxSize(4).map(l -> String.join(".", l) + ".test");
    }

    /** A valid name of exactly {@code length} characters, from 63-character labels. */
    static String name(int length) {
        StringBuilder sb = new StringBuilder();
        while (sb.length() < length) {
            int room = length - sb.length() - (sb.length() == 0 ? 0 : 1);
            if (sb.length() > 0) {
                sb.append('.');
            }
            sb.append("a".repeat(Math.min(63, room)));
        }
        return sb.toString();
    }
}
