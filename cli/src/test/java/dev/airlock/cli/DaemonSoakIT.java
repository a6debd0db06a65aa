package dev.airlock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.airlock.server.DaemonClient;
import dev.airlock.server.DaemonConfig;
import dev.airlock.server.DaemonServer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bounded soak of issue 17, against the real kernel, as an operator uses the daemon: a few
 * hundred pooled runs from concurrent clients in bursts separated by idle gaps longer than every
 * thread keep-alive (the daemon's pool threads are shortened to 2 s so that short gaps outlast
 * them; one gap of 65 s outlasts the JVM's own: virtual-thread carriers 30 s, process reapers
 * 60 s), a {@code kill -9} of the daemon in the middle of a burst, {@code airlock gc}, a restart and
 * one more burst. It ends with:
 * <ul>
 * <li>every client's first claim after every idle gap warm;
 * <li>{@code airlock log verify} intact, and exactly one decision record per decision a client saw
 *     (at most one for a run the kill interrupted);
 * <li>nothing left: no lease, namespace, cgroup or member workspace of any sandbox it saw.
 * </ul>
 * Its figures go to stderr as {@code SOAK …} lines (docs/BENCHMARKS.md quotes them). Knobs for a
 * longer run by hand: {@code -Dairlock.soak.rounds}, {@code .clients}, {@code .runs}, {@code .gapMs},
 * {@code .longGapMs}.
 */
class DaemonSoakIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    static final int ROUNDS = Integer.getInteger("airlock.soak.rounds", 10);
    static final int CLIENTS = Integer.getInteger("airlock.soak.clients", 3);
    static final int RUNS = Integer.getInteger("airlock.soak.runs", 8);
    static final long GAP_MS = Long.getLong("airlock.soak.gapMs", 3_000);
    static final long LONG_GAP_MS = Long.getLong("airlock.soak.longGapMs", 65_000);
    /** The daemon's pool threads end after this much idleness (shorter than {@link #GAP_MS}). */
    static final String KEEP_ALIVE = "PT2S";
    /** One denied request through the explicit proxy: one decision, and the client sees its 403. */
    static final List<String> COMMAND = List.of("/bin/bash", "-c", "gw=${HTTP_PROXY#http://}; exec 3<>/dev/tcp/${gw%:*}/${gw#*:};"
            + " printf 'GET http://prod.example.test/ HTTP/1.1\\r\\nHost: prod.example.test\\r\\n\\r\\n' >&3; head -1 <&3 | cut -c1-12");

    @TempDir
    Path tmp;

    /** One run as its client saw it. */
    record Run(String sandbox, boolean warm, boolean firstAfterGap, boolean denied, boolean completed, String error) {
    }

    final List<Run> runs = Collections.synchronizedList(new ArrayList<>());
    final Set<String> seen = ConcurrentHashMap.newKeySet();
    final List<Child> cold = new ArrayList<>();

    Child coldRunQuietly() {
        try {
            return coldRun();
        } catch (IOException | InterruptedException e) {
            return new Child(-1, "", e.toString());
        }
    }

    static void requireRoot() {
        SandboxHostRequired.require("the soak");
    }

    Path writeConfig() throws IOException {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        Files.writeString(tmp.resolve("airlock.yaml"), String.join("\n", "version: 1", "project: soak", "network:",
                "  allow: [allowed.example.test]", "resources: { memory: 256MiB, cpus: 1, pids: 128 }", ""));
        Files.writeString(tmp.resolve("org.yaml"), String.join("\n", "version: 1", "production:", "  - cidr: 198.19.251.0/24", ""));
        Files.writeString(tmp.resolve("hosts"), "198.19.251.1 prod.example.test\n");
        Files.writeString(tmp.resolve("daemon.yaml"), String.join("\n", "version: 1", "state: " + tmp.resolve("state"), "org: org.yaml",
                "hosts: hosts", "audits: false", "projects:", "  - policy: airlock.yaml", "    size: " + CLIENTS, "    hardLimit: 32", ""));
        return tmp.resolve("daemon.yaml");
    }

    static void eventually(BooleanSupplier c, String what) throws InterruptedException {
        for (int i = 0; i < 1200 && !c.getAsBoolean(); i++) {
            Thread.sleep(50);
        }
        assertThat(c.getAsBoolean()).as(what).isTrue();
    }

    /**
     * An idle gap: the pool refills after the burst, then its full members sit idle for longer than
     * the pool threads' keep-alive. What is under test is that idle members survive, not how fast a
     * loaded machine refills, so the gap is counted from the moment the pool is full again.
     */
    private void idleGap(Path socket) throws Exception {
        eventually(() -> ready(socket) == CLIENTS, "the pool refilled after the burst");
        Thread.sleep(GAP_MS);
    }

    static int ready(Path socket) {
        return DaemonClient.ifRunning(socket).map(c -> {
            try {
                return c.get("/v1/status").body().path("projects").get(0).path("ready").asInt();
            } catch (IOException | RuntimeException e) {
                return -1;
            }
        }).orElse(-1);
    }

    Run runOnce(DaemonClient c, boolean firstAfterGap) {
        List<JsonNode> started = new ArrayList<>();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            JsonNode last = c.run("soak", COMMAND, Map.of(), new ByteArrayInputStream(new byte[0]), out, OutputStream.nullOutputStream(),
                    started::add);
            String id = started.isEmpty() ? null : started.get(0).path("sandbox").asText();
            Optional.ofNullable(id).ifPresent(seen::add);
            return new Run(id, !started.isEmpty() && started.get(0).path("warm").asBoolean(), firstAfterGap,
                    out.toString(StandardCharsets.UTF_8).startsWith("HTTP/1.1 403"), last.has("exit"), null);
        } catch (IOException | dev.airlock.server.DaemonException | RuntimeException e) {
            String id = started.isEmpty() ? null : started.get(0).path("sandbox").asText();
            Optional.ofNullable(id).ifPresent(seen::add);
            return new Run(id, !started.isEmpty() && started.get(0).path("warm").asBoolean(), firstAfterGap, false, false, e.toString());
        }
    }

    /** {@link #CLIENTS} clients at once, {@link #RUNS} runs each; returns the runs. */
    List<Run> burst(Path socket, ExecutorService pool) throws Exception {
        List<Future<List<Run>>> clients = new ArrayList<>();
        // No client starts its second run before every client's first claim is done: otherwise a fast
        // client's second claim can take the member a slow client's first claim was meant to find,
        // and a drained pool would pass for one whose members died while idle.
        CountDownLatch firstClaims = new CountDownLatch(CLIENTS);
        for (int k = 0; k < CLIENTS; k++) {
            clients.add(pool.submit(() -> {
                DaemonClient c = DaemonClient.ifRunning(socket).orElseThrow();
                List<Run> mine = new ArrayList<>();
                for (int i = 0; i < RUNS; i++) {
                    Run r = runOnce(c, i == 0); // never throws: a failure is a Run with its error
                    if (i == 0) {
                        firstClaims.countDown();
                    }
                    mine.add(r);
                    if (!r.completed()) {
                        break; // the daemon is gone
                    }
                    if (i == 0) {
                        firstClaims.await(2, TimeUnit.MINUTES);
                    }
                }
                return mine;
            }));
        }
        List<Run> all = new ArrayList<>();
        for (Future<List<Run>> f : clients) {
            all.addAll(f.get(10, TimeUnit.MINUTES));
        }
        runs.addAll(all);
        return all;
    }

    static int threads(long pid) throws IOException {
        return Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream().filter(l -> l.startsWith("Threads:"))
                .mapToInt(l -> Integer.parseInt(l.substring(8).trim())).findFirst().orElse(-1);
    }

    static List<String> leasesOf(long pid) throws IOException {
        Path dir = Path.of("/run/airlock/sandbox");
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().matches("alk[0-9a-f]{8}\\.json")).filter(p -> {
                try {
                    return Files.readString(p).contains("\"ownerPid\": " + pid + ",");
                } catch (IOException e) {
                    return false;
                }
            }).map(p -> p.getFileName().toString().substring(0, 11)).toList();
        }
    }

    List<Path> memberWorkspaces() throws IOException {
        Path root = tmp.resolve("state-workspaces");
        List<Path> out = new ArrayList<>();
        if (Files.isDirectory(root)) {
            try (Stream<Path> projects = Files.list(root)) {
                for (Path p : projects.toList()) {
                    try (Stream<Path> ws = Files.list(p)) {
                        ws.filter(w -> w.getFileName().toString().startsWith("w-")).forEach(out::add);
                    }
                }
            }
        }
        return out;
    }

    /** Every kernel object and file a sandbox id could leave. */
    static List<String> objectsOf(String id) {
        List<String> left = new ArrayList<>();
        String hex = id.substring(3);
        for (Path p : List.of(Path.of("/run/netns", id), Path.of("/sys/class/net", id + "h"), Path.of("/run/airlock/sandbox", id + ".json"),
                Path.of("/sys/fs/cgroup", id))) {
            if (Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                left.add(p.toString());
            }
        }
        try {
            Process nft = new ProcessBuilder("nft", "list", "table", "inet", "alk_" + hex).redirectErrorStream(true).start();
            nft.getInputStream().readAllBytes();
            if (nft.waitFor() == 0) {
                left.add("nft table inet alk_" + hex);
            }
        } catch (IOException | InterruptedException e) {
            left.add("nft unreadable: " + e);
        }
        return left;
    }

    /** What a CLI command in its own JVM did. */
    record Child(int code, String out, String err) {
    }

    /** The CLI as an operator runs it: its own JVM, {@code AIRLOCK_STATE} naming the daemon's state directory. */
    Child cli(String... args) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-cp",
                System.getProperty("java.class.path"), Main.class.getName()));
        argv.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(argv).directory(tmp.toFile()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().put("AIRLOCK_STATE", tmp.resolve("state").toString());
        Path err = Files.createTempFile(tmp, "cli", ".err");
        pb.redirectError(err.toFile());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int code = p.waitFor();
        return new Child(code, out, Files.readString(err));
    }

    /** A cold run beside the daemon (issue 17: the daemon plus one cold run broke the chain), on its own workspace. */
    Child coldRun() throws IOException, InterruptedException {
        Path ws = Files.createDirectories(tmp.resolve("cold-workspace"));
        Files.setPosixFilePermissions(ws, PosixFilePermissions.fromString("rwxr-xr-x"));
        List<String> args = new ArrayList<>(List.of("run", "--no-daemon", "--policy", "airlock.yaml", "--org", "org.yaml", "--hosts", "hosts",
                "--workspace", ws.toString(), "--"));
        args.addAll(COMMAND);
        return cli(args.toArray(String[]::new));
    }

    Process startChildDaemon(Path config) throws IOException {
        return new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-Dairlock.daemon.threadKeepAlive=" + KEEP_ALIVE,
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "daemon", "--config", config.toString())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("daemon-a.log").toFile()).start();
    }

    @Test
    void soak_idleGapsConcurrentClientsAndAKillNine_claimsAfterGapsWarm_auditWhole_nothingLeft() throws Exception {
        requireRoot();
        Path config = writeConfig();
        Path socket = tmp.resolve("state/daemon.sock");
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
        List<String> threadSamples = new ArrayList<>();
        long started = System.nanoTime();

        // daemon A: its own JVM, so that it can be killed with SIGKILL
        Process a = startChildDaemon(config);
        List<String> aWorkspaces;
        List<String> aLeases;
        try {
            eventually(() -> ready(socket) == CLIENTS, "daemon A filled its pool");
            Thread.sleep(LONG_GAP_MS);
            threadSamples.add("after " + LONG_GAP_MS / 1000 + " s idle: " + threads(a.pid()));
            burst(socket, pool);
            for (int round = 0; round < ROUNDS; round++) {
                idleGap(socket);
                threadSamples.add("round " + round + " idle: " + threads(a.pid()));
                if (round == ROUNDS / 2) {
                    // two cold runs on the same state directory, beside the daemon and its clients
                    java.util.concurrent.CompletableFuture<Child> c1 = java.util.concurrent.CompletableFuture.supplyAsync(this::coldRunQuietly);
                    java.util.concurrent.CompletableFuture<Child> c2 = java.util.concurrent.CompletableFuture.supplyAsync(this::coldRunQuietly);
                    burst(socket, pool);
                    cold.add(c1.get(5, TimeUnit.MINUTES));
                    cold.add(c2.get(5, TimeUnit.MINUTES));
                } else {
                    burst(socket, pool);
                }
            }
            idleGap(socket);
            threadSamples.add("before the kill, idle: " + threads(a.pid()));
            // kill -9 in the middle of a burst: once every client has started a run
            int before = seen.size();
            ExecutorService killed = Executors.newFixedThreadPool(CLIENTS);
            java.util.concurrent.CompletableFuture<List<Run>> inFlight = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return burst(socket, killed);
                } catch (Exception e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            });
            eventually(() -> seen.size() >= before + CLIENTS, "the last burst started");
            Thread.sleep(200);
            aLeases = leasesOf(a.pid());
            aWorkspaces = memberWorkspaces().stream().map(Path::toString).toList();
            a.destroyForcibly(); // SIGKILL: no shutdown hook runs
            assertThat(a.waitFor(30, TimeUnit.SECONDS)).isTrue();
            inFlight.get(5, TimeUnit.MINUTES);
            killed.shutdown();
        } finally {
            a.destroyForcibly();
        }
        assertThat(aLeases).as("daemon A held sandboxes when it was killed").isNotEmpty();

        // airlock gc, as an operator would run it (AIRLOCK_STATE names the daemon's state)
        ProcessBuilder gc = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-cp",
                System.getProperty("java.class.path"), Main.class.getName(), "gc").redirectErrorStream(true);
        gc.environment().put("AIRLOCK_STATE", tmp.resolve("state").toString());
        Process g = gc.start();
        String gcOut = new String(g.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(g.waitFor()).as(gcOut).isZero();
        assertThat(leasesOf(a.pid())).as("after gc").isEmpty();
        assertThat(aWorkspaces).as("daemon A's member workspaces after gc").noneMatch(w -> Files.exists(Path.of(w)));

        // daemon B: the restart
        System.setProperty("airlock.daemon.threadKeepAlive", KEEP_ALIVE);
        int afterRestart;
        try (DaemonServer b = DaemonServer.start(DaemonConfig.load(config), System.err)) {
            idleGap(socket);
            afterRestart = burst(socket, pool).size();
        } finally {
            System.clearProperty("airlock.daemon.threadKeepAlive");
        }
        pool.shutdown();
        double seconds = (System.nanoTime() - started) / 1e9;

        // 1. every claim after an idle gap was warm
        List<Run> firsts = runs.stream().filter(Run::firstAfterGap).filter(Run::completed).toList();
        long warmFirsts = firsts.stream().filter(Run::warm).count();
        long completed = runs.stream().filter(Run::completed).count();
        long warmAll = runs.stream().filter(Run::completed).filter(Run::warm).count();
        List<Run> interrupted = runs.stream().filter(r -> !r.completed()).toList();

        // 2. the audit log: intact, one decision record per decision
        // as the operator asks: the state directory's log, whatever files make it up
        Child verify = cli("log", "verify");
        Child all = cli("log", "--json");
        Map<String, Long> decisionsBySandbox = all.out().lines().filter(l -> !l.isBlank()).map(DaemonSoakIT::parse)
                .filter(n -> "decision".equals(n.path("event").asText()))
                .collect(Collectors.groupingBy(n -> n.path("sandbox").asText(), Collectors.counting()));
        long decisionsSeen = runs.stream().filter(Run::denied).count();
        long recordsOfSeen = runs.stream().filter(Run::denied).mapToLong(r -> decisionsBySandbox.getOrDefault(r.sandbox(), 0L)).sum();
        long recordsTotal = decisionsBySandbox.values().stream().mapToLong(Long::longValue).sum();
        long coldDenied = cold.stream().filter(c -> c.code() == 0 && c.out().startsWith("HTTP/1.1 403")).count();
        Map<String, Long> coldRecords = decisionsBySandbox.entrySet().stream().filter(e -> !seen.contains(e.getKey()))
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));

        // 3. nothing left
        List<String> left = new ArrayList<>();
        seen.forEach(id -> left.addAll(objectsOf(id)));
        coldRecords.keySet().stream().filter(id -> id.matches("alk[0-9a-f]{8}")).forEach(id -> left.addAll(objectsOf(id)));
        memberWorkspaces().forEach(w -> left.add(w.toString()));
        left.addAll(leasesOf(ProcessHandle.current().pid()));

        System.err.printf("SOAK runs=%d completed=%d interrupted-by-kill=%d warm=%d (%.1f%%) in %.0f s%n", runs.size(), completed,
                interrupted.size(), warmAll, 100.0 * warmAll / completed, seconds);
        System.err.printf("SOAK first claim after an idle gap: %d/%d warm (gaps: 1 x %d s, %d x %d s, 1 after the restart)%n", warmFirsts,
                firsts.size(), LONG_GAP_MS / 1000, ROUNDS + 1, GAP_MS / 1000);
        System.err.printf("SOAK decisions seen by clients=%d, their records=%d, decision records in the log=%d, log verify exit=%d%n",
                decisionsSeen, recordsOfSeen, recordsTotal, verify.code());
        System.err.printf("SOAK cold runs beside the daemon: %d, denied as expected: %d, their decision records: %d (%s)%n", cold.size(),
                coldDenied, coldRecords.values().stream().mapToLong(Long::longValue).sum(),
                cold.stream().map(c -> "exit " + c.code() + (c.code() == 0 ? "" : ": " + c.err().strip().lines().reduce((x, y) -> y).orElse("")))
                        .toList());
        System.err.printf("SOAK daemon A threads: %s%n", threadSamples);
        System.err.printf("SOAK sandboxes seen=%d, left after the end=%s; burst after the restart=%d runs%n", seen.size(), left, afterRestart);

        // the long gap, every round, the restart (the killed burst's first claims count when they completed)
        assertThat(firsts).as("first claims after idle gaps").hasSizeGreaterThanOrEqualTo((ROUNDS + 2) * CLIENTS);
        assertThat(firsts).as("every first claim after an idle gap").allMatch(Run::warm);
        assertThat(verify.code()).as("airlock log verify: " + verify.out() + verify.err()).isZero();
        assertThat(recordsOfSeen).as("one decision record per decision a client saw").isEqualTo(decisionsSeen);
        // issue 17 §2: every writer records into one logical log, and no run is refused because another writes
        assertThat(cold).as("cold runs beside the daemon: each ran, and its client saw the deny").allSatisfy(c -> {
            assertThat(c.code()).as(c.err()).isZero();
            assertThat(c.out()).startsWith("HTTP/1.1 403");
        });
        assertThat(coldRecords).as("one decision record per cold run's decision").hasSize((int) coldDenied).allSatisfy((id, n) -> assertThat(n).isEqualTo(1L));
        runs.stream().filter(Run::denied).forEach(r -> assertThat(decisionsBySandbox.get(r.sandbox())).as(r.sandbox()).isEqualTo(1L));
        interrupted.stream().filter(r -> r.sandbox() != null)
                .forEach(r -> assertThat(decisionsBySandbox.getOrDefault(r.sandbox(), 0L)).as("interrupted " + r.sandbox()).isLessThanOrEqualTo(1L));
        assertThat(left).as("objects and workspaces left").isEmpty();
    }

    static JsonNode parse(String line) {
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            throw new AssertionError("not a JSON record: " + line, e);
        }
    }
}
