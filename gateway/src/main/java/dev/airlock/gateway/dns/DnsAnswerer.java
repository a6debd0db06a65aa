package dev.airlock.gateway.dns;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.registry.Sandbox;
import dev.airlock.gateway.resolve.Resolution;
import dev.airlock.gateway.resolve.Resolver;
import dev.airlock.policy.Decision;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.Reason;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.name.HostNames;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Header;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * Answers one DNS query from one sandbox: pure logic, no sockets. {@link DnsResponder} does the I/O.
 *
 * <p>Design. A query reads top to bottom and every early return is a refusal with a reason:
 * <ol>
 *   <li>not a query (QR set) or unreadable: no answer at all, so two responders can never ping-pong;
 *   <li>an opcode other than QUERY: REFUSED; not exactly one question, records in the answer or
 *       authority section, anything but one OPT in the additional section: FORMERR; an EDNS version
 *       other than 0: BADVERS (RFC 6891);
 *   <li>a class other than IN, or a type other than A and AAAA (TXT, ANY, AXFR, MX, PTR, NULL, ...):
 *       REFUSED. Those types carry arbitrary data, which is what a tunnel needs;
 *   <li>the name gate ({@link PolicyEngine#screenName}): a name the policy does not allow is
 *       NXDOMAIN <em>without any upstream query</em>, so a label under an allowed parent never
 *       leaves the machine (egress-cases C, the exfiltration class);
 *   <li>the real resolution, through the injected {@link Resolver}: its failures become NXDOMAIN,
 *       NODATA or SERVFAIL, and a CNAME into production or a denied name is NXDOMAIN;
 *   <li>A: the sandbox's own synthetic address for the name ({@link Sandbox#names()}), never a real
 *       one; a full table is SERVFAIL with reason {@code limit}. AAAA: NODATA, because the synthetic
 *       view is IPv4-only (docs/dns.md).
 * </ol>
 * Responses copy the ID, opcode, RD and the question as asked (case included, for 0x20 checks),
 * set RA and never AA. Every query produces exactly one audit event ({@code via=dns}, port 0: a DNS
 * answer is not tied to a port; the connection that follows is decided again, port and all).
 *
 * <p>Thread-safe: the answerer holds no mutable state; the resolver and the sandbox's tables are
 * thread-safe.
 */
public final class DnsAnswerer {

    /**
     * TTL of synthetic answers. The address is stable for the sandbox's life, so this only bounds how
     * long a sandbox may keep asking for a name a policy reload has since denied; the connection is
     * decided again anyway.
     */
    public static final Duration DEFAULT_ANSWER_TTL = Duration.ofSeconds(60);
    /** The EDNS payload size advertised: the DNS Flag Day 2020 value, which never needs IP fragments. */
    static final int EDNS_PAYLOAD = 1232;
    /** The audit record's port for DNS events: none, since a name is answered for every port. */
    static final int NO_PORT = 0;
    /** The audit record's placeholder for a sandbox, project, name or rule that is not known. */
    static final String NONE = "-";

    private final Resolver resolver;
    private final long answerTtlSeconds;

    public DnsAnswerer(Resolver resolver) {
        this(resolver, DEFAULT_ANSWER_TTL);
    }

    public DnsAnswerer(Resolver resolver, Duration answerTtl) {
        this.resolver = Objects.requireNonNull(resolver, "resolver");
        if (answerTtl.isNegative() || answerTtl.getSeconds() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("answer TTL out of range: " + answerTtl);
        }
        this.answerTtlSeconds = answerTtl.getSeconds();
    }

    /**
     * What to send back, and what to record.
     *
     * @param response empty when nothing must be sent (a response or unreadable bytes arrived)
     * @param event    the audit event for this query; exactly one per query
     * @param detail   one sentence for the operator's log; never sent to the sandbox
     */
    public record Reply(Optional<Message> response, AuditEvent event, String detail) {

        /** The response's RCODE, extended RCODEs included; -1 when there is no response. */
        public int rcode() {
            return response.map(Message::getRcode).orElse(-1);
        }
    }

    /** Who asked, as the audit record names them. */
    private record Who(String sandbox, String project, String client) {

        static Who of(Sandbox s, String client) {
            return new Who(s.id(), s.project(), client == null ? NONE : client);
        }

        static Who unknown(String client) {
            return new Who(NONE, NONE, client == null ? NONE : client);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Entry points

    /** Parses and answers raw bytes from {@code sandbox}; never throws on any input. */
    public Reply answer(Sandbox sandbox, String client, byte[] wire) {
        Objects.requireNonNull(sandbox, "sandbox");
        Who who = Who.of(sandbox, client);
        return switch (Wire.parse(wire)) {
            case Wire.Unreadable u -> drop(who, NONE, u.why());
            case Wire.HeaderOnly h -> headerOnly(who, h);
            case Wire.Whole w -> answer(sandbox, who, w.message());
        };
    }

    /** Answers a parsed query from {@code sandbox}; never throws on any message. */
    public Reply answer(Sandbox sandbox, String client, Message query) {
        Objects.requireNonNull(sandbox, "sandbox");
        return answer(sandbox, Who.of(sandbox, client), Objects.requireNonNull(query, "query"));
    }

    /** A query from an address that is no sandbox's link: REFUSED, recorded with sandbox "-". */
    public Reply refuseUnknownSource(String client, byte[] wire) {
        Who who = Who.unknown(client);
        return switch (Wire.parse(wire)) {
            case Wire.Unreadable u -> drop(who, NONE, u.why());
            case Wire.HeaderOnly h -> headerOnly(who, h);
            case Wire.Whole w -> {
                Message q = w.message();
                if (q.getHeader().getFlag(Flags.QR)) {
                    yield drop(who, questionName(q), "a response arrived where a query was expected");
                }
                yield deny(who, q, Rcode.REFUSED, questionName(q), NONE, Reason.NO_RULE,
                        "the query came from " + who.client + ", which is no sandbox's link address");
            }
        };
    }

    /**
     * The responder is at its concurrency bound: SERVFAIL with reason {@code limit}, without
     * resolving anything. {@code sandbox} may be null for an unknown source.
     */
    public Reply overloaded(Sandbox sandbox, String client, byte[] wire) {
        Who who = sandbox == null ? Who.unknown(client) : Who.of(sandbox, client);
        return switch (Wire.parse(wire)) {
            case Wire.Unreadable u -> drop(who, NONE, u.why());
            case Wire.HeaderOnly h -> headerOnly(who, h);
            case Wire.Whole w -> {
                Message q = w.message();
                if (q.getHeader().getFlag(Flags.QR)) {
                    yield drop(who, questionName(q), "a response arrived where a query was expected");
                }
                yield deny(who, q, Rcode.SERVFAIL, questionName(q), NONE, Reason.LIMIT,
                        "the DNS responder is answering as many queries as it may at once");
            }
        };
    }

    /**
     * The reply to send instead of {@code reply} when its audit event could not be recorded:
     * SERVFAIL with reason {@code fail-closed}, so nothing is answered unrecorded.
     */
    public static Reply failClosed(Reply reply) {
        AuditEvent e = reply.event();
        AuditEvent failed = new AuditEvent(e.event(), e.sandbox(), e.project(), e.via(), e.client(), e.name(), e.port(),
                List.of(), AuditEvent.Decision.DENY, e.rule(), Reason.FAIL_CLOSED, 0, 0, 0);
        Optional<Message> servfail = reply.response().map(r -> {
            Message m = new Message(r.getHeader().getID());
            copyHeader(r.getHeader(), m.getHeader());
            m.getHeader().setRcode(Rcode.SERVFAIL);
            Record q = r.getQuestion();
            if (q != null) {
                m.addRecord(q, Section.QUESTION);
            }
            if (r.getOPT() != null) {
                m.addRecord(new OPTRecord(EDNS_PAYLOAD, 0, 0), Section.ADDITIONAL);
            }
            return m;
        });
        return new Reply(servfail, failed, "the audit sink refused the event, so the answer was withheld: " + reply.detail());
    }

    // ---------------------------------------------------------------------------------------------
    // The decision, top to bottom

    private Reply answer(Sandbox sandbox, Who who, Message q) {
        try {
            return decide(sandbox, who, q);
        } catch (RuntimeException e) {
            // Fail closed: a bug or a hostile corner of the parser must cost an answer, not the responder.
            try {
                return deny(who, q, Rcode.SERVFAIL, safeQuestionName(q), NONE, Reason.FAIL_CLOSED,
                        "the answerer failed: " + e);
            } catch (RuntimeException again) {
                return new Reply(Optional.empty(), event(who, NONE, List.of(), false, NONE, Reason.FAIL_CLOSED),
                        "the answerer failed twice: " + e + "; " + again);
            }
        }
    }

    private Reply decide(Sandbox sandbox, Who who, Message q) {
        Header h = q.getHeader();
        if (h.getFlag(Flags.QR)) {
            return drop(who, questionName(q), "a response arrived where a query was expected");
        }
        if (h.getOpcode() != Opcode.QUERY) {
            return deny(who, q, Rcode.REFUSED, questionName(q), NONE, Reason.BAD_REQUEST,
                    "opcode " + Opcode.string(h.getOpcode()) + " is not served; only QUERY is");
        }
        List<Record> questions = q.getSection(Section.QUESTION);
        if (questions.size() != 1) {
            return deny(who, q, Rcode.FORMERR, NONE, NONE, Reason.BAD_REQUEST,
                    questions.size() + " questions; exactly one is served");
        }
        String name = questionName(q);
        if (!q.getSection(Section.ANSWER).isEmpty() || !q.getSection(Section.AUTHORITY).isEmpty()) {
            return deny(who, q, Rcode.FORMERR, name, NONE, Reason.BAD_REQUEST,
                    "a query with records in its answer or authority section");
        }
        List<Record> additional = q.getSection(Section.ADDITIONAL);
        if (additional.size() > 1 || (additional.size() == 1 && !(additional.get(0) instanceof OPTRecord))) {
            return deny(who, q, Rcode.FORMERR, name, NONE, Reason.BAD_REQUEST,
                    "the additional section may hold one OPT record and nothing else");
        }
        OPTRecord opt = q.getOPT();
        if (opt != null && !opt.getName().equals(Name.root)) {
            return deny(who, q, Rcode.FORMERR, name, NONE, Reason.BAD_REQUEST, "an OPT record not owned by the root");
        }
        if (opt != null && opt.getVersion() != 0) {
            return deny(who, q, Rcode.BADVERS, name, NONE, Reason.BAD_REQUEST,
                    "EDNS version " + opt.getVersion() + "; only version 0 is served");
        }
        Record question = questions.get(0);
        if (question.getDClass() != DClass.IN) {
            return deny(who, q, Rcode.REFUSED, name, NONE, Reason.BAD_REQUEST,
                    "class " + DClass.string(question.getDClass()) + " is not served; only IN is");
        }
        int type = question.getType();
        if (type != Type.A && type != Type.AAAA) {
            // TXT, NULL, ANY, zone transfers and the rest carry data a tunnel could use.
            return deny(who, q, Rcode.REFUSED, name, NONE, Reason.BAD_REQUEST,
                    "type " + Type.string(type) + " is not served; only A and AAAA are");
        }

        PolicyEngine engine = sandbox.engine(); // read once: a reload mid-query does not mix policies
        String canonical;
        switch (engine.screenName(question.getName().toString(true))) {
            case PolicyEngine.Screening.Final f -> {
                Decision d = f.decision();
                // No upstream query: a denied name never leaves the machine.
                return deny(who, q, Rcode.NXDOMAIN, d.target(), d.ruleText(), d.reason(), d.detail());
            }
            case PolicyEngine.Screening.Resolve r -> canonical = r.name();
        }

        Resolution resolution = resolver.resolve(canonical);
        if (resolution instanceof Resolution.Failure f) {
            int rcode = switch (f.kind()) {
                case NXDOMAIN -> Rcode.NXDOMAIN;
                case NO_ADDRESS -> Rcode.NOERROR; // the name exists and has no address: NODATA
                case SERVFAIL, TIMEOUT, ERROR, TOO_LARGE -> Rcode.SERVFAIL;
            };
            return deny(who, q, rcode, canonical, NONE, Reason.DNS_FAILURE,
                    canonical + ": " + f.kind().description + " (" + f.detail() + ")");
        }
        Resolution.Answer answer = (Resolution.Answer) resolution;
        if (answer.addresses().isEmpty()) {
            return deny(who, q, Rcode.NOERROR, canonical, NONE, Reason.DNS_FAILURE, canonical + " has no address");
        }
        for (String alias : answer.aliases()) {
            // A CNAME into production or a denied name gets no address, as the name itself would not.
            if (engine.screenName(alias) instanceof PolicyEngine.Screening.Final f
                    && (f.decision().reason() == Reason.PRODUCTION || f.decision().reason() == Reason.DENY_RULE)) {
                Decision d = f.decision();
                return deny(who, q, Rcode.NXDOMAIN, canonical, d.ruleText(), d.reason(),
                        canonical + " is an alias (CNAME) of " + d.target() + ": " + d.detail());
            }
        }

        if (type == Type.AAAA) {
            // The synthetic view is IPv4-only; NODATA (not NXDOMAIN) says the name exists.
            Message m = response(q, Rcode.NOERROR, true);
            return new Reply(Optional.of(m), event(who, canonical, List.of(), true, NONE, Reason.ALLOWED),
                    canonical + ": AAAA answered with no records; the sandbox's view is IPv4-only");
        }
        Optional<IpAddress> synthetic = sandbox.names().assign(canonical);
        if (synthetic.isEmpty()) {
            return deny(who, q, Rcode.SERVFAIL, canonical, NONE, Reason.LIMIT,
                    "sandbox " + who.sandbox + " has resolved " + sandbox.names().size()
                            + " names, as many as it may; " + canonical + " gets no address");
        }
        IpAddress a = synthetic.get();
        Message m = response(q, Rcode.NOERROR, true);
        m.addRecord(new ARecord(question.getName(), DClass.IN, answerTtlSeconds, inet(a)), Section.ANSWER);
        return new Reply(Optional.of(m), event(who, canonical, List.of(a.toString()), true, NONE, Reason.ALLOWED),
                canonical + " -> " + a + " (synthetic; real " + answer.addresses() + ")");
    }

    // ---------------------------------------------------------------------------------------------
    // Building replies

    private static Reply deny(Who who, Message q, int rcode, String name, String rule, Reason reason, String detail) {
        Message m = response(q, rcode, q.getSection(Section.QUESTION).size() == 1);
        // A limit has no policy rule: the record names the limit instead, as the proxy paths' records do.
        String recorded = reason == Reason.LIMIT && NONE.equals(rule) ? "limit: " + detail : rule;
        return new Reply(Optional.of(m), event(who, name, List.of(), false, recorded, reason), detail);
    }

    private static Reply drop(Who who, String name, String detail) {
        return new Reply(Optional.empty(), event(who, name, List.of(), false, NONE, Reason.BAD_REQUEST), detail);
    }

    /** A header that parsed over a body that did not: FORMERR, with no question to copy. */
    private static Reply headerOnly(Who who, Wire.HeaderOnly h) {
        if (h.header().getFlag(Flags.QR)) {
            return drop(who, NONE, "a response arrived where a query was expected");
        }
        Message m = new Message(h.header().getID());
        copyHeader(h.header(), m.getHeader());
        m.getHeader().setRcode(Rcode.FORMERR);
        return new Reply(Optional.of(m), event(who, NONE, List.of(), false, NONE, Reason.BAD_REQUEST),
                "an unreadable query: " + h.why());
    }

    /**
     * The response skeleton: ID, opcode and RD copied, QR and RA set, AA never. An extended RCODE
     * (BADVERS) goes into the OPT record, which is added whenever the query had one.
     */
    private static Message response(Message q, int rcode, boolean withQuestion) {
        Message m = new Message(q.getHeader().getID());
        copyHeader(q.getHeader(), m.getHeader());
        m.getHeader().setRcode(rcode & 0xF);
        if (withQuestion) {
            m.addRecord(q.getQuestion(), Section.QUESTION);
        }
        if (q.getOPT() != null || rcode > 0xF) {
            m.addRecord(new OPTRecord(EDNS_PAYLOAD, rcode >>> 4, 0), Section.ADDITIONAL);
        }
        return m;
    }

    private static void copyHeader(Header from, Header to) {
        to.setFlag(Flags.QR);
        to.setOpcode(from.getOpcode());
        if (from.getFlag(Flags.RD)) {
            to.setFlag(Flags.RD);
        }
        to.setFlag(Flags.RA);
    }

    private static AuditEvent event(Who who, String name, List<String> addresses, boolean allow, String rule,
            Reason reason) {
        return new AuditEvent(AuditEvent.Event.DECISION, who.sandbox, who.project, AuditEvent.Via.DNS, who.client,
                name, NO_PORT, addresses, AuditEvent.Decision.of(allow), rule, reason, 0, 0, 0);
    }

    /** The question's name, canonical when it can be, else as dnsjava prints it (escaped). */
    private static String questionName(Message q) {
        Record question = q.getQuestion();
        if (question == null) {
            return NONE;
        }
        String text = question.getName().toString(true);
        return HostNames.canonicalOrEmpty(text).orElse(text);
    }

    private static String safeQuestionName(Message q) {
        try {
            return questionName(q);
        } catch (RuntimeException e) {
            return NONE;
        }
    }

    private static InetAddress inet(IpAddress a) {
        try {
            return InetAddress.getByAddress(a.toBytes()); // literal bytes: never a lookup
        } catch (UnknownHostException e) {
            throw new IllegalStateException("an address of " + a.toBytes().length + " bytes", e);
        }
    }

    /** What a datagram or TCP frame turned out to be. */
    sealed interface Wire permits Wire.Unreadable, Wire.HeaderOnly, Wire.Whole {

        /** Shorter than a DNS header: there is not even an ID to answer. */
        record Unreadable(String why) implements Wire {
        }

        /** A header, then bytes that are not a DNS message. */
        record HeaderOnly(Header header, String why) implements Wire {
        }

        record Whole(Message message) implements Wire {
        }

        static Wire parse(byte[] wire) {
            if (wire == null || wire.length < Header.LENGTH) {
                return new Unreadable((wire == null ? 0 : wire.length) + " bytes, shorter than a DNS header");
            }
            if (wire.length > Message.MAXLENGTH) {
                return new Unreadable(wire.length + " bytes, longer than any DNS message");
            }
            try {
                return new Whole(new Message(wire));
            } catch (IOException | RuntimeException e) {
                try {
                    return new HeaderOnly(new Header(wire), String.valueOf(e.getMessage()));
                } catch (IOException | RuntimeException again) {
                    return new Unreadable("not even the header parses: " + again.getMessage());
                }
            }
        }
    }
}
