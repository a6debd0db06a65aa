package dev.airlock.bench.pool;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.airlock.server.DaemonClient;
import dev.airlock.server.DaemonConfig;
import dev.airlock.server.DaemonServer;
import java.io.ByteArrayInputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Warm claims against cold starts, side by side in one run, through the daemon's unix-socket API
 * as a client sees them: the claim ({@code POST /v1/claims}) and the time from the claim's answer
 * to the first byte a command prints ({@code exec echo}). Root only; it builds real sandboxes.
 *
 * <p>Run: {@code sudo bench/pool/run-claim-bench.sh [CLAIMS]} (default 200 per side).
 */
public final class ClaimBench {

    private static final ObjectMapper JSON = new ObjectMapper();

    private ClaimBench() {
    }

    record Sample(double claimMs, double firstByteMs, boolean warm) {
    }

    public static void main(String[] args) throws Exception {
        int claims = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        Path dir = Files.createTempDirectory("alk-claim-bench");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
        Files.writeString(dir.resolve("airlock.yaml"), "version: 1\nproject: bench\nnetwork:\n  allow: [example.test]\n"
                + "resources: { memory: 512MiB, cpus: 1, pids: 256 }\n");
        Files.writeString(dir.resolve("hosts"), "");
        List<Sample> warm = side(dir, "warm", 2, claims);
        List<Sample> cold = side(dir, "cold", 0, claims);
        System.out.printf(Locale.ROOT, "%n%-38s %10s %10s %10s%n", "claims=" + claims + " (ms)", "p50", "p99", "mean");
        row("warm claim (pool of 2)", warm, Sample::claimMs);
        row("cold start (no pool)", cold, Sample::claimMs);
        row("warm: claim answer -> first output", warm, Sample::firstByteMs);
        row("cold: claim answer -> first output", cold, Sample::firstByteMs);
        long warmHits = warm.stream().filter(Sample::warm).count();
        System.out.printf(Locale.ROOT, "warm side hit %d of %d claims warm%n", warmHits, warm.size());
        System.out.printf(Locale.ROOT, "cold/warm p50 ratio: %.0fx%n", pct(cold, Sample::claimMs, 0.5) / pct(warm, Sample::claimMs, 0.5));
    }

    private static List<Sample> side(Path dir, String name, int size, int claims) throws Exception {
        Path config = dir.resolve(name + ".yaml");
        Files.writeString(config, "version: 1\nstate: " + dir.resolve("state-" + name) + "\nhosts: hosts\nprojects:\n"
                + "  - policy: airlock.yaml\n    size: " + size + "\n    hardLimit: 8\n");
        List<Sample> out = new ArrayList<>();
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), System.err)) {
            DaemonClient c = DaemonClient.ifRunning(dir.resolve("state-" + name).resolve("daemon.sock")).orElseThrow();
            for (int i = 0; i < claims + 10; i++) {
                // every claim finds the pool full (warm side): this measures a claim, not a refill race
                while (ready(c) < size) {
                    Thread.sleep(5);
                }
                long t0 = System.nanoTime();
                DaemonClient.Response r = c.post("/v1/claims", JSON.createObjectNode().put("project", "bench"));
                long t1 = System.nanoTime();
                if (r.status() != 201) {
                    throw new IllegalStateException("claim failed: " + r.body());
                }
                String id = r.body().path("sandbox").asText();
                long[] first = {0};
                OutputStream stdout = new OutputStream() {
                    @Override
                    public void write(int b) {
                        write(new byte[] {(byte) b}, 0, 1);
                    }

                    @Override
                    public void write(byte[] b, int off, int len) {
                        if (first[0] == 0) {
                            first[0] = System.nanoTime();
                        }
                    }
                };
                c.exec(id, List.of("echo", "x"), Map.of(), new ByteArrayInputStream(new byte[0]), stdout, OutputStream.nullOutputStream());
                c.delete("/v1/sandboxes/" + id);
                if (i >= 10) { // the first ten warm the JIT
                    out.add(new Sample((t1 - t0) / 1e6, (first[0] - t1) / 1e6, r.body().path("warm").asBoolean()));
                }
            }
        }
        return out;
    }

    private static int ready(DaemonClient c) throws Exception {
        JsonNode p = c.get("/v1/status").body().path("projects").get(0);
        return p.path("ready").asInt();
    }

    private static void row(String label, List<Sample> s, java.util.function.ToDoubleFunction<Sample> f) {
        System.out.printf(Locale.ROOT, "%-38s %10.2f %10.2f %10.2f%n", label, pct(s, f, 0.5), pct(s, f, 0.99),
                s.stream().mapToDouble(f).average().orElse(Double.NaN));
    }

    private static double pct(List<Sample> s, java.util.function.ToDoubleFunction<Sample> f, double q) {
        List<Double> v = new ArrayList<>(s.stream().map(f::applyAsDouble).toList());
        Collections.sort(v);
        return v.get(Math.max(0, (int) Math.ceil(q * v.size()) - 1));
    }
}
