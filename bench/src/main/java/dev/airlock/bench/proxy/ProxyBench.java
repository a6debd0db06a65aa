package dev.airlock.bench.proxy;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Load harness for the egress gateway's explicit proxy, compared with Squid and tinyproxy on the
 * same loopback origin: CONNECT bulk throughput, new tunnels per second with latency, and memory
 * with thousands of idle tunnels. {@code bench/run-proxy-bench.sh} starts the origin and each
 * proxy in turn, calls {@code measure} for each, and prints the table; run it rather than this:
 *
 * <pre>
 *   bench/run-proxy-bench.sh            # about 5 minutes; docs/BENCHMARKS.md has a sample
 * </pre>
 *
 * Subcommands (all options are {@code --name value}):
 * <ul>
 *   <li>{@code origin --source-port P --echo-port P}: the loopback origin, until killed;
 *   <li>{@code gateway --policy F [--org F] --hosts F --listen A:P --audit-log F --threads N --tunnels N}:
 *       Airlock's gateway server with its tunnel limits raised (idle-tunnel row only);
 *   <li>{@code measure --name S --out F --source-port P --echo-port P [--proxy A:P --target-host H | --tcp-relay A:P]
 *       [--pid PID [--jcmd PATH]] [--tests tput1,tput4,rate,idle] [--warmup S] [--duration S]
 *       [--clients N] [--idle-tunnels N]}: measures one subject and appends to the results file;
 *   <li>{@code report F}: prints the comparison table.
 * </ul>
 */
public final class ProxyBench {

    /** Streams for the second throughput figure: the "4 streams". */
    private static final int MANY_STREAMS = 4;

    private ProxyBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            System.err.println("usage: ProxyBench origin|gateway|measure|report ... (see the class javadoc)");
            System.exit(2);
        }
        Map<String, String> o = options(args);
        switch (args[0]) {
            case "origin" -> Origin.run(loopback(o, "source-port"), loopback(o, "echo-port"),
                    Integer.parseInt(o.getOrDefault("threads", "2")));
            case "gateway" -> RaisedLimitsGateway.run(Path.of(need(o, "policy")), java.util.Optional.ofNullable(o.get("org")).map(Path::of),
                    Path.of(need(o, "hosts")),
                    address(need(o, "listen")), Path.of(need(o, "audit-log")), Integer.parseInt(o.getOrDefault("threads", "2")),
                    Integer.parseInt(need(o, "tunnels")));
            case "measure" -> System.exit(measure(o, System.err));
            case "report" -> Report.print(Path.of(args[1]), System.out);
            default -> {
                System.err.println("unknown subcommand " + args[0]);
                System.exit(2);
            }
        }
    }

    private static int measure(Map<String, String> o, PrintStream log) throws Exception {
        String name = need(o, "name");
        Path out = Path.of(need(o, "out"));
        Optional<InetSocketAddress> proxy = Optional.ofNullable(o.get("proxy")).map(ProxyBench::address);
        Optional<InetSocketAddress> tcpRelay = Optional.ofNullable(o.get("tcp-relay")).map(ProxyBench::address);
        Route route = new Route(proxy, tcpRelay, o.getOrDefault("target-host", "127.0.0.1"), loopback(o, "source-port"),
                loopback(o, "echo-port"));
        Set<String> tests = Set.of(o.getOrDefault("tests", "tput,rate,idle").split(","));
        if (tcpRelay.isPresent() && (tests.contains("rate") || tests.contains("idle"))) {
            throw new IllegalArgumentException("--tcp-relay forwards to the source port only: give --tests tput1,tput4");
        }
        Duration warmup = Duration.ofSeconds(Long.parseLong(o.getOrDefault("warmup", "5")));
        Duration duration = Duration.ofSeconds(Long.parseLong(o.getOrDefault("duration", "10")));
        int clients = Integer.parseInt(o.getOrDefault("clients", "16"));
        Optional<ProcessProbe> probe = Optional.ofNullable(o.get("pid"))
                .map(pid -> new ProcessProbe(Long.parseLong(pid), Optional.ofNullable(o.get("jcmd")).map(Path::of)));
        Measurements m = new Measurements(route, probe, log);
        if (!Report.read(out).getOrDefault(name, Map.of()).containsKey(Report.ROUTE)) {
            Report.append(out, name, Report.ROUTE, route.describe());
        }
        log.printf("== %s: %s%n", name, route.describe());

        for (int streams : List.of(1, MANY_STREAMS)) {
            if (tests.contains("tput") || tests.contains("tput" + streams)) {
                Measurements.Throughput t = m.throughput(streams, warmup, duration);
                log.printf(Locale.ROOT, "  bulk, %d stream(s): %.0f MiB/s, proxy CPU %.2f cores %s%n", streams, t.mibPerSecond(),
                        t.proxyCores(), t.error());
                Report.append(out, name, streams == 1 ? Report.TPUT_1 : Report.TPUT_4, t.mibPerSecond());
                Report.append(out, name, streams == 1 ? Report.TPUT_1_CPU : Report.TPUT_4_CPU, t.proxyCores());
                if (!t.error().isEmpty()) {
                    Report.append(out, name, Report.ERROR, streams + " stream(s): " + t.error());
                }
            }
        }
        if (tests.contains("rate")) {
            Measurements.Rate r = m.tunnelRate(clients, warmup, duration);
            long failed = r.errors().values().stream().mapToLong(Long::longValue).sum();
            log.printf(Locale.ROOT, "  tunnels: %.0f/s, echo p50 %.2f ms p99 %.2f ms p99.9 %.2f ms, 200 p50 %.2f p99 %.2f, "
                    + "proxy CPU %.2f cores = %.0f µs/tunnel, failed %d %s%n",
                    r.perSecond(), r.percentileMs(r.toEcho(), 50), r.percentileMs(r.toEcho(), 99),
                    r.percentileMs(r.toEcho(), 99.9),
                    r.percentileMs(r.toStatus(), 50), r.percentileMs(r.toStatus(), 99), r.proxyCores(), r.cpuMicrosPerTunnel(),
                    failed, r.errors());
            Report.append(out, name, Report.RATE_CPU_US, r.cpuMicrosPerTunnel());
            Report.append(out, name, Report.RATE, r.perSecond());
            Report.append(out, name, Report.CLIENTS, clients);
            Report.append(out, name, Report.ECHO_P50, r.percentileMs(r.toEcho(), 50));
            Report.append(out, name, Report.ECHO_P99, r.percentileMs(r.toEcho(), 99));
            Report.append(out, name, Report.ECHO_P999, r.percentileMs(r.toEcho(), 99.9));
            Report.append(out, name, Report.STATUS_P50, r.percentileMs(r.toStatus(), 50));
            Report.append(out, name, Report.STATUS_P99, r.percentileMs(r.toStatus(), 99));
            Report.append(out, name, Report.RATE_FAILED, failed);
            Report.append(out, name, Report.RATE_ERRORS, r.errors());
        }
        if (tests.contains("idle")) {
            if (!o.containsKey("pid")) {
                throw new IllegalArgumentException("the idle measurement needs --pid of the proxy");
            }
            Measurements.Idle idle = m.idleTunnels(Integer.parseInt(o.getOrDefault("idle-tunnels", "10000")), probe.get());
            Report.append(out, name, Report.IDLE_REQUESTED, idle.requested());
            Report.append(out, name, Report.IDLE_OPENED, idle.opened());
            Report.append(out, name, Report.IDLE_ERRORS, idle.errors());
            Report.append(out, name, Report.IDLE_RAMP_S, String.format(Locale.ROOT, "%.1f", idle.rampSeconds()));
            Report.append(out, name, Report.IDLE_VERIFIED, idle.echoing() + " of " + idle.sampled() + " sampled tunnels echoed");
            Report.append(out, name, Report.RSS_BEFORE, idle.before().rssKiB());
            Report.append(out, name, Report.RSS, idle.after().rssKiB());
            Report.append(out, name, Report.THREADS, idle.after().threads());
            Report.append(out, name, Report.FDS, idle.after().openFiles());
            idle.before().heap().ifPresent(h -> append(out, name, Report.HEAP_BEFORE, h.usedKiB()));
            idle.after().heap().ifPresent(h -> {
                append(out, name, Report.HEAP, h.usedKiB());
                append(out, name, Report.HEAP_COMMITTED, h.committedKiB());
            });
            log.printf(Locale.ROOT, "  idle: %d of %d open in %.1f s, %d of %d sampled echo, errors %s%n", idle.opened(),
                    idle.requested(), idle.rampSeconds(), idle.echoing(), idle.sampled(), idle.errors());
        }
        return 0;
    }

    private static void append(Path out, String name, String key, Object value) {
        try {
            Report.append(out, name, key, value);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static Map<String, String> options(String[] args) {
        Map<String, String> o = new HashMap<>();
        for (int i = 1; i < args.length; i++) {
            if (args[i].startsWith("--")) {
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(args[i] + " needs a value");
                }
                o.put(args[i].substring(2), args[++i]);
            }
        }
        return o;
    }

    private static String need(Map<String, String> o, String key) {
        String v = o.get(key);
        if (v == null) {
            throw new IllegalArgumentException("--" + key + " is required");
        }
        return v;
    }

    private static InetSocketAddress loopback(Map<String, String> o, String key) {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), Integer.parseInt(need(o, key)));
    }

    private static InetSocketAddress address(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException(hostPort + ": write ADDRESS:PORT");
        }
        return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    }
}
