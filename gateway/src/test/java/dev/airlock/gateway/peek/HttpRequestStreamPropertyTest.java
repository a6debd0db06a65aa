package dev.airlock.gateway.peek;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * The request framer on generated connections: how the bytes are split across reads never
 * changes which heads are found or where a refusal happens, and hostile bytes never make it throw,
 * loop, or pass more bytes than it was given. FirstBytes' final answers never change with more bytes.
 */
class HttpRequestStreamPropertyTest {

    /** The heads (hosts) found and how the walk ended, feeding {@code bytes} in reads cut at {@code cuts}. */
    static List<String> walk(byte[] bytes, int[] cuts) {
        HttpRequestStream stream = new HttpRequestStream();
        List<String> seen = new ArrayList<>();
        ByteBuffer held = ByteBuffer.allocate(0);
        int from = 0;
        int[] ends = Arrays.copyOf(cuts, cuts.length + 1);
        ends[cuts.length] = bytes.length;
        Arrays.sort(ends);
        for (int end : ends) {
            end = Math.max(from, Math.min(end, bytes.length));
            ByteBuffer grown = ByteBuffer.allocate(held.remaining() + end - from);
            grown.put(held).put(bytes, from, end - from).flip();
            held = grown;
            from = end;
            for (int steps = 0; ; steps++) {
                assertThat(steps).as("progress").isLessThan(bytes.length + 10);
                ByteBuffer view = held.duplicate();
                HttpRequestStream.Step s = Bounded.run(() -> stream.next(view));
                if (s instanceof HttpRequestStream.NeedMore) {
                    break;
                }
                if (s instanceof HttpRequestStream.Refused r) {
                    assertThat(r.why()).isNotBlank().matches(w -> !Bounded.hasControl(w));
                    seen.add("refused");
                    return seen;
                }
                int n = s instanceof HttpRequestStream.Pass p ? p.bytes() : ((HttpRequestStream.Head) s).request().headLength();
                assertThat(n).isPositive().isLessThanOrEqualTo(held.remaining());
                if (s instanceof HttpRequestStream.Head h) {
                    seen.add(h.request().authority().host());
                }
                held.position(held.position() + n);
            }
        }
        seen.add(held.hasRemaining() ? "partial" : "end");
        return seen;
    }

    @Provide
    Arbitrary<String> connections() {
        Arbitrary<String> host = Arbitraries.of("a.test", "b.test", "prod.test", "A.TEST.");
        Arbitrary<String> body = Arbitraries.strings().withChars("xyz\r\n0123456789abcdefGET /HTTP:;").ofMaxLength(40);
        Arbitrary<String> request = net.jqwik.api.Combinators.combine(host, body, Arbitraries.integers().between(0, 3)).as((h, b, kind) ->
                switch (kind) {
                    case 0 -> "GET / HTTP/1.1\r\nHost: " + h + "\r\n\r\n";
                    case 1 -> "POST / HTTP/1.1\r\nHost: " + h + "\r\nContent-Length: " + b.length() + "\r\n\r\n" + b;
                    case 2 -> "POST / HTTP/1.1\r\nHost: " + h + "\r\nTransfer-Encoding: chunked\r\n\r\n"
                            + (b.isEmpty() ? "" : Integer.toHexString(b.length()) + ";e=1\r\n" + b + "\r\n") + "0\r\nT: v\r\n\r\n";
                    default -> "GET / HTTP/1.1\r\nHost: " + h + b + "\r\n\r\n"; // often malformed
                });
        return request.list().ofMinSize(1).ofMaxSize(4).map(l -> String.join("", l));
    }

    @Property(tries = 400)
    void next_anySplitOfAConnection_findsTheSameHeadsAndEnding(@ForAll("connections") String connection,
            @ForAll @Size(max = 4) List<@IntRange(min = 0, max = 400) Integer> cuts) {
        byte[] bytes = connection.getBytes(StandardCharsets.ISO_8859_1);
        List<String> whole = walk(bytes, new int[0]);
        assertThat(walk(bytes, cuts.stream().mapToInt(Integer::intValue).toArray())).isEqualTo(whole);
    }

    @Property(tries = 400)
    void next_arbitraryBytes_neverThrowsAndNeverPassesMoreThanItWasGiven(@ForAll @Size(max = 300) byte[] tail) {
        byte[] head = "POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
        byte[] all = Arrays.copyOf(head, head.length + tail.length);
        System.arraycopy(tail, 0, all, head.length, tail.length);
        assertThat(walk(all, new int[] {head.length + tail.length / 2})).startsWith("a.test");
        walk(tail, new int[] {tail.length / 3});
    }

    @Property(tries = 400)
    void classify_aFinalAnswerNeverChangesWithMoreBytes(@ForAll @Size(max = 40) byte[] prefix, @ForAll @Size(max = 40) byte[] more) {
        FirstBytes.Kind first = Bounded.run(() -> FirstBytes.classify(ByteBuffer.wrap(prefix)));
        if (first instanceof FirstBytes.NeedMore) {
            return;
        }
        byte[] longer = Arrays.copyOf(prefix, prefix.length + more.length);
        System.arraycopy(more, 0, longer, prefix.length, more.length);
        assertThat(FirstBytes.classify(ByteBuffer.wrap(longer)).getClass()).isEqualTo(first.getClass());
    }
}
