package dev.airlock.bench.pool;

import dev.airlock.server.DaemonConfig;
import dev.airlock.server.DaemonServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Pool fill time on a project image against the host root, in one run (issue 20, docs/images.md
 * "Cost"): a daemon starts with an empty pool of {@code size} members for a project without
 * {@code image:} or with one, and the time from the start to {@code size} members ready is one
 * sample (read from the pool's {@code airlock.pool.ready} gauge, polled every 5 ms). The sides
 * take turns, the order swapped each round (background load hits both alike); each side keeps its
 * state directory, so the image is unpacked once, in the first (untimed) round.
 * Root only; it builds real sandboxes and destroys them when each daemon closes. Nothing leaves the
 * machine: the policy allows nothing and the hosts file is empty.
 *
 * <p>Run: {@code sudo bench/pool/run-fill-bench.sh [ROUNDS] [SIZE]} (defaults 10 and 4).
 */
public final class PoolFillBench {

    private static final List<String> SIDES = List.of("host", "image");

    private PoolFillBench() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int size = args.length > 1 ? Integer.parseInt(args[1]) : 4;
        Path layout = Path.of(System.getProperty("airlock.bench.image", "")).toAbsolutePath();
        if (!Files.isRegularFile(layout.resolve("index.json"))) {
            throw new IllegalArgumentException("-Dairlock.bench.image must name an OCI layout with tag bench (scripts/make-test-image.sh)");
        }
        Path dir = Files.createTempDirectory("alk-fill-bench");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
        Files.createSymbolicLink(dir.resolve("images"), layout.getParent());
        String policy = "version: 1\nproject: bench\nresources: { memory: 512MiB, cpus: 1, pids: 256 }\n";
        Files.writeString(dir.resolve("host.yaml"), policy);
        Files.writeString(dir.resolve("image.yaml"), policy + "image: { oci: images/" + layout.getFileName() + ", tag: bench }\n");
        Files.writeString(dir.resolve("hosts"), "");
        Map<String, List<Double>> ms = new LinkedHashMap<>();
        SIDES.forEach(s -> ms.put(s, new ArrayList<>()));
        try {
            for (int round = 0; round <= rounds; round++) {
                List<String> order = round % 2 == 0 ? SIDES : SIDES.reversed();
                for (String side : order) {
                    double t = fill(dir, side, size);
                    if (round > 0) { // round 0 unpacks the image and warms the JIT
                        ms.get(side).add(t);
                    }
                    System.err.printf(Locale.ROOT, "round %d %s: %.0f ms%n", round, side, t);
                }
            }
            long store;
            try (var files = Files.walk(dir.resolve("state-image/images"))) {
                store = files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
            }
            System.out.printf(Locale.ROOT, "store: %.1f MB in %d image entry for the image side%n", store / 1e6,
                    Files.list(dir.resolve("state-image/images")).filter(p -> p.getFileName().toString().startsWith("sha256-")).count());
        } finally {
            if (!"1".equals(System.getenv("KEEP"))) {
                dev.airlock.sandbox.LinkSafeFiles.deleteTree(dir);
            }
        }
        System.out.printf(Locale.ROOT, "pool fill to %d ready members, host root vs image (rounds=%d, %d CPUs, load %s)%n", size, rounds,
                Runtime.getRuntime().availableProcessors(), Files.readString(Path.of("/proc/loadavg")).strip());
        for (String side : SIDES) {
            List<Double> v = new ArrayList<>(ms.get(side));
            Collections.sort(v);
            System.out.printf(Locale.ROOT, "%-6s rounds %d  median %.0f ms  p90 %.0f ms  min %.0f ms  max %.0f ms%n", side, v.size(),
                    median(v), v.get(Math.max(0, (int) Math.ceil(0.9 * v.size()) - 1)), v.get(0), v.get(v.size() - 1));
        }
        System.out.printf(Locale.ROOT, "image/host median ratio: %.2f%n", median(ms.get("image")) / median(ms.get("host")));
    }

    /** Starts a daemon for {@code side} with an empty pool of {@code size}; ms until all are ready. */
    private static double fill(Path dir, String side, int size) throws Exception {
        Path state = dir.resolve("state-" + side);
        Path config = dir.resolve("daemon-" + side + ".yaml");
        Files.writeString(config, "version: 1\nstate: " + state + "\nhosts: hosts\naudits: false\nprojects:\n  - policy: " + side
                + ".yaml\n    size: " + size + "\n    hardLimit: " + (size + 2) + "\n");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        long t0 = System.nanoTime();
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), new PrintStream(log, true, StandardCharsets.UTF_8))) {
            // The pool's own gauge, not /v1/status: that one computes the image's digest on every call (the layout's
            // index.json read and parsed), which would load the image side's daemon more than the host side's.
            io.micrometer.core.instrument.Gauge ready = server.daemon().meters().get("airlock.pool.ready").tag("project", "bench").gauge();
            long deadline = t0 + 300_000_000_000L;
            while (ready.value() < size) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(side + ": the pool did not fill in 300 s; daemon log:\n" + log);
                }
                Thread.sleep(5);
            }
            return (System.nanoTime() - t0) / 1e6;
        }
    }

    private static double median(List<Double> values) {
        List<Double> v = new ArrayList<>(values);
        Collections.sort(v);
        int n = v.size();
        return n % 2 == 1 ? v.get(n / 2) : (v.get(n / 2 - 1) + v.get(n / 2)) / 2;
    }
}
