package dev.airlock.gateway.dns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.gateway.dns.DnsFixtures.RecordingUpstream;
import dev.airlock.gateway.registry.Sandbox;
import dev.airlock.gateway.registry.SandboxRegistry;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/** What must hold for every input, not only the rows of {@link DnsAnswererTest}. */
class DnsAnswererPropertiesTest {

    private final RecordingUpstream upstream = new RecordingUpstream();
    private final Sandbox sandbox = new SandboxRegistry().register("sb-p", "payments",
            List.of(DnsFixtures.ip("127.0.0.1")), DnsFixtures.engine(DnsFixtures.PROJECT));
    private final DnsAnswerer answerer = new DnsAnswerer(upstream);

    @Property(tries = 2000)
    void answer_arbitraryBytes_neverThrow_neverAnswer(@ForAll @Size(max = 700) byte[] wire) {
        DnsAnswerer.Reply r = answerer.answer(sandbox, "127.0.0.1", wire);

        assertThat(r.event()).isNotNull();
        r.response().ifPresent(m -> {
            assertThat(m.getSection(Section.ANSWER)).isEmpty();
            assertThat(m.toWire()).isNotEmpty();
        });
    }

    /** A plausible header (one question, QUERY, QR clear) followed by arbitrary bytes. */
    @Property(tries = 2000)
    void answer_validHeaderThenArbitraryBytes_neverThrow_neverAnswer(@ForAll("queryHeaderThenNoise") byte[] wire) {
        DnsAnswerer.Reply r = answerer.answer(sandbox, "127.0.0.1", wire);

        r.response().ifPresent(m -> assertThat(m.getSection(Section.ANSWER)).isEmpty());
    }

    @Provide
    Arbitrary<byte[]> queryHeaderThenNoise() {
        Arbitrary<byte[]> noise = Arbitraries.bytes().array(byte[].class).ofMaxSize(300);
        Arbitrary<Integer> id = Arbitraries.integers().between(0, 0xFFFF);
        Arbitrary<Integer> counts = Arbitraries.integers().between(0, 3);
        return Combinators.combine(id, counts, counts, noise).as((i, an, ar, tail) -> {
            byte[] out = new byte[12 + tail.length];
            out[0] = (byte) (i >> 8);
            out[1] = (byte) (int) i;
            out[2] = 0x01; // RD
            out[5] = 1; // one question
            out[7] = (byte) (int) an;
            out[11] = (byte) (int) ar;
            System.arraycopy(tail, 0, out, 12, tail.length);
            return out;
        });
    }

    /** The exfiltration class: any labels under an exact allowed parent stay on the machine. */
    @Property(tries = 1000)
    void answer_anyLabelsUnderAnExactlyAllowedParent_areNxdomain_andNeverResolved(@ForAll("labels") String labels,
            @ForAll("addressTypes") int type) {
        Message q = DnsFixtures.query(labels + ".github.com", type);

        DnsAnswerer.Reply r = answerer.answer(sandbox, "127.0.0.1", q.toWire());

        assertThat(r.rcode()).isEqualTo(Rcode.NXDOMAIN);
        assertThat(upstream.calls).isEmpty();
    }

    @Provide
    Arbitrary<String> labels() {
        Arbitrary<String> label = Arbitraries.strings().withChars("abcdefghijklmnopqrstuvwxyz0123456789").ofMinLength(1)
                .ofMaxLength(63);
        // At most three labels of 63 keep the name under DNS's 255 octets with the parent.
        return label.list().ofMinSize(1).ofMaxSize(3).map(l -> String.join(".", l))
                .filter(s -> !s.equals("ssh"));
    }

    @Provide
    Arbitrary<Integer> addressTypes() {
        return Arbitraries.of(Type.A, Type.AAAA);
    }
}
