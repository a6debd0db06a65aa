package dev.airlock.gateway.dns;

import static dev.airlock.gateway.dns.DnsFixtures.query;
import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.dns.DnsFixtures.RecordingSink;
import dev.airlock.gateway.dns.DnsFixtures.RecordingUpstream;
import dev.airlock.gateway.registry.SandboxRegistry;
import dev.airlock.gateway.resolve.CachingResolver;
import dev.airlock.gateway.resolve.HostsFile;
import dev.airlock.policy.Reason;
import dev.airlock.policy.address.IpAddress;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/**
 * Real UDP and TCP queries on loopback with dnsjava's {@link SimpleResolver}. Linux routes all of
 * 127/8 to lo, so each "sandbox" is a client bound to its own 127.x address, which is its link
 * address in the registry. The upstream is a hosts map or a fake: never the system DNS.
 */
@Timeout(60)
class DnsResponderTest {

    private static final InetSocketAddress ANY_PORT = new InetSocketAddress(loopback("127.0.0.1"), 0);

    private final SandboxRegistry registry = new SandboxRegistry();
    private final RecordingSink sink = new RecordingSink();
    private DnsResponder responder;

    private static InetAddress loopback(String a) {
        try {
            return InetAddress.getByName(a); // a literal: no lookup
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @AfterEach
    void tearDown() {
        if (responder != null) {
            responder.close();
        }
    }

    private DnsResponder start(DnsResponder.Settings settings, dev.airlock.gateway.resolve.Resolver upstream)
            throws IOException {
        registry.register("sb-1", "payments", List.of(DnsFixtures.ip("127.0.0.1")), DnsFixtures.engine(DnsFixtures.PROJECT));
        registry.register("sb-2", "docs", List.of(DnsFixtures.ip("127.0.0.2")), DnsFixtures.engine(DnsFixtures.OTHER_PROJECT));
        responder = new DnsResponder(settings, registry, new DnsAnswerer(CachingResolver.of(upstream)), sink);
        responder.start();
        return responder;
    }

    private DnsResponder startWithHostsFile(boolean nativeTransport) throws Exception {
        HostsFile hosts = HostsFile.parse("hosts", """
                140.82.112.3   github.com
                198.18.0.10    api.example.dev
                198.18.0.30    docs.example.dev
                """);
        return start(DnsResponder.Settings.defaults(ANY_PORT).withNativeTransport(nativeTransport), hosts);
    }

    private SimpleResolver client(String from, boolean tcp) {
        SimpleResolver r = new SimpleResolver(new InetSocketAddress(loopback("127.0.0.1"), responder.udpPort()));
        r.setLocalAddress(loopback(from));
        r.setTCP(tcp);
        r.setTimeout(Duration.ofSeconds(10));
        return r;
    }

    private static IpAddress onlyA(Message m) {
        List<org.xbill.DNS.Record> answers = m.getSection(Section.ANSWER);
        assertThat(answers).hasSize(1);
        return IpAddress.fromBytes(((ARecord) answers.get(0)).getAddress().getAddress());
    }

    // ---------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "tcp={0}")
    @ValueSource(booleans = {false, true})
    void query_allowedName_getsASyntheticAddress_andIsRecorded(boolean tcp) throws Exception {
        startWithHostsFile(true);

        Message m = client("127.0.0.1", tcp).send(query("github.com", Type.A));

        assertThat(m.getRcode()).isEqualTo(Rcode.NOERROR);
        IpAddress a = onlyA(m);
        assertThat(registry.syntheticRange().contains(a)).isTrue();
        assertThat(registry.byId("sb-1").orElseThrow().names().nameFor(a)).contains("github.com");
        AuditEvent e = sink.snapshot().get(0);
        assertThat(e.sandbox()).isEqualTo("sb-1");
        assertThat(e.client()).isEqualTo("127.0.0.1");
        assertThat(e.via()).isEqualTo(AuditEvent.Via.DNS);
        assertThat(e.decision()).isEqualTo(AuditEvent.Decision.ALLOW);
        assertThat(e.addresses()).containsExactly(a.toString());
    }

    @ParameterizedTest(name = "tcp={0}")
    @ValueSource(booleans = {false, true})
    void query_onNioTransport_works(boolean tcp) throws Exception {
        startWithHostsFile(false);

        assertThat(client("127.0.0.1", tcp).send(query("github.com", Type.A)).getRcode()).isEqualTo(Rcode.NOERROR);
    }

    @Test
    void udpAndTcp_shareOnePort() throws Exception {
        startWithHostsFile(true);

        assertThat(responder.tcpPort()).isEqualTo(responder.udpPort());
        assertThat(responder.udpAddress().getAddress()).isEqualTo(loopback("127.0.0.1"));
    }

    @ParameterizedTest(name = "tcp={0}")
    @ValueSource(booleans = {false, true})
    void query_deniedAndRefusedTypes_overTheWire(boolean tcp) throws Exception {
        startWithHostsFile(true);
        SimpleResolver c = client("127.0.0.1", tcp);

        assertThat(c.send(query("x7f3a9.github.com", Type.A)).getRcode()).isEqualTo(Rcode.NXDOMAIN);
        assertThat(c.send(query("api.acme.com", Type.A)).getRcode()).isEqualTo(Rcode.NXDOMAIN);
        assertThat(c.send(query("github.com", Type.TXT)).getRcode()).isEqualTo(Rcode.REFUSED);
        assertThat(c.send(query("github.com", Type.AAAA)).getSection(Section.ANSWER)).isEmpty();
        assertThat(sink.snapshot()).extracting(AuditEvent::reason)
                .containsExactly(Reason.NO_RULE, Reason.PRODUCTION, Reason.BAD_REQUEST, Reason.ALLOWED);
    }

    @ParameterizedTest(name = "tcp={0}")
    @ValueSource(booleans = {false, true})
    void query_fromADnsClientRange_isAnsweredAsThatSandbox_whileSourcesOutsideItStayRefused(boolean tcp) throws Exception {
        startWithHostsFile(true);
        // control: without a range, a pod-like source (no registered link address) is refused
        assertThat(client("127.0.5.9", tcp).send(query("github.com", Type.A)).getRcode()).isEqualTo(Rcode.REFUSED);

        registry.addDnsClients("sb-1", dev.airlock.policy.address.Cidr.of("127.0.5.0/24"));

        Message m = client("127.0.5.9", tcp).send(query("github.com", Type.A));
        assertThat(m.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(registry.byId("sb-1").orElseThrow().names().nameFor(onlyA(m))).contains("github.com");
        assertThat(sink.snapshot().get(1).sandbox()).isEqualTo("sb-1");
        // the range's sandbox's policy decides: payments allows *.example.dev, and denies what it does not allow
        assertThat(client("127.0.5.9", tcp).send(query("api.example.dev", Type.A)).getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(client("127.0.5.9", tcp).send(query("x7f3a9.github.com", Type.A)).getRcode()).isEqualTo(Rcode.NXDOMAIN);
        // outside the range: still refused
        assertThat(client("127.0.6.9", tcp).send(query("github.com", Type.A)).getRcode()).isEqualTo(Rcode.REFUSED);
        // a registered link address keeps its own sandbox inside a range: docs (127.0.0.2) may not resolve what payments may
        registry.addDnsClients("sb-1", dev.airlock.policy.address.Cidr.of("127.0.0.0/30"));
        assertThat(client("127.0.0.2", tcp).send(query("api.example.dev", Type.A)).getRcode()).isEqualTo(Rcode.NXDOMAIN);
    }

    @ParameterizedTest(name = "tcp={0}")
    @ValueSource(booleans = {false, true})
    void query_fromAnUnknownSource_isRefusedAndRecorded(boolean tcp) throws Exception {
        startWithHostsFile(true);

        Message m = client("127.0.0.3", tcp).send(query("github.com", Type.A));

        assertThat(m.getRcode()).isEqualTo(Rcode.REFUSED);
        assertThat(m.getSection(Section.ANSWER)).isEmpty();
        AuditEvent e = sink.snapshot().get(0);
        assertThat(e.sandbox()).isEqualTo("-");
        assertThat(e.client()).isEqualTo("127.0.0.3");
        assertThat(e.decision()).isEqualTo(AuditEvent.Decision.DENY);
    }

    @Test
    void query_identityIsTheSourceAddress_eachSandboxItsOwnPolicyAndView() throws Exception {
        startWithHostsFile(true);

        Message one = client("127.0.0.1", false).send(query("api.example.dev", Type.A));
        Message two = client("127.0.0.2", false).send(query("api.example.dev", Type.A));
        Message twoDocs = client("127.0.0.2", false).send(query("docs.example.dev", Type.A));

        assertThat(one.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(two.getRcode()).as("sb-2's policy does not allow it").isEqualTo(Rcode.NXDOMAIN);
        assertThat(twoDocs.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(registry.byId("sb-2").orElseThrow().names().nameFor(onlyA(twoDocs))).contains("docs.example.dev");
        assertThat(sink.snapshot()).extracting(AuditEvent::sandbox).containsExactly("sb-1", "sb-2", "sb-2");
    }

    @ParameterizedTest(name = "tcp={0}")
    @ValueSource(booleans = {false, true})
    void query_whenTheAuditSinkRefuses_isServfail_failClosed(boolean tcp) throws Exception {
        startWithHostsFile(true);
        sink.refuse = true;

        Message m = client("127.0.0.1", tcp).send(query("github.com", Type.A));

        assertThat(m.getRcode()).isEqualTo(Rcode.SERVFAIL);
        assertThat(m.getSection(Section.ANSWER)).isEmpty();
    }

    @Test
    void query_beyondTheConcurrencyBound_isServfailWithReasonLimit() throws Exception {
        RecordingUpstream upstream = new RecordingUpstream();
        upstream.hold(); // every lookup blocks until opened
        start(DnsResponder.Settings.defaults(ANY_PORT).withMaxInFlight(1, 1), upstream);

        CompletableFuture<Message> held = client("127.0.0.1", false).sendAsync(query("github.com", Type.A))
                .toCompletableFuture();
        while (responder.inFlight() < 1) {
            Thread.onSpinWait(); // the first query holds the only permit
        }
        Message second = client("127.0.0.1", false).send(query("api.example.dev", Type.A));
        upstream.open();

        assertThat(second.getRcode()).isEqualTo(Rcode.SERVFAIL);
        assertThat(held.get(30, TimeUnit.SECONDS).getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(upstream.calls).containsExactly("github.com");
        assertThat(sink.snapshot()).extracting(AuditEvent::reason).contains(Reason.LIMIT, Reason.ALLOWED);
    }

    @Test
    void query_beyondOneSourcesShare_isServfailLimit_whileOtherSandboxesAreServed() throws Exception {
        RecordingUpstream upstream = new RecordingUpstream();
        upstream.hold("github.com");
        start(DnsResponder.Settings.defaults(ANY_PORT).withMaxInFlight(8, 1), upstream);

        CompletableFuture<Message> held = client("127.0.0.1", false).sendAsync(query("github.com", Type.A))
                .toCompletableFuture();
        while (responder.inFlight() < 1) {
            Thread.onSpinWait();
        }
        Message sameSource = client("127.0.0.1", false).send(query("api.example.dev", Type.A));
        Message otherSandbox = client("127.0.0.2", false).send(query("docs.example.dev", Type.A));
        upstream.open();

        assertThat(sameSource.getRcode()).isEqualTo(Rcode.SERVFAIL);
        assertThat(otherSandbox.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(held.get(30, TimeUnit.SECONDS).getRcode()).isEqualTo(Rcode.NOERROR);
    }

    @Test
    void udp_garbage_isSurvived_andTheNextQueryIsAnswered() throws Exception {
        startWithHostsFile(true);
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(loopback("127.0.0.1"), 0))) {
            s.setSoTimeout(10_000);
            InetSocketAddress to = responder.udpAddress();
            s.send(new DatagramPacket(new byte[] {1, 2, 3}, 3, to)); // shorter than a header: dropped
            byte[] junk = new byte[40];
            junk[0] = 0x11;
            junk[1] = 0x22;
            junk[5] = 1; // one question, then nonsense
            for (int i = 12; i < junk.length; i++) {
                junk[i] = (byte) 0xC0; // compression pointers pointing nowhere
            }
            s.send(new DatagramPacket(junk, junk.length, to));

            DatagramPacket in = new DatagramPacket(new byte[512], 512);
            s.receive(in);
            Message formerr = new Message(java.util.Arrays.copyOf(in.getData(), in.getLength()));
            assertThat(formerr.getHeader().getID()).isEqualTo(0x1122);
            assertThat(formerr.getRcode()).isEqualTo(Rcode.FORMERR);
        }
        assertThat(client("127.0.0.1", false).send(query("github.com", Type.A)).getRcode()).isEqualTo(Rcode.NOERROR);
    }

    @Test
    void tcp_pipelinedQueries_areAllAnswered() throws Exception {
        startWithHostsFile(true);
        Message q1 = query("github.com", Type.A);
        Message q2 = query("example.org", Type.A);
        q1.getHeader().setID(1);
        q2.getHeader().setID(2);

        try (Socket s = tcp("127.0.0.1")) {
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            byte[] b1 = q1.toWire();
            byte[] b2 = q2.toWire();
            out.writeShort(b1.length);
            out.write(b1);
            out.writeShort(b2.length);
            out.write(b2);
            out.flush();
            DataInputStream in = new DataInputStream(s.getInputStream());
            Message r1 = readFrame(in);
            Message r2 = readFrame(in);
            // RFC 7766 allows answers out of order; match them by ID.
            Message forGithub = r1.getHeader().getID() == 1 ? r1 : r2;
            Message forExample = r1.getHeader().getID() == 1 ? r2 : r1;
            assertThat(forGithub.getRcode()).isEqualTo(Rcode.NOERROR);
            assertThat(forExample.getRcode()).isEqualTo(Rcode.NXDOMAIN);
        }
    }

    @Test
    void tcp_unreadableFrame_closesTheConnection() throws Exception {
        startWithHostsFile(true);

        try (Socket s = tcp("127.0.0.1")) {
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            out.writeShort(3);
            out.write(new byte[] {1, 2, 3});
            out.flush();
            assertThat(s.getInputStream().read()).as("closed without an answer").isEqualTo(-1);
        }
    }

    @Test
    void tcp_idleConnection_isClosed() throws Exception {
        start(DnsResponder.Settings.defaults(ANY_PORT).withTcpIdleTimeout(Duration.ofMillis(200)), new RecordingUpstream());

        try (Socket s = tcp("127.0.0.1")) {
            assertThat(s.getInputStream().read()).isEqualTo(-1);
        }
    }

    @Test
    void tcp_beyondTheConnectionCap_newConnectionsAreClosed() throws Exception {
        start(DnsResponder.Settings.defaults(ANY_PORT).withMaxTcpConnections(1, 1), new RecordingUpstream());

        try (Socket first = tcp("127.0.0.1"); Socket second = tcp("127.0.0.1")) {
            assertThat(second.getInputStream().read()).isEqualTo(-1);
            // The first still works.
            DataOutputStream out = new DataOutputStream(first.getOutputStream());
            byte[] q = query("github.com", Type.A).toWire();
            out.writeShort(q.length);
            out.write(q);
            out.flush();
            assertThat(readFrame(new DataInputStream(first.getInputStream())).getRcode()).isEqualTo(Rcode.NOERROR);
        }
    }

    @Test
    void tcp_beyondOneSourcesShare_thatSourcesNewConnectionsAreClosed_othersAreNot() throws Exception {
        start(DnsResponder.Settings.defaults(ANY_PORT).withMaxTcpConnections(8, 1), new RecordingUpstream());

        try (Socket first = tcp("127.0.0.1"); Socket second = tcp("127.0.0.1"); Socket other = tcp("127.0.0.2")) {
            assertThat(first.isConnected()).isTrue();
            assertThat(second.getInputStream().read()).isEqualTo(-1);
            DataOutputStream out = new DataOutputStream(other.getOutputStream());
            byte[] q = query("docs.example.dev", Type.A).toWire();
            out.writeShort(q.length);
            out.write(q);
            out.flush();
            assertThat(readFrame(new DataInputStream(other.getInputStream())).getRcode()).isEqualTo(Rcode.NOERROR);
        }
    }

    @Test
    void close_isIdempotent_andFreesThePort() throws Exception {
        startWithHostsFile(true);
        InetSocketAddress bound = responder.udpAddress();

        responder.close();
        responder.close();

        try (DatagramSocket again = new DatagramSocket(bound)) {
            assertThat(again.getLocalPort()).isEqualTo(bound.getPort());
        }
    }

    private Socket tcp(String from) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(loopback(from), 0));
        s.connect(responder.tcpAddress(), 10_000);
        s.setSoTimeout(20_000);
        return s;
    }

    private static Message readFrame(DataInputStream in) throws IOException {
        int len = in.readUnsignedShort();
        byte[] b = new byte[len];
        in.readFully(b);
        if (len == 0) {
            throw new EOFException("empty frame");
        }
        return new Message(b);
    }
}
