package dev.airlock.bench;

import dev.airlock.policy.Decision;
import dev.airlock.policy.EgressRequest;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.Reason;
import dev.airlock.policy.address.Cidr;
import dev.airlock.policy.address.IpAddress;
import dev.airlock.policy.model.Destination;
import dev.airlock.policy.model.PortSet;
import dev.airlock.policy.model.Rule;
import dev.airlock.policy.model.SourcePosition;
import dev.airlock.policy.name.NamePattern;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Policy decisions per second on one thread, as the rule count grows (goal: at least 1,000,000
 * {@code decide} calls per second with 100,000 rules).
 *
 * <p>Run (from the repository root, after building; about 2 minutes on 2 cores):
 * <pre>
 * JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 ./mvnw -q -pl policy,bench -am package -DskipTests
 * /usr/lib/jvm/temurin-25-jdk-amd64/bin/java -jar bench/target/benchmarks.jar DecisionBenchmark -f 1 -wi 3 -w 2s -i 5 -r 2s
 * </pre>
 * Add {@code -prof gc} for allocation per decision, {@code -p ruleCount=100000} for one size.
 * Build with {@code -pl policy,bench -am}: without {@code -am} the jar takes {@code airlock-policy}
 * from {@code ~/.m2}, which may be an older engine. {@link DecisionDriver} times the same calls by
 * thread CPU time, which a busy shared machine disturbs less than wall-clock throughput.
 *
 * <p>Design: the rules and requests are generated from a fixed seed in a trial-level setup, so
 * nothing but the engine call is timed and every run sees the same policy. Rules are a realistic
 * mix: about 70% exact names ({@code svc-<n>.team-<m>.example.com}), 20% {@code *.} wildcards and
 * 10% CIDR allows inside 198.18.0.0/15 (RFC 2544 benchmarking space, which the classifier treats as
 * public) with service ports, plus a deny list and a production set of about 1% each.
 *
 * <p>{@value #REQUESTS} requests are pre-built and shuffled, one fifth each of: allowed exact names,
 * allowed wildcard subdomains, names no rule matches, production names, and IP literals; every
 * name carries one or two candidate addresses in 198.18.0.0/15. Shuffling keeps the branch
 * predictor from learning a short cycle. The setup prints how the requests were decided, so a
 * reader can check the benchmark exercises allows as well as denials.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
@Fork(1)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@State(Scope.Thread)
public class DecisionBenchmark {

    /** A power of two, so the cursor wraps with a mask; large enough to defeat per-request caching. */
    static final int REQUESTS = 4096;
    private static final int MASK = REQUESTS - 1;
    /** Fixed so every run and every fork benchmarks the same policy. */
    private static final long SEED = 0xA1B10CL;
    private static final String FILE = "airlock.yaml";
    /** Service ports CIDR rules open; names get the default 80,443. */
    private static final int[] CIDR_PORTS = {5432, 6379, 8080, 9092, 443};

    @Param({"10", "1000", "100000"})
    int ruleCount;

    // Package-private for DecisionDriver, which times the same calls by thread CPU time.
    PolicyEngine engine;
    EgressRequest[] requests;
    String[] hosts;
    int[] ports;
    private int cursor;

    @Setup(Level.Trial)
    public void setUp() {
        Random rnd = new Random(SEED);
        int wildcards = Math.max(1, ruleCount / 5);
        int cidrs = Math.max(1, ruleCount / 10);
        int exacts = Math.max(1, ruleCount - wildcards - cidrs);
        int listSize = Math.max(1, ruleCount / 100);

        List<Rule> allow = new ArrayList<>(ruleCount);
        List<String> exactNames = new ArrayList<>(exacts);
        List<String> wildcardBases = new ArrayList<>(wildcards);
        List<Cidr> allowCidrs = new ArrayList<>(cidrs);
        List<Integer> allowCidrPorts = new ArrayList<>(cidrs);
        int line = 1;
        for (int i = 0; i < exacts; i++) {
            // Many services per team, as in a real estate: the trie's shared parents are exercised.
            String name = "svc-" + i + ".team-" + rnd.nextInt(Math.max(1, exacts / 20) + 1) + ".example.com";
            exactNames.add(name);
            allow.add(rule(Rule.Kind.ALLOW, new Destination.Names(new NamePattern.Exact(name)), PortSet.WEB, line++));
        }
        for (int i = 0; i < wildcards; i++) {
            String base = "api-" + i + ".vendor-" + rnd.nextInt(Math.max(1, wildcards / 10) + 1) + ".example.net";
            wildcardBases.add(base);
            allow.add(rule(Rule.Kind.ALLOW, new Destination.Names(new NamePattern.Subdomains(base)), PortSet.WEB, line++));
        }
        for (int i = 0; i < cidrs; i++) {
            // /24 to /32 somewhere in 198.18.0.0/15; overlaps are allowed, as in real policies.
            int len = 24 + rnd.nextInt(9);
            IpAddress net = IpAddress.ipv4(0xC612_0000 | rnd.nextInt(1 << 17));
            Cidr cidr = new Cidr(net, len);
            int port = CIDR_PORTS[rnd.nextInt(CIDR_PORTS.length)];
            allowCidrs.add(cidr);
            allowCidrPorts.add(port);
            allow.add(rule(Rule.Kind.ALLOW, new Destination.Addresses(cidr), PortSet.of(port), line++));
        }

        List<Rule> deny = new ArrayList<>(listSize);
        for (int i = 0; i < listSize; i++) {
            // Half deny a whole subtree of an allowed team, half one admin host.
            String team = exactNames.get(rnd.nextInt(exactNames.size()));
            team = team.substring(team.indexOf('.') + 1);
            NamePattern p = i % 2 == 0 ? new NamePattern.Exact("admin-" + i + "." + team)
                    : new NamePattern.Subdomains("internal-" + i + "." + team);
            deny.add(rule(Rule.Kind.DENY, new Destination.Names(p), PortSet.ANY, line++));
        }

        List<Rule> production = new ArrayList<>(listSize);
        List<String> productionNames = new ArrayList<>(listSize);
        for (int i = 0; i < listSize; i++) {
            String base = "prod-" + i + ".example.com";
            productionNames.add(base);
            NamePattern p = i % 2 == 0 ? new NamePattern.Subdomains(base) : new NamePattern.Exact(base);
            production.add(rule(Rule.Kind.PRODUCTION, new Destination.Names(p), PortSet.ANY, line++));
        }
        // One production range at the top of the benchmark space, so the address gate can deny too.
        production.add(rule(Rule.Kind.PRODUCTION, new Destination.Addresses(Cidr.of("198.19.255.0/24")), PortSet.ANY, line));

        engine = PolicyEngine.of("bench", allow, deny, production, List.of(Cidr.of("100.127.0.0/24")));

        requests = new EgressRequest[REQUESTS];
        hosts = new String[REQUESTS];
        ports = new int[REQUESTS];
        for (int i = 0; i < REQUESTS; i++) {
            String host;
            int port = 443;
            List<IpAddress> addresses = null;
            switch (i % 5) {
                case 0 -> host = exactNames.get(rnd.nextInt(exactNames.size()));
                case 1 -> host = "h" + rnd.nextInt(1000) + "." + wildcardBases.get(rnd.nextInt(wildcardBases.size()));
                case 2 -> host = "svc-" + rnd.nextInt(1_000_000) + ".unknown-" + rnd.nextInt(100) + ".example.org";
                case 3 -> {
                    String base = productionNames.get(rnd.nextInt(productionNames.size()));
                    int prodIndex = Integer.parseInt(base.substring(5, base.indexOf('.')));
                    host = prodIndex % 2 == 0 ? "db-" + rnd.nextInt(50) + "." + base : base;
                }
                default -> {
                    // Mostly inside an allowed range on its port, otherwise a random benchmark address.
                    int k = rnd.nextInt(allowCidrs.size());
                    Cidr c = allowCidrs.get(k);
                    int hostBits = 32 - c.prefixLength();
                    int offset = hostBits == 0 ? 0 : rnd.nextInt(1 << hostBits);
                    IpAddress a = rnd.nextInt(4) == 0 ? randomBenchAddress(rnd)
                            : IpAddress.ipv4(c.network().v4Bits() + offset);
                    host = a.toString();
                    port = allowCidrPorts.get(k);
                    // The gateway passes the literal itself as the one candidate; decide dials it as given.
                    addresses = List.of(a);
                }
            }
            if (addresses == null) {
                addresses = candidates(rnd);
            }
            // new String: the engine must not benefit from identity or a cached hash of the rule's text.
            host = new String(host);
            requests[i] = EgressRequest.of(host, port, addresses);
            hosts[i] = host;
            ports[i] = port;
        }
        shuffle(rnd);
        report();
    }

    private static Rule rule(Rule.Kind kind, Destination d, PortSet ports, int line) {
        String source = switch (kind) {
            case ALLOW -> "network.allow";
            case DENY -> "network.deny";
            case PRODUCTION -> "production";
        };
        return new Rule(kind, d, ports, new SourcePosition(FILE, line, 7), source);
    }

    private static IpAddress randomBenchAddress(Random rnd) {
        return IpAddress.ipv4(0xC612_0000 | rnd.nextInt(1 << 17));
    }

    /** One or two resolver answers in 198.18.0.0/15. */
    private static List<IpAddress> candidates(Random rnd) {
        IpAddress first = randomBenchAddress(rnd);
        return rnd.nextBoolean() ? List.of(first) : List.of(first, randomBenchAddress(rnd));
    }

    private void shuffle(Random rnd) {
        for (int i = REQUESTS - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            EgressRequest r = requests[i];
            requests[i] = requests[j];
            requests[j] = r;
            String h = hosts[i];
            hosts[i] = hosts[j];
            hosts[j] = h;
            int p = ports[i];
            ports[i] = ports[j];
            ports[j] = p;
        }
    }

    /** One line on stdout: how the request mix is decided, so the mix can be checked, not assumed. */
    private void report() {
        Map<Reason, Integer> counts = new EnumMap<>(Reason.class);
        for (EgressRequest r : requests) {
            counts.merge(engine.decide(r).reason(), 1, Integer::sum);
        }
        System.out.println("ruleCount=" + ruleCount + " decisions over " + REQUESTS + " requests: " + counts);
    }

    @Benchmark
    public void decide(Blackhole bh) {
        int i = cursor++ & MASK;
        Decision d = engine.decide(requests[i]);
        bh.consume(d);
    }

    @Benchmark
    public void screen(Blackhole bh) {
        int i = cursor++ & MASK;
        bh.consume(engine.screen(hosts[i], ports[i]));
    }
}
