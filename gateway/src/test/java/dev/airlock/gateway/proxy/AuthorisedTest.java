package dev.airlock.gateway.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.gateway.peek.HttpHeadPeek;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The one check of an announced host, shared by the pre-dial peek and the protocol gate. */
class AuthorisedTest {

    private static HttpHeadPeek.Request head(String host) {
        String text = "GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
        return (HttpHeadPeek.Request) HttpHeadPeek.parse(ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void checkHead_namesCompareCanonically() {
        Authorised a = Authorised.of("cdn.test", 80);
        assertThat(a.check(head("cdn.test"), 1)).isEmpty();
        assertThat(a.check(head("CDN.Test."), 1)).as("case and a final dot do not change the name").isEmpty();
        assertThat(a.check(head("prod.test"), 2)).get().extracting(m -> m.reason().code).isEqualTo("host-mismatch");
        assertThat(a.check(head("prod.test"), 2).orElseThrow().detail())
                .isEqualTo("request 2 on the connection names Host prod.test:80 but the tunnel is to cdn.test:80");
    }

    @Test
    void checkHead_portMustAgree() {
        assertThat(Authorised.of("cdn.test", 8000).check(head("cdn.test"), 1)).isPresent();
        assertThat(Authorised.of("cdn.test", 8000).check(head("cdn.test:8000"), 1)).isEmpty();
    }

    @Test
    void checkNoSni_passesOnlyForAnAddress() {
        assertThat(Authorised.of("cdn.test", 443).checkNoSni()).get().extracting(m -> m.reason().code).isEqualTo("no-sni");
        assertThat(Authorised.of("198.18.7.5", 443).checkNoSni()).isEmpty();
        assertThat(Authorised.of("[2001:db8::1]", 443).checkNoSni()).isEmpty();
    }
}
