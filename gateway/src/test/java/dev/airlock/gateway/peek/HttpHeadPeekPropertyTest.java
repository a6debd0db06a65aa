package dev.airlock.gateway.peek;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.gateway.peek.HttpHeadPeek.Malformed;
import dev.airlock.gateway.peek.HttpHeadPeek.NeedMore;
import dev.airlock.gateway.peek.HttpHeadPeek.Request;
import dev.airlock.gateway.peek.HttpHeadPeek.Result;
import dev.airlock.policy.Authority;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

/**
 * Properties of {@link HttpHeadPeek} for every input: it never throws or loops, a request it
 * accepts has exactly one {@code Host} line and returns that line's value verbatim, a final answer
 * does not change with more bytes, and a good head is {@code NeedMore} until its last byte.
 */
class HttpHeadPeekPropertyTest {

    static Result parse(byte[] bytes) {
        return Bounded.run(() -> HttpHeadPeek.parse(ByteBuffer.wrap(bytes)));
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    /**
     * What must hold for any input and its answer. The oracle for an accepted request is written
     * independently of the parser: split the head on CRLF and look for lines named Host.
     */
    static void assertSane(byte[] input, Result result) {
        assertThat(result).isNotNull();
        switch (result) {
            case NeedMore n -> assertThat(input.length).isLessThan(HttpHeadPeek.MAX_HEAD_BYTES);
            case Malformed m -> assertThat(m.why()).isNotBlank().matches(w -> !Bounded.hasControl(w));
            case Request r -> {
                assertThat(r.headLength()).isLessThanOrEqualTo(Math.min(input.length, HttpHeadPeek.MAX_HEAD_BYTES));
                String head = new String(input, 0, r.headLength(), StandardCharsets.ISO_8859_1);
                assertThat(head).endsWith("\r\n\r\n");
                assertThat(head.indexOf("\r\n\r\n")).isEqualTo(head.length() - 4);
                List<String> lines = Arrays.asList(head.substring(0, head.length() - 4).split("\r\n", -1));
                assertThat(lines.get(0)).isEqualTo(r.method() + " " + r.target() + " " + r.version());
                List<String> hostValues = new ArrayList<>();
                for (String line : lines.subList(1, lines.size())) {
                    int colon = line.indexOf(':');
                    if (colon >= 0 && line.substring(0, colon).trim().equalsIgnoreCase("host")) {
                        hostValues.add(line.substring(colon + 1).strip());
                    }
                    assertThat(line).doesNotStartWith(" ").doesNotStartWith("\t").doesNotContain("\n").doesNotContain("\r");
                }
                assertThat(hostValues).containsExactly(r.hostHeader());
                assertThat(Authority.parse(r.hostHeader(), 80)).isEqualTo(new Authority.Ok(r.authority()));
                assertThat(head).doesNotContain("\0");
                r.targetAuthority().ifPresent(t -> assertThat(HttpHeadPeek.sameAuthority(t, r.authority())).isTrue());
            }
        }
    }

    // ---- generators ----------------------------------------------------------------------------------

    /** Host values, mostly good, sometimes with what smuggling attempts use. */
    @Provide
    Arbitrary<String> hosts() {
        Arbitrary<String> plausible = Arbitraries.strings().withChars("abcxyz019-.").ofMinLength(1).ofMaxLength(20)
                .map(s -> s + ".example");
        Arbitrary<String> withPort = plausible.map(h -> h + ":8080");
        Arbitrary<String> hostile = Arbitraries.strings().withChars("aZ.:@/#%\\,[] \t\u0000\r\n\u00e9").ofMaxLength(15);
        return Arbitraries.oneOf(plausible, plausible, withPort, hostile);
    }

    /** Header lines that smuggling attempts are made of, and ordinary ones. */
    @Provide
    Arbitrary<String> headerLines() {
        Arbitrary<String> names = Arbitraries.of("Host", "host", "HOST", "Host ", " Host", "X-A", "Content-Length",
                "Transfer-Encoding", "", "Ho\0st");
        Arbitrary<String> values = Arbitraries.oneOf(hosts(), Arbitraries.of("chunked", "5", "5, 5", " y", "", "\u001b[0m"));
        Arbitrary<String> separators = Arbitraries.of(":", ": ", " : ", ":\t");
        return Combinators.combine(names, separators, values).as((n, s, v) -> n + s + v);
    }

    @Provide
    Arbitrary<String> requestLines() {
        Arbitrary<String> targets = Arbitraries.oneOf(
                Arbitraries.of("/", "/a?b=c", "*", "http://a.example/", "http://a.example:80", "https://a.example/",
                        "http://u@a.example/", "a.example:443", "/#f", "/ x"),
                hosts().map(h -> "http://" + h + "/"));
        return Combinators.combine(Arbitraries.of("GET", "POST", "OPTIONS", "CONNECT", "G ET", "PRI"), targets,
                Arbitraries.of("HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "http/1.1")).as((m, t, v) -> m + " " + t + " " + v);
    }

    /** Heads assembled from those parts with line endings that are sometimes wrong. */
    @Provide
    Arbitrary<byte[]> httpish() {
        Arbitrary<String> endings = Arbitraries.of("\r\n", "\r\n", "\r\n", "\n", "\r", "\r\n ", "\r\n\t");
        return Combinators.combine(requestLines(), headerLines().list().ofMaxSize(5), endings.list().ofSize(7))
                .as((line, headers, ends) -> {
                    StringBuilder sb = new StringBuilder(line).append(ends.get(0));
                    for (int i = 0; i < headers.size(); i++) {
                        sb.append(headers.get(i)).append(ends.get(i + 1));
                    }
                    return bytes(sb.append("\r\n").toString());
                });
    }

    /** A good head with the given Host and a few ordinary headers. */
    @Provide
    Arbitrary<byte[]> goodHeads() {
        Arbitrary<String> host = Arbitraries.strings().withChars("abcxyz019-").ofMinLength(1).ofMaxLength(20)
                .map(s -> "h" + s + ".example");
        return Combinators.combine(host, Arbitraries.of(true, false), Arbitraries.integers().between(0, 3))
                .as((h, absolute, extra) -> {
                    StringBuilder sb = new StringBuilder("GET ").append(absolute ? "http://" + h + "/p" : "/p")
                            .append(" HTTP/1.1\r\n");
                    for (int i = 0; i < extra; i++) {
                        sb.append("X-").append(i).append(": v").append(i).append("\r\n");
                    }
                    sb.append("Host: ").append(h).append("\r\n");
                    return bytes(sb.append("Accept: */*\r\n\r\n").toString());
                });
    }

    @Provide
    Arbitrary<List<ClientHelloPeekPropertyTest.Mutation>> mutations() {
        return Combinators.combine(Arbitraries.integers().between(0, 4), Arbitraries.integers(), Arbitraries.integers().between(0, 255))
                .as(ClientHelloPeekPropertyTest.Mutation::new).list().ofMinSize(1).ofMaxSize(4);
    }

    // ---- never throws, never loops, never accepts an ambiguous Host -----------------------------------

    @Property(tries = 2000)
    void parse_arbitraryBytes_isSane(@ForAll @Size(max = 600) byte[] bytes) {
        assertSane(bytes, parse(bytes));
    }

    @Property(tries = 3000)
    void parse_headsBuiltFromSmugglingParts_areSane(@ForAll("httpish") byte[] bytes) {
        assertSane(bytes, parse(bytes));
    }

    @Property(tries = 2000)
    void parse_mutatedGoodHead_isSane(@ForAll("goodHeads") byte[] head, @ForAll("mutations") List<ClientHelloPeekPropertyTest.Mutation> edits) {
        byte[] bytes = head;
        for (ClientHelloPeekPropertyTest.Mutation m : edits) {
            bytes = m.apply(bytes);
        }
        assertSane(bytes, parse(bytes));
    }

    // ---- a final answer is final ---------------------------------------------------------------------

    @Property(tries = 2000)
    void parse_finalAnswer_doesNotChangeWithMoreBytes(@ForAll("httpish") byte[] bytes, @ForAll int cut,
                                                      @ForAll @Size(max = 40) byte[] more) {
        byte[] prefix = Arrays.copyOf(bytes, Math.floorMod(cut, bytes.length + 1));
        Result early = parse(prefix);
        if (!(early instanceof NeedMore)) {
            byte[] longer = new byte[prefix.length + more.length];
            System.arraycopy(prefix, 0, longer, 0, prefix.length);
            System.arraycopy(more, 0, longer, prefix.length, more.length);
            assertThat(parse(longer)).isEqualTo(early);
        }
    }

    // ---- a good head -----------------------------------------------------------------------------------

    @Property(tries = 300)
    void parse_goodHead_isNeedMoreUntilItsLastByteThenGivesItsHost(@ForAll("goodHeads") byte[] head) {
        for (int n = 0; n < head.length; n++) {
            assertThat(parse(Arrays.copyOf(head, n))).as("prefix of %d", n).isInstanceOf(NeedMore.class);
        }
        Result r = parse(head);
        assertSane(head, r);
        String text = new String(head, StandardCharsets.ISO_8859_1);
        String host = text.substring(text.indexOf("Host: ") + 6, text.indexOf("\r\n", text.indexOf("Host: ")));
        assertThat(((Request) r).authority()).isEqualTo(new Authority(host, 80));
    }

    @Property(tries = 1000)
    void parse_secondHostLineAnywhere_isNeverAccepted(@ForAll("goodHeads") byte[] head, @ForAll("hosts") String other,
                                                     @ForAll int where, @ForAll boolean upperCase) {
        // A CR or LF in the smuggled value would end the head early: that is a different attack.
        other = other.replace("\r", "").replace("\n", "");
        String text = new String(head, StandardCharsets.ISO_8859_1);
        List<Integer> lineStarts = new ArrayList<>();
        for (int i = text.indexOf("\r\n"); i >= 0 && i + 2 < text.length() - 2; i = text.indexOf("\r\n", i + 2)) {
            lineStarts.add(i + 2);
        }
        int at = lineStarts.get(Math.floorMod(where, lineStarts.size()));
        String name = upperCase ? "HOST" : "host";
        String smuggled = text.substring(0, at) + name + ": " + other + "\r\n" + text.substring(at);
        assertThat(parse(bytes(smuggled))).isInstanceOf(Malformed.class);
    }
}
