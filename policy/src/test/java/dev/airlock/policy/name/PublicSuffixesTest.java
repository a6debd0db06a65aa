package dev.airlock.policy.name;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The shipped ICANN list, read without IDNA: its internationalised suffixes are A-labels, as canonical names are. */
class PublicSuffixesTest {

    @ParameterizedTest(name = "{0}: public suffix {1}")
    @CsvSource(delimiter = '|', textBlock = """
        com                | true
        co.uk              | true
        github.com         | false
        公司.cn             | true
        网络.cn             | true
        aéroport.ci        | true
        bücher.de          | false
        anything.bd        | true
        www.ck             | false
        other.ck           | true
        """)
    void isPublicSuffix_ofTheCanonicalName(String name, boolean suffix) {
        HostNames.Canonical canonical = (HostNames.Canonical) HostNames.canonicalize(name);
        assertThat(PublicSuffixes.icann().isPublicSuffix(canonical.name())).as(canonical.name()).isEqualTo(suffix);
    }
}
