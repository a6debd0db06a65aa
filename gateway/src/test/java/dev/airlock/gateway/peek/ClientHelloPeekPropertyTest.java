package dev.airlock.gateway.peek;

import static dev.airlock.gateway.peek.ClientHelloBuilder.clientHello;
import static dev.airlock.gateway.peek.ClientHelloBuilder.concat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.gateway.peek.ClientHelloPeek.Hello;
import dev.airlock.gateway.peek.ClientHelloPeek.Malformed;
import dev.airlock.gateway.peek.ClientHelloPeek.NeedMore;
import dev.airlock.gateway.peek.ClientHelloPeek.NoSni;
import dev.airlock.gateway.peek.ClientHelloPeek.NotTls;
import dev.airlock.gateway.peek.ClientHelloPeek.RejectedName;
import dev.airlock.gateway.peek.ClientHelloPeek.Result;
import dev.airlock.policy.address.IpLiterals;
import dev.airlock.policy.name.HostNames;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Assume;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Properties of {@link ClientHelloPeek} for every input, not only the rows of
 * {@link ClientHelloPeekTest}: it never throws, never loops, never invents a name, answers finally
 * only when more bytes cannot change the answer, and does not care how a hello is cut into records.
 */
class ClientHelloPeekPropertyTest {

    static Result parse(byte[] bytes) {
        return Bounded.run(() -> ClientHelloPeek.parse(ByteBuffer.wrap(bytes)));
    }

    /**
     * What must hold for any input and its answer. A name is "verbatim in the input" when its bytes
     * occur either in the input or in the input's handshake stream (fragments without record
     * headers), since a name may straddle two records.
     */
    static void assertSane(byte[] input, Result result) {
        assertThat(result).isNotNull();
        int examined = Math.min(input.length, ClientHelloPeek.MAX_PEEK_BYTES);
        switch (result) {
            case NeedMore n -> assertThat(n.atLeast()).isGreaterThan(examined).isLessThanOrEqualTo(ClientHelloPeek.MAX_PEEK_BYTES);
            case NotTls n -> assertThat(n.why()).isNotBlank().matches(w -> !Bounded.hasControl(w));
            case Malformed m -> assertThat(m.why()).isNotBlank().matches(w -> !Bounded.hasControl(w));
            case NoSni n -> assertThat(n.alpn()).allMatch(p -> verbatim(input, p));
            case Hello h -> {
                assertThat(h.serverNames()).allMatch(n -> verbatim(input, n), "present verbatim in the input");
                assertThat(h.serverNames()).allMatch(n -> HostNames.canonicalize(n) instanceof HostNames.Canonical
                        && IpLiterals.shape(n) instanceof IpLiterals.NotNumeric, "an acceptable, non-numeric host name");
                assertThat(h.rejectedNames()).extracting(RejectedName::raw).allMatch(n -> verbatim(input, n));
                assertThat(h.rejectedNames()).extracting(RejectedName::why).noneMatch(Bounded::hasControl);
                assertThat(h.alpn()).allMatch(p -> verbatim(input, p));
                h.soleName().ifPresent(n -> assertThat(h.serverNames()).hasSize(1));
            }
        }
    }

    private static boolean verbatim(byte[] input, String s) {
        return Bounded.containsVerbatim(input, s) || Bounded.containsVerbatim(deframe(input), s);
    }

    /** The fragments of the leading run of handshake records, headers removed. Independent of the parser. */
    static byte[] deframe(byte[] in) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int pos = 0;
        while (pos + 5 <= in.length && in[pos] == 0x16) {
            int length = ((in[pos + 3] & 0xFF) << 8) | (in[pos + 4] & 0xFF);
            int end = Math.min(pos + 5 + length, in.length);
            out.write(in, pos + 5, end - pos - 5);
            pos = end;
        }
        return out.toByteArray();
    }

    // ---- generators ----------------------------------------------------------------------------------

    /** Host names, mostly plausible, sometimes with the bytes that attacks use. */
    @Provide
    Arbitrary<String> names() {
        Arbitrary<String> plausible = Arbitraries.strings().withChars("abcxyz019-.").ofMinLength(1).ofMaxLength(30)
                .map(s -> s + ".example");
        Arbitrary<String> hostile = Arbitraries.strings()
                .withChars("aZ.-_:[]@*\u0000\r\n\t \u001b\u007f\u00e9\u00ff0x7f")
                .ofMinLength(1).ofMaxLength(20);
        Arbitrary<String> numeric = Arbitraries.of("192.0.2.1", "127.1", "0x7f.0.0.1", "::1", "[::1]", "2130706433", "1.2.3.4.");
        return Arbitraries.frequencyOf(Tuple.of(6, plausible), Tuple.of(3, hostile), Tuple.of(1, numeric));
    }

    /** A valid ClientHello builder: 0-3 names, optional ALPN, versions and padding, extension order varied. */
    @Provide
    Arbitrary<ClientHelloBuilder> hellos() {
        return Combinators.combine(
                names().list().ofMaxSize(3),
                Arbitraries.of("h2", "http/1.1", "acme-tls/1", "\u0000x").list().ofMaxSize(3),
                Arbitraries.integers().between(0, 600),
                Arbitraries.of(true, false),
                Arbitraries.of(true, false)).as((names, alpn, padding, typical, versions) -> {
                    ClientHelloBuilder b = clientHello();
                    if (typical) {
                        b.typicalExtensions();
                    }
                    if (versions) {
                        b.supportedVersions(0x0a0a, 0x0304, 0x0303);
                    }
                    b.serverNames(names);
                    if (!alpn.isEmpty()) {
                        b.alpn(alpn.toArray(String[]::new));
                    }
                    if (padding > 0) {
                        b.padding(padding);
                    }
                    return b;
                });
    }

    /** Bytes that pass the record and handshake headers, so that the body parser sees noise. */
    @Provide
    Arbitrary<byte[]> tlsLookingNoise() {
        return Arbitraries.bytes().array(byte[].class).ofMaxSize(400).map(body -> {
            byte[] hs = ClientHelloBuilder.handshake(body);
            return ClientHelloBuilder.record(0x16, 0x0301, hs);
        });
    }

    /** A valid ClientHello up to the extensions, then extensions with correct outer framing and noisy content. */
    @Provide
    Arbitrary<byte[]> noisyExtensions() {
        Arbitrary<byte[]> extension = Combinators.combine(
                Arbitraries.of(0x0000, 0x0010, 0x002b, 0x000a, 0xfafa),
                Arbitraries.bytes().array(byte[].class).ofMaxSize(40)).as(ClientHelloBuilder::extension);
        return extension.list().ofMaxSize(5).map(list -> {
            byte[] exts = concat(list.toArray(byte[][]::new));
            byte[] body = concat(clientHello().noExtensions().body(), ClientHelloBuilder.vector16(exts));
            return ClientHelloBuilder.record(0x16, 0x0301, ClientHelloBuilder.handshake(body));
        });
    }

    /** One edit to apply to a valid hello; positions are taken modulo the length. */
    record Mutation(int kind, int at, int value) {
        byte[] apply(byte[] in) {
            if (in.length == 0) {
                return in;
            }
            int i = Math.floorMod(at, in.length);
            return switch (kind) {
                case 0 -> { // flip bits in one byte
                    byte[] out = in.clone();
                    out[i] ^= (byte) (value == 0 ? 1 : value);
                    yield out;
                }
                case 1 -> Arrays.copyOf(in, i); // truncate
                case 2 -> concat(Arrays.copyOf(in, i), new byte[] {(byte) value}, Arrays.copyOfRange(in, i, in.length));
                case 3 -> concat(Arrays.copyOf(in, i), Arrays.copyOfRange(in, Math.min(in.length, i + 1 + (value & 7)), in.length));
                default -> { // set a byte to a boundary value
                    byte[] out = in.clone();
                    out[i] = (byte) new int[] {0x00, 0xFF, 0x7F, 0x80, 0x16, 0x03}[Math.floorMod(value, 6)];
                    yield out;
                }
            };
        }
    }

    @Provide
    Arbitrary<List<Mutation>> mutations() {
        return Combinators.combine(Arbitraries.integers().between(0, 4), Arbitraries.integers(), Arbitraries.integers().between(0, 255))
                .as(Mutation::new).list().ofMinSize(1).ofMaxSize(4);
    }

    /** Cuts {@code handshake} into records at the given points (taken modulo its length). */
    static byte[] cutIntoRecords(byte[] handshake, List<Integer> cuts) {
        TreeSet<Integer> points = new TreeSet<>();
        for (int c : cuts) {
            points.add(1 + Math.floorMod(c, handshake.length - 1));
        }
        points.add(handshake.length);
        List<Integer> sizes = new ArrayList<>();
        int previous = 0;
        for (int p : points) {
            sizes.add(p - previous);
            previous = p;
        }
        return ClientHelloBuilder.inRecords(handshake, sizes.stream().mapToInt(Integer::intValue).toArray(), 0x0301);
    }

    // ---- never throws, never loops, never invents a name ---------------------------------------------

    @Property(tries = 2000)
    void parse_arbitraryBytes_isSane(@ForAll @Size(max = 600) byte[] bytes) {
        assertSane(bytes, parse(bytes));
    }

    @Property(tries = 2000)
    void parse_noiseBehindValidHeaders_isSane(@ForAll("tlsLookingNoise") byte[] bytes) {
        assertSane(bytes, parse(bytes));
    }

    @Property(tries = 2000)
    void parse_noisyExtensions_isSane(@ForAll("noisyExtensions") byte[] bytes) {
        assertSane(bytes, parse(bytes));
    }

    @Property(tries = 2000)
    void parse_mutatedValidHello_isSane(@ForAll("hellos") ClientHelloBuilder hello, @ForAll @IntRange(min = 1, max = 4) int records,
                                        @ForAll("mutations") List<Mutation> edits) {
        byte[] bytes = hello.records(Math.min(records, hello.handshake().length)).build();
        for (Mutation m : edits) {
            bytes = m.apply(bytes);
        }
        assertSane(bytes, parse(bytes));
    }

    // ---- a final answer is final; NeedMore's hint is safe --------------------------------------------

    @Property(tries = 1000)
    void parse_finalAnswer_doesNotChangeWithMoreBytes(@ForAll("hellos") ClientHelloBuilder hello,
                                                      @ForAll("mutations") List<Mutation> edits,
                                                      @ForAll @Size(max = 50) byte[] more, @ForAll int cut) {
        byte[] bytes = hello.build();
        for (Mutation m : edits) {
            bytes = m.apply(bytes);
        }
        byte[] prefix = Arrays.copyOf(bytes, bytes.length == 0 ? 0 : Math.floorMod(cut, bytes.length + 1));
        Result early = parse(prefix);
        Result later = parse(concat(prefix, more));
        if (early instanceof NeedMore n) {
            if (prefix.length + more.length < n.atLeast()) {
                assertThat(later).isInstanceOf(NeedMore.class);
            }
        } else {
            assertThat(later).isEqualTo(early);
        }
    }

    // ---- records and segments do not matter ----------------------------------------------------------

    @Property(tries = 1000)
    void parse_validHello_isIndependentOfHowItIsCutIntoRecords(@ForAll("hellos") ClientHelloBuilder hello,
                                                              @ForAll @Size(max = 12) List<Integer> cuts) {
        byte[] handshake = hello.handshake();
        byte[] split = cutIntoRecords(handshake, cuts);
        Assume.that(split.length <= ClientHelloPeek.MAX_PEEK_BYTES);
        Result whole = parse(hello.records(1).build());
        assertThat(whole).isInstanceOfAny(Hello.class, NoSni.class);
        assertThat(parse(split)).isEqualTo(whole);
    }

    @Property(tries = 200)
    void parse_validHelloFedInSegments_isNeedMoreUntilCompleteThenTheSame(@ForAll("hellos") ClientHelloBuilder hello,
                                                                          @ForAll @Size(max = 6) List<Integer> cuts) {
        byte[] split = cutIntoRecords(hello.handshake(), cuts);
        Result whole = parse(split);
        for (int n = 0; n < split.length; n++) {
            Result r = parse(Arrays.copyOf(split, n));
            assertThat(r).as("prefix of %d of %d bytes", n, split.length).isInstanceOf(NeedMore.class);
            assertThat(((NeedMore) r).atLeast()).isLessThanOrEqualTo(split.length);
        }
        assertThat(whole).isInstanceOfAny(Hello.class, NoSni.class);
    }

    @Property(tries = 1000)
    void parse_validHello_returnsExactlyTheNamesItWasBuiltWith(@ForAll("names") String a, @ForAll("names") String b) {
        Result r = parse(clientHello().serverName(a).serverName(b).build());
        assertThat(r).isInstanceOf(Hello.class);
        Hello h = (Hello) r;
        List<String> all = new ArrayList<>(h.serverNames());
        h.rejectedNames().forEach(x -> all.add(x.raw()));
        assertThat(all).containsExactlyInAnyOrder(a, b);
        // A name is in exactly one of the lists, the one its own check puts it in.
        assertThat(h.serverNames()).allMatch(n -> ClientHelloPeek.check(n) == null);
        assertThat(h.rejectedNames()).allMatch(x -> ClientHelloPeek.check(x.raw()) != null);
    }
}
