package dev.airlock.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The CONNECT authority, Host header or command-line target, split strictly into host and port.
 * Smuggling characters are refused, not interpreted (egress-cases A); the host is returned as
 * written, and the engine canonicalises it.
 */
class AuthorityTest {

    @ParameterizedTest(name = "{0}: \"{1}\" -> {2}:{3}")
    @CsvSource(delimiter = '|', textBlock = """
        name and port                          | github.com:443          | github.com          | 443
        name without a port takes the default  | github.com              | github.com          | 443
        the host is kept as written            | GitHub.COM.:8443        | GitHub.COM.         | 8443
        IPv4 and port                          | 198.18.0.1:22           | 198.18.0.1          | 22
        bracketed IPv6 and port                | [2001:db8::1]:5432      | [2001:db8::1]       | 5432
        bracketed IPv6 without a port          | [::1]                   | [::1]               | 443
        non-canonical IPv4 is the engine's job | 127.1:80                | 127.1               | 80
        full-width letters are the engine's job | ｇｉｔｈｕｂ.com:443    | ｇｉｔｈｕｂ.com      | 443
        the lowest port                        | github.com:1            | github.com          | 1
        the highest port                       | github.com:65535        | github.com          | 65535
        """)
    void parse_accepts(String description, String text, String host, int port) {
        assertThat(Authority.parse(text, 443)).as(description).isEqualTo(new Authority.Ok(new Authority(host, port)));
    }

    static Stream<Arguments> refused() {
        return Stream.of(
                Arguments.of("CONNECT with no port", "github.com", "no port"),
                Arguments.of("userinfo", "github.com@evil.com:443", "'@'"),
                Arguments.of("userinfo before the allowed name", "evil.com:443@github.com:443", "'@'"),
                Arguments.of("a fragment", "evil.com#github.com:443", "'#'"),
                Arguments.of("a backslash", "evil.com\\github.com:443", "'\\'"),
                Arguments.of("percent-encoding", "github%2ecom:443", "'%'"),
                Arguments.of("a path", "github.com/x:443", "'/'"),
                Arguments.of("a query", "github.com?:443", "'?'"),
                Arguments.of("NUL", "github.com\u0000:443", "\\x00"),
                Arguments.of("CR/LF", "github.com:443\r\nHost: evil.com", "\\x0d"),
                Arguments.of("a space", "github.com :443", "\\x20"),
                Arguments.of("a tab", "github.com\t:443", "\\x09"),
                Arguments.of("DEL", "github.com\u007F:443", "\\x7f"),
                Arguments.of("a port inside the name", "evil.com:443.github.com", "invalid port"),
                Arguments.of("unbracketed IPv6", "2001:db8::1:443", "must be in brackets"),
                Arguments.of("unbracketed IPv6 loopback", "::1", "must be in brackets"),
                Arguments.of("an unclosed bracket", "[::1:443", "unclosed '['"),
                Arguments.of("text after the bracket", "[::1]443", "unexpected text after ']'"),
                Arguments.of("no host", ":443", "no host"),
                Arguments.of("an empty port", "github.com:", "invalid port"),
                Arguments.of("port 0", "github.com:0", "invalid port"),
                Arguments.of("port 65536", "github.com:65536", "invalid port"),
                Arguments.of("port -1", "github.com:-1", "invalid port"),
                Arguments.of("a signed port", "github.com:+443", "invalid port"),
                Arguments.of("a port with a leading zero", "github.com:0443", "invalid port"),
                Arguments.of("a service name", "github.com:https", "invalid port"),
                Arguments.of("six digits", "github.com:100443", "invalid port"),
                Arguments.of("empty", "", "empty authority"),
                Arguments.of("too long", "a".repeat(400) + ":443", "longer than"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refused")
    void parse_refuses(String description, String text, String why) {
        Authority.Parsed p = Authority.parse(text, -1);
        assertThat(p).as(description).isInstanceOf(Authority.Bad.class);
        assertThat(((Authority.Bad) p).why()).as(description).contains(why).doesNotContainPattern("[\\x00-\\x1f\\x7f]");
    }

    @Test
    void parse_null_isRefused() {
        assertThat(Authority.parse(null, 443)).isInstanceOf(Authority.Bad.class);
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', textBlock = """
        a bare name is HTTPS                   | github.com                          | github.com     | 443
        name and port                          | github.com:22                       | github.com     | 22
        an https URL                           | https://github.com/acme/repo.git    | github.com     | 443
        an http URL                            | http://github.com/                  | github.com     | 80
        an ssh URL                             | ssh://github.com/acme/repo          | github.com     | 22
        a git URL                              | git://github.com/acme/repo          | github.com     | 9418
        a wss URL                              | wss://github.com                    | github.com     | 443
        the scheme is case-insensitive         | HTTPS://github.com                  | github.com     | 443
        a URL with a port                      | https://github.com:8443/x?y=1#z     | github.com     | 8443
        a URL ends its authority at ?          | https://github.com?@evil.com        | github.com     | 443
        a URL ends its authority at #          | https://github.com#@evil.com        | github.com     | 443
        a URL with IPv6                        | https://[2001:db8::1]:8443/         | [2001:db8::1]  | 8443
        """)
    void parseTarget_accepts(String description, String text, String host, int port) {
        assertThat(Authority.parseTarget(text)).as(description).isEqualTo(new Authority.Ok(new Authority(host, port)));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', textBlock = """
        userinfo hides the real host           | https://github.com@evil.com/
        userinfo with a password               | https://user:pass@github.com/
        a backslash before userinfo            | https://evil.com\\@github.com/
        an unknown scheme                      | ftp://github.com/
        a URL with an empty authority          | https:///path
        a URL with port 0                      | https://github.com:0/
        """)
    void parseTarget_refuses(String description, String text) {
        assertThat(Authority.parseTarget(text)).as(description).isInstanceOf(Authority.Bad.class);
    }

    @Test
    void parsedSmuggling_neverReachesTheEngineAsAName() {
        // The strict split and the engine agree: what the split accepts, the engine canonicalises;
        // what it refuses never becomes a host.
        PolicyEngine engine = Policies.engine(Phase.RUN);
        Authority.Parsed p = Authority.parse("GitHub.COM.:443", -1);
        Authority a = ((Authority.Ok) p).authority();
        assertThat(engine.screen(a.host(), a.port())).isEqualTo(new PolicyEngine.Screening.Resolve("github.com"));
    }

    @Test
    void toString_isHostColonPort() {
        assertThat(new Authority("[::1]", 443)).hasToString("[::1]:443");
    }
}
