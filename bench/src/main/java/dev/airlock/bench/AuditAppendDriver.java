package dev.airlock.bench;

import java.lang.management.ManagementFactory;
import java.util.Arrays;

/**
 * {@link AuditAppendBenchmark}'s work, timed by the process's CPU time instead of wall time: on a
 * shared machine, time spent descheduled does not count. It counts every thread of the process
 * (the submitting threads, the audit writers, the collector), so it is the audit log's whole cost
 * per record.
 *
 * <pre>
 * java -cp bench/target/benchmarks.jar dev.airlock.bench.AuditAppendDriver 1 9
 * </pre>
 * Arguments: writers (logs on one file at once), rounds (after two warm-up rounds). Prints the CPU
 * ns per record and the wall time of each round, then the medians.
 */
public final class AuditAppendDriver {

    private AuditAppendDriver() {
    }

    public static void main(String[] args) throws Exception {
        int writers = Integer.parseInt(args[0]);
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 7;
        AuditAppendBenchmark b = new AuditAppendBenchmark();
        b.writers = writers;
        b.trial();
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        for (int w = 0; w < 2; w++) {
            b.emptyFile();
            b.writeAndClose();
        }
        double[] ns = new double[rounds];
        double[] ms = new double[rounds];
        long records = (long) writers * AuditAppendBenchmark.RECORDS;
        for (int r = 0; r < rounds; r++) {
            b.emptyFile();
            long cpu0 = os.getProcessCpuTime();
            long t0 = System.nanoTime();
            b.writeAndClose();
            ms[r] = (System.nanoTime() - t0) / 1e6;
            ns[r] = (os.getProcessCpuTime() - cpu0) / (double) records;
            System.out.printf("round %d: %.0f CPU ns/record, %.0f ms wall%n", r, ns[r], ms[r]);
        }
        b.removeDir();
        Arrays.sort(ns);
        Arrays.sort(ms);
        System.out.printf("writers %d, %d records each: median %.0f CPU ns/record, %.0f ms wall%n", writers,
                AuditAppendBenchmark.RECORDS, ns[rounds / 2], ms[rounds / 2]);
    }
}
