package dev.airlock.gateway.dns;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.audit.AuditSink;
import dev.airlock.gateway.resolve.Resolution;
import dev.airlock.gateway.resolve.Resolver;
import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.address.IpLiterals;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.PolicyFiles;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.TextParseException;

/**
 * Policies, a recording fake upstream and query builders for the DNS tests. The policies are
 * written as users write them and loaded through the real loader.
 */
final class DnsFixtures {

    static final String ORG = """
            version: 1
            production:
              - api.acme.com
              - "*.prod.acme.internal"
              - cidr: 10.20.0.0/16
            """;

    /** Allows a few names; tries to open production; denies one name inside a wildcard allow. */
    static final String PROJECT = """
            version: 1
            project: payments
            network:
              allow:
                - github.com
                - "*.githubusercontent.com"
                - ssh.github.com:22
                - api.acme.com
                - "*.acme.internal"
                - "*.example.dev"
              deny:
                - gist.githubusercontent.com
            """;

    /** A second project with a different allowlist. */
    static final String OTHER_PROJECT = """
            version: 1
            project: docs
            network:
              allow:
                - github.com
                - docs.example.dev
            """;

    static final List<Cidr> LINKS = List.of(Cidr.of("127.0.0.0/8"));

    private DnsFixtures() {
    }

    static PolicyEngine engine(String projectYaml) {
        try {
            return PolicyEngine.compile(PolicyFiles.parseProject("airlock.yaml", projectYaml),
                    PolicyFiles.parseOrg("org.yaml", ORG), Phase.RUN, LINKS);
        } catch (PolicyException e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    static IpAddress ip(String text) {
        if (IpLiterals.shape(text) instanceof IpLiterals.Canonical c) {
            return c.address();
        }
        throw new IllegalArgumentException("not canonical: " + text);
    }

    static Message query(String name, int type) {
        return query(name, type, DClass.IN);
    }

    static Message query(String name, int type, int dclass) {
        try {
            Name n = Name.fromString(name.endsWith(".") ? name : name + ".");
            return Message.newQuery(Record.newRecord(n, type, dclass));
        } catch (TextParseException e) {
            throw new IllegalArgumentException(e);
        }
    }

    /**
     * The upstream as the tests script it: real-looking answers for a few names, each failure kind
     * for others, NXDOMAIN for the rest. Records every name it is asked, so a test can prove a name
     * never left the machine.
     */
    static final class RecordingUpstream implements Resolver {

        final List<String> calls = Collections.synchronizedList(new ArrayList<>());
        private final Map<String, Resolution> answers = new ConcurrentHashMap<>();
        private volatile CountDownLatch gate;
        private volatile Set<String> held = Set.of();

        RecordingUpstream() {
            answer("github.com", "140.82.112.3");
            answer("ssh.github.com", "140.82.112.36");
            answer("raw.githubusercontent.com", "185.199.108.133", "185.199.109.133");
            answer("api.example.dev", "198.18.0.10");
            answer("cdn-a.example.dev", "198.18.0.20");
            answer("cdn-b.example.dev", "198.18.0.20"); // same real address as cdn-a: a CDN
            answer("docs.example.dev", "198.18.0.30");
            answer("v6only.example.dev", "2001:db8::30");
            answers.put("alias.example.dev", new Resolution.Answer(List.of(ip("198.18.0.40")),
                    List.of("edge.example.net", "db.prod.acme.internal"), Duration.ofSeconds(60)));
            answers.put("nx.example.dev", new Resolution.Failure(Resolution.Kind.NXDOMAIN, "no such name"));
            answers.put("empty.example.dev", new Resolution.Failure(Resolution.Kind.NO_ADDRESS, "no A or AAAA"));
            answers.put("broken.example.dev", new Resolution.Failure(Resolution.Kind.SERVFAIL, "upstream SERVFAIL"));
            answers.put("slow.example.dev", new Resolution.Failure(Resolution.Kind.TIMEOUT, "no answer in 2000 ms"));
            answers.put("huge.example.dev", new Resolution.Failure(Resolution.Kind.TOO_LARGE, "65 addresses"));
            answers.put("odd.example.dev", new Resolution.Failure(Resolution.Kind.ERROR, "resolver error"));
        }

        void answer(String name, String... addresses) {
            answers.put(name, new Resolution.Answer(List.of(addresses).stream().map(DnsFixtures::ip).toList(),
                    List.of(), Duration.ofSeconds(60)));
        }

        /** From now on lookups of {@code names} (of every name, if none are given) block until {@link #open}. */
        void hold(String... names) {
            held = Set.of(names);
            gate = new CountDownLatch(1);
        }

        void open() {
            CountDownLatch g = gate;
            gate = null;
            if (g != null) {
                g.countDown();
            }
        }

        @Override
        public Resolution resolve(String canonicalName) {
            calls.add(canonicalName);
            CountDownLatch g = gate;
            if (g != null && (held.isEmpty() || held.contains(canonicalName))) {
                try {
                    if (!g.await(30, TimeUnit.SECONDS)) {
                        return new Resolution.Failure(Resolution.Kind.TIMEOUT, "test gate never opened");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return new Resolution.Failure(Resolution.Kind.ERROR, "interrupted");
                }
            }
            return answers.getOrDefault(canonicalName,
                    new Resolution.Failure(Resolution.Kind.NXDOMAIN, canonicalName + " is not known upstream"));
        }
    }

    /** Keeps every event; refuses them all when told to (a full or failed sink). */
    static final class RecordingSink implements AuditSink {

        final List<AuditEvent> events = Collections.synchronizedList(new ArrayList<>());
        volatile boolean refuse;

        @Override
        public boolean submit(AuditEvent event) {
            if (refuse) {
                return false;
            }
            events.add(event);
            return true;
        }

        @Override
        public boolean healthy() {
            return !refuse;
        }

        @Override
        public void close() {
        }

        List<AuditEvent> snapshot() {
            synchronized (events) {
                return List.copyOf(events);
            }
        }
    }
}
