package dev.airlock.gateway.dns;

import static dev.airlock.gateway.dns.DnsFixtures.query;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Named.named;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.dns.DnsFixtures.RecordingUpstream;
import dev.airlock.gateway.registry.Sandbox;
import dev.airlock.gateway.registry.SandboxRegistry;
import dev.airlock.policy.Reason;
import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.address.IpAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

class DnsAnswererTest {

    private static final String CLIENT = "127.0.0.1";
    /** Three 63-octet labels of "random" data: the shape of a DNS tunnel's query (204 octets with the parent). */
    private static final String TUNNEL_LABELS = "x7f3a9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8".substring(0, 63)
            + "." + "0123456789abcdef".repeat(3) + "0123456789abcde" + "." + "zz9".repeat(21);

    private RecordingUpstream upstream;
    private SandboxRegistry registry;
    private Sandbox sandbox;
    private Sandbox other;
    private DnsAnswerer answerer;

    @BeforeEach
    void setUp() {
        upstream = new RecordingUpstream();
        registry = new SandboxRegistry();
        sandbox = registry.register("sb-1", "payments", List.of(DnsFixtures.ip("127.0.0.1")),
                DnsFixtures.engine(DnsFixtures.PROJECT));
        other = registry.register("sb-2", "payments", List.of(DnsFixtures.ip("127.0.0.2")),
                DnsFixtures.engine(DnsFixtures.PROJECT));
        answerer = new DnsAnswerer(upstream);
    }

    private DnsAnswerer.Reply ask(Sandbox s, String name, int type) {
        // Through the wire form, so the parser is part of every row.
        return answerer.answer(s, CLIENT, query(name, type).toWire());
    }

    private static Message response(DnsAnswerer.Reply r) {
        assertThat(r.response()).as("a response is sent").isPresent();
        return r.response().get();
    }

    private static List<IpAddress> aRecords(DnsAnswerer.Reply r) {
        List<IpAddress> out = new ArrayList<>();
        for (Record rec : response(r).getSection(Section.ANSWER)) {
            out.add(IpAddress.fromBytes(((ARecord) rec).getAddress().getAddress()));
        }
        return out;
    }

    // ---------------------------------------------------------------------------------------------
    // The table: one query each, what the sandbox gets, what is recorded, whether it left the machine

    record Row(String qname, int qtype, int rcode, int answers, String decision, Reason reason, boolean upstream,
            String auditName) {
    }

    private static Arguments row(String reviewerWords, String qname, int qtype, int rcode, int answers, String decision,
            Reason reason, boolean upstream, String auditName) {
        return Arguments.of(named(reviewerWords, new Row(qname, qtype, rcode, answers, decision, reason, upstream, auditName)));
    }

    static Stream<Arguments> table() {
        int a = Type.A;
        int aaaa = Type.AAAA;
        int ok = Rcode.NOERROR;
        int nx = Rcode.NXDOMAIN;
        int refused = Rcode.REFUSED;
        int servfail = Rcode.SERVFAIL;
        String tunnel = TUNNEL_LABELS + ".github.com";
        return Stream.of(
                // allowed
                row("allowed exact name, A: one synthetic address", "github.com", a, ok, 1, "allow", Reason.ALLOWED, true, "github.com"),
                row("allowed name in capitals with a trailing dot is canonicalised", "GitHub.COM.", a, ok, 1, "allow", Reason.ALLOWED, true, "github.com"),
                row("allowed by wildcard", "raw.githubusercontent.com", a, ok, 1, "allow", Reason.ALLOWED, true, "raw.githubusercontent.com"),
                row("allowed only on port 22 is still answered: the connection decides the port", "ssh.github.com", a, ok, 1, "allow", Reason.ALLOWED, true, "ssh.github.com"),
                row("allowed name with only IPv6 upstream still gets a synthetic IPv4 address", "v6only.example.dev", a, ok, 1, "allow", Reason.ALLOWED, true, "v6only.example.dev"),
                row("allowed name, AAAA: NODATA, the view is IPv4-only", "github.com", aaaa, ok, 0, "allow", Reason.ALLOWED, true, "github.com"),
                // refused types: nothing resolved, whatever the name
                row("TXT for an allowed name is refused (tunnel carrier)", "github.com", Type.TXT, refused, 0, "deny", Reason.BAD_REQUEST, false, "github.com"),
                row("ANY is refused", "github.com", Type.ANY, refused, 0, "deny", Reason.BAD_REQUEST, false, "github.com"),
                row("AXFR is refused", "github.com", Type.AXFR, refused, 0, "deny", Reason.BAD_REQUEST, false, "github.com"),
                row("IXFR is refused", "github.com", Type.IXFR, refused, 0, "deny", Reason.BAD_REQUEST, false, "github.com"),
                row("MX is refused", "github.com", Type.MX, refused, 0, "deny", Reason.BAD_REQUEST, false, "github.com"),
                row("SRV is refused", "_https._tcp.github.com", Type.SRV, refused, 0, "deny", Reason.BAD_REQUEST, false, "_https._tcp.github.com"),
                row("PTR of a synthetic address is refused", "1.0.80.100.in-addr.arpa", Type.PTR, refused, 0, "deny", Reason.BAD_REQUEST, false, "1.0.80.100.in-addr.arpa"),
                row("NULL is refused (tunnel carrier)", "github.com", Type.NULL, refused, 0, "deny", Reason.BAD_REQUEST, false, "github.com"),
                row("CNAME is refused", "github.com", Type.CNAME, refused, 0, "deny", Reason.BAD_REQUEST, false, "github.com"),
                row("NS is refused", "github.com", Type.NS, refused, 0, "deny", Reason.BAD_REQUEST, false, "github.com"),
                row("SOA is refused", "github.com", Type.SOA, refused, 0, "deny", Reason.BAD_REQUEST, false, "github.com"),
                row("HTTPS is refused", "github.com", Type.HTTPS, refused, 0, "deny", Reason.BAD_REQUEST, false, "github.com"),
                row("CAA is refused", "github.com", Type.CAA, refused, 0, "deny", Reason.BAD_REQUEST, false, "github.com"),
                row("TXT for a denied name is refused, still unresolved", tunnel, Type.TXT, refused, 0, "deny", Reason.BAD_REQUEST, false, tunnel),
                // not allowed: NXDOMAIN, and the name never leaves the machine
                row("random label under an allowed exact parent: exfiltration stays home", "x7f3a9.github.com", a, nx, 0, "deny", Reason.NO_RULE, false, "x7f3a9.github.com"),
                row("three 63-octet random labels under an allowed parent", tunnel, a, nx, 0, "deny", Reason.NO_RULE, false, tunnel),
                row("the same tunnel name as AAAA", tunnel, aaaa, nx, 0, "deny", Reason.NO_RULE, false, tunnel),
                row("a name no rule allows", "example.org", a, nx, 0, "deny", Reason.NO_RULE, false, "example.org"),
                row("the apex of a wildcard rule is not covered", "githubusercontent.com", a, nx, 0, "deny", Reason.NO_RULE, false, "githubusercontent.com"),
                row("a deny rule inside a wildcard allow", "gist.githubusercontent.com", a, nx, 0, "deny", Reason.DENY_RULE, false, "gist.githubusercontent.com"),
                row("production wins over the project's exact allow", "api.acme.com", a, nx, 0, "deny", Reason.PRODUCTION, false, "api.acme.com"),
                row("production wildcard wins over the project's wildcard allow", "db.prod.acme.internal", a, nx, 0, "deny", Reason.PRODUCTION, false, "db.prod.acme.internal"),
                row("production, AAAA", "api.acme.com", aaaa, nx, 0, "deny", Reason.PRODUCTION, false, "api.acme.com"),
                row("an IPv4 literal as a name", "140.82.112.3", a, nx, 0, "deny", Reason.IP_LITERAL, false, "140.82.112.3"),
                row("an underscore label is not a host name", "bad_name.github.com", a, nx, 0, "deny", Reason.BAD_REQUEST, false, "bad_name.github.com"),
                row("the root name", ".", a, nx, 0, "deny", Reason.BAD_REQUEST, false, "."),
                // allowed, but the real resolution fails
                row("upstream NXDOMAIN is NXDOMAIN", "nx.example.dev", a, nx, 0, "deny", Reason.DNS_FAILURE, true, "nx.example.dev"),
                row("upstream NXDOMAIN, AAAA, is NXDOMAIN too", "nx.example.dev", aaaa, nx, 0, "deny", Reason.DNS_FAILURE, true, "nx.example.dev"),
                row("upstream: the name exists with no address: NODATA", "empty.example.dev", a, ok, 0, "deny", Reason.DNS_FAILURE, true, "empty.example.dev"),
                row("upstream SERVFAIL is SERVFAIL", "broken.example.dev", a, servfail, 0, "deny", Reason.DNS_FAILURE, true, "broken.example.dev"),
                row("upstream TIMEOUT is SERVFAIL", "slow.example.dev", a, servfail, 0, "deny", Reason.DNS_FAILURE, true, "slow.example.dev"),
                row("upstream answer too large is SERVFAIL", "huge.example.dev", a, servfail, 0, "deny", Reason.DNS_FAILURE, true, "huge.example.dev"),
                row("upstream error is SERVFAIL", "odd.example.dev", a, servfail, 0, "deny", Reason.DNS_FAILURE, true, "odd.example.dev"),
                row("a CNAME chain that ends in production gets no address", "alias.example.dev", a, nx, 0, "deny", Reason.PRODUCTION, true, "alias.example.dev"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void answer_table(Row row) {
        DnsAnswerer.Reply r = ask(sandbox, row.qname, row.qtype);

        Message m = response(r);
        assertThat(Rcode.string(m.getRcode())).as("rcode").isEqualTo(Rcode.string(row.rcode));
        assertThat(m.getSection(Section.ANSWER)).as("answers").hasSize(row.answers);
        AuditEvent e = r.event();
        assertThat(e.decision().code).as("decision").isEqualTo(row.decision);
        assertThat(e.reason()).as("reason").isEqualTo(row.reason);
        assertThat(e.name()).as("audit name").isEqualTo(row.auditName);
        assertThat(e.via()).isEqualTo(AuditEvent.Via.DNS);
        assertThat(e.sandbox()).isEqualTo("sb-1");
        assertThat(e.project()).isEqualTo("payments");
        assertThat(e.client()).isEqualTo(CLIENT);
        if (row.upstream) {
            assertThat(upstream.calls).as("resolved upstream").isNotEmpty();
        } else {
            assertThat(upstream.calls).as("never left the machine").isEmpty();
        }
        // Invariants of every response.
        assertThat(m.getHeader().getFlag(Flags.QR)).isTrue();
        assertThat(m.getHeader().getFlag(Flags.RA)).isTrue();
        assertThat(m.getHeader().getFlag(Flags.AA)).as("never authoritative").isFalse();
        assertThat(m.getSection(Section.AUTHORITY)).isEmpty();
    }

    // ---------------------------------------------------------------------------------------------
    // Synthetic addresses

    @Test
    void answer_allowedA_isSyntheticAddressInTheSandboxRange_neverTheRealOne() {
        List<IpAddress> got = aRecords(ask(sandbox, "github.com", Type.A));

        assertThat(got).hasSize(1);
        assertThat(registry.syntheticRange().contains(got.get(0))).isTrue();
        assertThat(SandboxRegistry.DEFAULT_SYNTHETIC_RANGE).isEqualTo(Cidr.of("100.80.0.0/16"));
        assertThat(got.get(0)).isNotEqualTo(DnsFixtures.ip("140.82.112.3"));
        assertThat(sandbox.names().nameFor(got.get(0))).contains("github.com");
    }

    @Test
    void answer_sameNameTwice_isStable_differentNames_areDistinct_evenOnOneCdnAddress() {
        IpAddress first = aRecords(ask(sandbox, "cdn-a.example.dev", Type.A)).get(0);
        IpAddress again = aRecords(ask(sandbox, "CDN-A.example.dev.", Type.A)).get(0);
        IpAddress otherName = aRecords(ask(sandbox, "cdn-b.example.dev", Type.A)).get(0);

        assertThat(again).isEqualTo(first);
        assertThat(otherName).as("same real address upstream, distinct synthetic ones").isNotEqualTo(first);
        assertThat(sandbox.names().nameFor(otherName)).contains("cdn-b.example.dev");
    }

    @Test
    void answer_syntheticTtl_isTheConfiguredOne() {
        Record rec = response(ask(sandbox, "github.com", Type.A)).getSection(Section.ANSWER).get(0);

        assertThat(rec.getTTL()).isEqualTo(DnsAnswerer.DEFAULT_ANSWER_TTL.getSeconds());
        assertThat(rec.getDClass()).isEqualTo(DClass.IN);
    }

    @Test
    void answer_twoSandboxes_haveIndependentViews() {
        IpAddress aInOne = aRecords(ask(sandbox, "api.example.dev", Type.A)).get(0);
        IpAddress bInTwo = aRecords(ask(other, "docs.example.dev", Type.A)).get(0);

        // Each sandbox numbers its own table: one address, a different name in each sandbox.
        assertThat(bInTwo).isEqualTo(aInOne);
        assertThat(sandbox.names().nameFor(aInOne)).contains("api.example.dev");
        assertThat(other.names().nameFor(bInTwo)).contains("docs.example.dev");
        assertThat(other.names().nameFor(aInOne)).isNotEqualTo(java.util.Optional.of("api.example.dev"));
        assertThat(other.names().size()).isEqualTo(1);
        assertThat(sandbox.names().size()).isEqualTo(1);
    }

    @Test
    void answer_twoSandboxesUnderDifferentPolicies_eachGetsItsOwnAnswer() {
        Sandbox docs = registry.register("sb-3", "docs", List.of(DnsFixtures.ip("127.0.0.3")),
                DnsFixtures.engine(DnsFixtures.OTHER_PROJECT));

        assertThat(ask(docs, "api.example.dev", Type.A).rcode()).isEqualTo(Rcode.NXDOMAIN);
        assertThat(ask(sandbox, "api.example.dev", Type.A).rcode()).isEqualTo(Rcode.NOERROR);
        assertThat(upstream.calls).containsExactly("api.example.dev");
    }

    @Test
    void answer_fullSyntheticTable_isServfailWithReasonLimit() {
        SandboxRegistry small = new SandboxRegistry(SandboxRegistry.DEFAULT_SYNTHETIC_RANGE, 1);
        Sandbox s = small.register("tiny", "payments", List.of(DnsFixtures.ip("127.0.0.9")),
                DnsFixtures.engine(DnsFixtures.PROJECT));
        assertThat(ask(s, "github.com", Type.A).rcode()).isEqualTo(Rcode.NOERROR);

        DnsAnswerer.Reply r = ask(s, "api.example.dev", Type.A);

        assertThat(r.rcode()).isEqualTo(Rcode.SERVFAIL);
        assertThat(r.event().reason()).isEqualTo(Reason.LIMIT);
        assertThat(r.event().rule()).isEqualTo("limit: sandbox tiny has resolved 1 names, as many as it may; api.example.dev gets no address");
        assertThat(ask(s, "github.com", Type.A).rcode()).as("names it already has still work").isEqualTo(Rcode.NOERROR);
    }

    @Test
    void answer_policyReload_appliesToTheNextQuery() {
        assertThat(ask(sandbox, "api.example.dev", Type.A).rcode()).isEqualTo(Rcode.NOERROR);

        registry.updatePolicy("payments", DnsFixtures.engine(DnsFixtures.OTHER_PROJECT));

        assertThat(ask(sandbox, "api.example.dev", Type.A).rcode()).isEqualTo(Rcode.NXDOMAIN);
    }

    // ---------------------------------------------------------------------------------------------
    // Header and question handling

    @Test
    void answer_copiesIdOpcodeRdAndTheQuestionAsAsked_setsRa_neverAa() {
        Message q = query("GiThUb.CoM", Type.A);
        q.getHeader().setID(0xBEEF);

        Message m = response(answerer.answer(sandbox, CLIENT, q.toWire()));

        assertThat(m.getHeader().getID()).isEqualTo(0xBEEF);
        assertThat(m.getHeader().getOpcode()).isEqualTo(Opcode.QUERY);
        assertThat(m.getHeader().getFlag(Flags.RD)).isTrue();
        assertThat(m.getHeader().getFlag(Flags.RA)).isTrue();
        assertThat(m.getHeader().getFlag(Flags.AA)).isFalse();
        // Case preserved byte for byte (0x20 randomisation checks compare it).
        assertThat(m.getQuestion().getName().toString()).isEqualTo("GiThUb.CoM.");
        assertThat(m.getSection(Section.ANSWER).get(0).getName().toString()).isEqualTo("GiThUb.CoM.");
    }

    @Test
    void answer_queryWithoutRd_getsResponseWithoutRd() {
        Message q = query("github.com", Type.A);
        q.getHeader().unsetFlag(Flags.RD);

        assertThat(response(answerer.answer(sandbox, CLIENT, q)).getHeader().getFlag(Flags.RD)).isFalse();
    }

    @ParameterizedTest(name = "opcode {0}")
    @ValueSource(ints = {Opcode.IQUERY, Opcode.STATUS, Opcode.NOTIFY, Opcode.UPDATE, 3, 6, 15})
    void answer_opcodeOtherThanQuery_isRefusedUnresolved(int opcode) {
        Message q = query("github.com", Type.A);
        q.getHeader().setOpcode(opcode);

        DnsAnswerer.Reply r = answerer.answer(sandbox, CLIENT, q.toWire());

        assertThat(r.rcode()).isEqualTo(Rcode.REFUSED);
        assertThat(response(r).getHeader().getOpcode()).isEqualTo(opcode);
        assertThat(r.event().reason()).isEqualTo(Reason.BAD_REQUEST);
        assertThat(upstream.calls).isEmpty();
    }

    @Test
    void answer_twoQuestions_isFormerrWithoutQuestion() throws Exception {
        Message q = query("github.com", Type.A);
        q.addRecord(Record.newRecord(Name.fromString("api.example.dev."), Type.A, DClass.IN), Section.QUESTION);

        DnsAnswerer.Reply r = answerer.answer(sandbox, CLIENT, q.toWire());

        assertThat(r.rcode()).isEqualTo(Rcode.FORMERR);
        assertThat(response(r).getSection(Section.QUESTION)).isEmpty();
        assertThat(upstream.calls).isEmpty();
    }

    @Test
    void answer_noQuestion_isFormerr() {
        Message q = new Message(7);

        DnsAnswerer.Reply r = answerer.answer(sandbox, CLIENT, q.toWire());

        assertThat(r.rcode()).isEqualTo(Rcode.FORMERR);
        assertThat(response(r).getHeader().getID()).isEqualTo(7);
        assertThat(r.event().name()).isEqualTo("-");
    }

    @Test
    void answer_queryCarryingAnswerRecords_isFormerr() throws Exception {
        Message q = query("github.com", Type.A);
        q.addRecord(new ARecord(Name.fromString("github.com."), DClass.IN, 60,
                java.net.InetAddress.getByAddress(new byte[] {1, 2, 3, 4})), Section.ANSWER);

        assertThat(answerer.answer(sandbox, CLIENT, q.toWire()).rcode()).isEqualTo(Rcode.FORMERR);
        assertThat(upstream.calls).isEmpty();
    }

    @Test
    void answer_chaosClass_isRefused() {
        DnsAnswerer.Reply r = answerer.answer(sandbox, CLIENT, query("github.com", Type.A, DClass.CH).toWire());

        assertThat(r.rcode()).isEqualTo(Rcode.REFUSED);
        assertThat(upstream.calls).isEmpty();
    }

    @Test
    void answer_ednsQuery_getsOptInResponse_withoutEchoingOptions() {
        Message q = query("github.com", Type.A);
        q.addRecord(new OPTRecord(4096, 0, 0, 0), Section.ADDITIONAL);

        Message m = response(answerer.answer(sandbox, CLIENT, q.toWire()));

        assertThat(m.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(m.getOPT()).isNotNull();
        assertThat(m.getOPT().getPayloadSize()).isEqualTo(DnsAnswerer.EDNS_PAYLOAD);
        assertThat(m.getOPT().getOptions()).isEmpty();
    }

    @Test
    void answer_ednsVersion1_isBadvers() {
        Message q = query("github.com", Type.A);
        q.addRecord(new OPTRecord(1232, 0, 1, 0), Section.ADDITIONAL);

        DnsAnswerer.Reply r = answerer.answer(sandbox, CLIENT, q.toWire());

        assertThat(r.rcode()).isEqualTo(Rcode.BADVERS);
        assertThat(upstream.calls).isEmpty();
    }

    @Test
    void answer_twoOptRecords_isFormerr() {
        Message q = query("github.com", Type.A);
        q.addRecord(new OPTRecord(1232, 0, 0, 0), Section.ADDITIONAL);
        q.addRecord(new OPTRecord(512, 0, 0, 0), Section.ADDITIONAL);

        assertThat(answerer.answer(sandbox, CLIENT, q.toWire()).rcode()).isEqualTo(Rcode.FORMERR);
        assertThat(upstream.calls).isEmpty();
    }

    @Test
    void answer_nonOptAdditionalRecord_isFormerr() throws Exception {
        Message q = query("github.com", Type.A);
        q.addRecord(new ARecord(Name.fromString("x.github.com."), DClass.IN, 60,
                java.net.InetAddress.getByAddress(new byte[] {1, 2, 3, 4})), Section.ADDITIONAL);

        assertThat(answerer.answer(sandbox, CLIENT, q.toWire()).rcode()).isEqualTo(Rcode.FORMERR);
    }

    // ---------------------------------------------------------------------------------------------
    // Bytes that are not a query

    @Test
    void answer_aResponse_isNotAnsweredButRecorded() {
        Message q = query("github.com", Type.A);
        q.getHeader().setFlag(Flags.QR);

        DnsAnswerer.Reply r = answerer.answer(sandbox, CLIENT, q.toWire());

        assertThat(r.response()).as("never answer a response: no ping-pong").isEmpty();
        assertThat(r.event().reason()).isEqualTo(Reason.BAD_REQUEST);
        assertThat(upstream.calls).isEmpty();
    }

    @Test
    void answer_fewerBytesThanAHeader_isDropped() {
        DnsAnswerer.Reply r = answerer.answer(sandbox, CLIENT, new byte[] {0x12, 0x34, 0x01});

        assertThat(r.response()).isEmpty();
        assertThat(r.event().decision()).isEqualTo(AuditEvent.Decision.DENY);
    }

    @Test
    void answer_truncatedQuestion_isFormerrWithTheQueryId() {
        byte[] whole = query("github.com", Type.A).toWire();
        whole[0] = 0x41;
        whole[1] = 0x42;
        byte[] cut = java.util.Arrays.copyOf(whole, whole.length - 3);

        DnsAnswerer.Reply r = answerer.answer(sandbox, CLIENT, cut);

        assertThat(r.rcode()).isEqualTo(Rcode.FORMERR);
        assertThat(response(r).getHeader().getID()).isEqualTo(0x4142);
        assertThat(response(r).getSection(Section.ANSWER)).isEmpty();
        assertThat(upstream.calls).isEmpty();
    }

    // ---------------------------------------------------------------------------------------------
    // Unknown sources, overload, fail closed

    @Test
    void refuseUnknownSource_isRefusedAndRecordedWithoutASandbox() {
        DnsAnswerer.Reply r = answerer.refuseUnknownSource("127.0.0.77", query("github.com", Type.A).toWire());

        assertThat(r.rcode()).isEqualTo(Rcode.REFUSED);
        assertThat(response(r).getQuestion().getName().toString()).isEqualTo("github.com.");
        assertThat(r.event().sandbox()).isEqualTo("-");
        assertThat(r.event().project()).isEqualTo("-");
        assertThat(r.event().client()).isEqualTo("127.0.0.77");
        assertThat(r.event().name()).isEqualTo("github.com");
        assertThat(r.event().decision()).isEqualTo(AuditEvent.Decision.DENY);
        assertThat(upstream.calls).isEmpty();
    }

    @Test
    void overloaded_isServfailWithReasonLimit_andResolvesNothing() {
        DnsAnswerer.Reply r = answerer.overloaded(sandbox, CLIENT, query("github.com", Type.A).toWire());

        assertThat(r.rcode()).isEqualTo(Rcode.SERVFAIL);
        assertThat(r.event().reason()).isEqualTo(Reason.LIMIT);
        assertThat(r.event().rule()).isEqualTo("limit: the DNS responder is answering as many queries as it may at once");
        assertThat(r.event().sandbox()).isEqualTo("sb-1");
        assertThat(upstream.calls).isEmpty();
    }

    @Test
    void failClosed_turnsAnAllowIntoServfailWithReasonFailClosed() {
        DnsAnswerer.Reply allowed = ask(sandbox, "github.com", Type.A);

        DnsAnswerer.Reply r = DnsAnswerer.failClosed(allowed);

        assertThat(r.rcode()).isEqualTo(Rcode.SERVFAIL);
        assertThat(response(r).getSection(Section.ANSWER)).isEmpty();
        assertThat(response(r).getHeader().getID()).isEqualTo(response(allowed).getHeader().getID());
        assertThat(r.event().decision()).isEqualTo(AuditEvent.Decision.DENY);
        assertThat(r.event().reason()).isEqualTo(Reason.FAIL_CLOSED);
    }
}
