package dev.airlock.bench;

import dev.airlock.policy.Decision;
import dev.airlock.policy.PolicyEngine;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;

/**
 * {@link DecisionBenchmark}'s policy and requests, timed by this thread's CPU time instead of wall
 * time: on a shared machine, time spent descheduled does not count (a busy cache still does). Also
 * a fixed amount of work for instruction counting under valgrind.
 *
 * <pre>
 * java -cp bench/target/benchmarks.jar dev.airlock.bench.DecisionDriver 100000 decide 2000000 7
 * </pre>
 * Arguments: rule count, {@code decide} or {@code screen}, calls per round, rounds (after as many
 * warm-up calls as one round). Prints the CPU ns per call of each round, then the median.
 */
public final class DecisionDriver {

    private DecisionDriver() {
    }

    public static void main(String[] args) {
        int ruleCount = Integer.parseInt(args[0]);
        boolean decide = args[1].equals("decide");
        long calls = Long.parseLong(args[2]);
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 5;
        DecisionBenchmark b = new DecisionBenchmark();
        b.ruleCount = ruleCount;
        b.setUp();
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long sink = run(b, decide, calls);
        double[] ns = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            long t0 = mx.getCurrentThreadCpuTime();
            sink += run(b, decide, calls);
            ns[r] = (mx.getCurrentThreadCpuTime() - t0) / (double) calls;
            System.out.printf("round %d: %.1f ns/call%n", r, ns[r]);
        }
        Arrays.sort(ns);
        System.out.printf("ruleCount=%d %s: median %.1f ns/call (min %.1f), %.2f M calls/s of CPU; sink %d%n",
                ruleCount, args[1], ns[rounds / 2], ns[0], 1e3 / ns[rounds / 2], sink);
    }

    private static long run(DecisionBenchmark b, boolean decide, long calls) {
        PolicyEngine engine = b.engine;
        int mask = DecisionBenchmark.REQUESTS - 1;
        long sink = 0;
        for (long i = 0; i < calls; i++) {
            int k = (int) i & mask;
            if (decide) {
                Decision d = engine.decide(b.requests[k]);
                sink += d.reason().ordinal() + d.target().length();
            } else {
                sink += engine.screen(b.hosts[k], b.ports[k]) instanceof PolicyEngine.Screening.Resolve ? 1 : 2;
            }
        }
        return sink;
    }
}
