package dev.airlock.gateway.resolve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.address.IpLiterals;
import dev.airlock.policy.load.PolicyException;
import org.junit.jupiter.api.Test;

class HostsFileTest {

    private static IpAddress ip(String s) {
        return ((IpLiterals.Canonical) IpLiterals.shape(s)).address();
    }

    @Test
    void resolve_namesAreCanonicalisedAndAddressesKeptInOrder() throws PolicyException {
        HostsFile h = HostsFile.parse("hosts", """
                # comment
                198.18.0.10  GitHub.com. api.github.com   # trailing comment
                2001:db8::10 github.com
                \t198.18.0.11\tother.example
                """);
        assertThat(h.resolve("github.com")).isEqualTo(new Resolution.Answer(
                java.util.List.of(ip("198.18.0.10"), ip("2001:db8::10")), java.util.List.of(), java.time.Duration.ofSeconds(60)));
        assertThat(((Resolution.Answer) h.resolve("other.example")).addresses()).containsExactly(ip("198.18.0.11"));
    }

    @Test
    void resolve_unknownName_isNxdomainNotAnException() throws PolicyException {
        HostsFile h = HostsFile.parse("hosts", "198.18.0.10 a.example\n");
        assertThat(h.resolve("b.example")).isInstanceOfSatisfying(Resolution.Failure.class,
                f -> assertThat(f.kind()).isEqualTo(Resolution.Kind.NXDOMAIN));
    }

    @Test
    void parse_nonCanonicalAddress_isAnErrorWithLineAndColumn() {
        assertThatThrownBy(() -> HostsFile.parse("hosts", "198.18.0.10 ok.example\n  127.1 bad.example\n"))
                .isInstanceOf(PolicyException.class)
                .hasMessageContaining("hosts:2:3: \"127.1\" is not a canonical IP address");
    }

    @Test
    void parse_invalidName_isAnErrorWithColumn() {
        assertThatThrownBy(() -> HostsFile.parse("hosts", "198.18.0.10 ok.example bad_name\n"))
                .isInstanceOf(PolicyException.class)
                .hasMessageContaining("hosts:1:24: \"bad_name\" is not a valid host name");
    }

    @Test
    void parse_addressWithoutNames_isAnError() {
        assertThatThrownBy(() -> HostsFile.parse("h", "198.18.0.10\n"))
                .hasMessageContaining("h:1:1: address 198.18.0.10 has no names");
    }
}
