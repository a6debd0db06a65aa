package dev.airlock.server;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.audit.AuditLog;
import dev.airlock.policy.Reason;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.List;

/**
 * The first poll of {@link ForwardedDenials} (the Kubernetes daemon's dashboard denials, read from
 * an audit chain that may hold hundreds of megabytes) against {@code grep -c} counting the same
 * denials in the same file, taking turns, the file in the page cache. In this package because the
 * class is the daemon's own, not an API.
 *
 * <pre>
 * ./mvnw -q -pl bench -am package -DskipTests
 * java -cp bench/target/benchmarks.jar dev.airlock.server.ForwardedDenialsScan 600 7   # MB, rounds
 * </pre>
 * The log repeats 2,000 records (one denial in 500) up to the size: every line is read, every
 * denial parsed and checked (each record's hash covers the record; the dashboard keeps the last 100).
 */
public final class ForwardedDenialsScan {

    private ForwardedDenialsScan() {
    }

    public static void main(String[] args) throws Exception {
        long megabytes = args.length > 0 ? Long.parseLong(args[0]) : 600;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 7;
        Path dir = Files.createTempDirectory("alk-denials-scan");
        Path log = dir.resolve("audit.log");
        try {
            fill(log, dir.resolve("seed.log"), megabytes * 1_000_000);
            double[] poll = new double[rounds];
            double[] grep = new double[rounds];
            for (int r = -2; r < rounds; r++) { // two warm-up rounds: the JIT, the page cache
                long t0 = System.nanoTime();
                ForwardedDenials f = new ForwardedDenials(log);
                f.poll();
                long t1 = System.nanoTime();
                Process p = new ProcessBuilder("grep", "-c", "\"decision\":\"deny\"", log.toString()).redirectErrorStream(true).start();
                String count = new String(p.getInputStream().readAllBytes()).trim();
                p.waitFor();
                long t2 = System.nanoTime();
                if (r >= 0) {
                    poll[r] = (t1 - t0) / 1e6;
                    grep[r] = (t2 - t1) / 1e6;
                    System.out.printf("round %d: poll %.0f ms (%d denials shown), grep -c %.0f ms (%s lines)%n", r, poll[r],
                            f.denials().recent().size(), grep[r], count);
                }
            }
            Arrays.sort(poll);
            Arrays.sort(grep);
            double mb = Files.size(log) / 1e6;
            System.out.printf("%.0f MB: first poll median %.0f ms (%.0f MB/s), grep -c median %.0f ms (%.0f MB/s), ratio %.2fx%n", mb,
                    poll[rounds / 2], mb / poll[rounds / 2] * 1000, grep[rounds / 2], mb / grep[rounds / 2] * 1000,
                    poll[rounds / 2] / grep[rounds / 2]);
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.delete(f); // the logs and the writer's lock file
                }
            }
            Files.delete(dir);
        }
    }

    private static void fill(Path log, Path seed, long bytes) throws Exception {
        try (AuditLog writer = AuditLog.open(seed, Clock.fixed(Instant.parse("2026-12-08T00:00:00Z"), ZoneOffset.UTC))) {
            for (int i = 0; i < 2000; i++) {
                boolean deny = i % 500 == 0;
                writer.submit(new AuditEvent(AuditEvent.Event.DECISION, "alk1", "payments", AuditEvent.Via.TRANSPARENT, "10.1.0.2",
                        "host" + i + ".example.test", 443, List.of(), deny ? AuditEvent.Decision.DENY : AuditEvent.Decision.ALLOW, "-",
                        deny ? Reason.NO_RULE : Reason.ALLOWED, 0, 0, 0));
            }
            writer.awaitWritten(Duration.ofSeconds(60));
        }
        byte[] records = Files.readAllBytes(seed);
        try (OutputStream out = Files.newOutputStream(log)) {
            for (long written = 0; written < bytes; written += records.length) {
                out.write(records);
            }
        }
    }
}
