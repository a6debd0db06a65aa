import dev.airlock.gateway.audit.AuditLog;
import dev.airlock.gateway.dns.DnsAnswerer;
import dev.airlock.gateway.dns.DnsResponder;
import dev.airlock.gateway.proxy.Gateway;
import dev.airlock.gateway.proxy.GatewayLimits;
import dev.airlock.gateway.proxy.GatewayMetrics;
import dev.airlock.gateway.registry.SandboxRegistry;
import dev.airlock.gateway.resolve.CachingResolver;
import dev.airlock.gateway.resolve.HostsFile;
import dev.airlock.gateway.resolve.Resolver;
import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.sandbox.GatewayPorts;
import dev.airlock.sandbox.PreparedSandbox;
import dev.airlock.sandbox.Resources;
import dev.airlock.sandbox.SandboxLauncher;
import dev.airlock.sandbox.SandboxSpec;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Sandbox start harness for bench/run-sandbox-bench.sh (not part of the Maven build: compiled by
 * the script against cli/target/airlock.jar, which holds every module). Two modes:
 *
 * <pre>
 *   prepare N STATE WORKSPACE [hold]
 *       N x SandboxLauncher.prepare() then destroy() in one warm JVM, dummy gateway ports (nothing
 *       listens: no packet is ever sent). Also N x checkHost() and reap(), the other sandbox work
 *       of `airlock run`. With "hold", one extra sandbox stays prepared for the whole loop, so the
 *       host-wide TPROXY rule exists and is neither added nor dropped per sandbox (the steady state
 *       of a host that runs several sandboxes). Without it, also N x claim() of `true` in a prepared
 *       sandbox until it exits. Prints one TSV line per measure:
 *       name, n, median ms, p99 ms, min, max, first (the cold first call).
 *   phases T0 STATE WORKSPACE POLICY HOSTS
 *       One cold `airlock run -- true`, step by step as SandboxRun does it, each step timed;
 *       T0 is the shell's $EPOCHREALTIME just before `java` was started, so "jvm" is the JVM's
 *       own start up to main(). Prints one TSV line: name=ms pairs.
 * </pre>
 */
public final class SandboxStartBench {

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "prepare" -> prepare(Integer.parseInt(args[1]), Path.of(args[2]), Path.of(args[3]), args.length > 4 && args[4].equals("hold"));
            case "phases" -> phases(args[1], Path.of(args[2]), Path.of(args[3]), Path.of(args[4]), Path.of(args[5]));
            default -> throw new IllegalArgumentException("mode: prepare | phases");
        }
        System.exit(0);
    }

    // ---------------------------------------------------------------------------------------------

    private static void prepare(int n, Path state, Path workspace, boolean hold) throws Exception {
        SandboxLauncher.checkHost();
        // Dummy ports: prepare() only writes them into the rules; nothing connects to them.
        SandboxSpec spec = new SandboxSpec("bench", workspace, Resources.DEFAULT, new GatewayPorts(65001, 65002));
        double[] prep = new double[n];
        double[] dest = new double[n];
        double[] check = new double[n];
        double[] reap = new double[n];
        try (SandboxLauncher launcher = SandboxLauncher.system(state)) {
            launcher.reap();
            PreparedSandbox held = hold ? launcher.prepare(spec) : null;
            for (int i = 0; i < n; i++) {
                long t0 = System.nanoTime();
                PreparedSandbox p = launcher.prepare(spec);
                long t1 = System.nanoTime();
                launcher.destroy(p);
                long t2 = System.nanoTime();
                SandboxLauncher.checkHost();
                long t3 = System.nanoTime();
                launcher.reap();
                long t4 = System.nanoTime();
                prep[i] = (t1 - t0) / 1e6;
                dest[i] = (t2 - t1) / 1e6;
                check[i] = (t3 - t2) / 1e6;
                reap[i] = (t4 - t3) / 1e6;
            }
            double[] claim = new double[n];
            if (!hold) {
                // The command's share once a sandbox is prepared (what a pool of prepared sandboxes
                // would leave on the critical path): claim() of `true` until it has exited.
                for (int i = 0; i < n; i++) {
                    PreparedSandbox p = launcher.prepare(spec);
                    long t0 = System.nanoTime();
                    Process proc = launcher.claim(p, List.of("true"), Map.of(), ProcessBuilder.Redirect.from(new java.io.File("/dev/null")),
                            ProcessBuilder.Redirect.DISCARD, ProcessBuilder.Redirect.INHERIT);
                    int code = proc.waitFor();
                    claim[i] = (System.nanoTime() - t0) / 1e6;
                    launcher.destroy(p);
                    if (code != 0) {
                        throw new IllegalStateException("true exited " + code + " in the sandbox");
                    }
                }
            }
            if (held != null) {
                launcher.destroy(held);
            }
            String tag = hold ? " (another sandbox held)" : "";
            print("prepare()" + tag, prep);
            print("destroy()" + tag, dest);
            print("prepare()+destroy()" + tag, sum(prep, dest));
            if (!hold) {
                print("checkHost()", check);
                print("reap()", reap);
                print("claim() of true, until it exits", claim);
            }
        }
    }

    private static double[] sum(double[] a, double[] b) {
        double[] s = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            s[i] = a[i] + b[i];
        }
        return s;
    }

    private static void print(String name, double[] v) {
        double first = v[0];
        double[] s = v.clone();
        Arrays.sort(s);
        System.out.printf("%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f%n", name, s.length, median(s), p99(s), s[0], s[s.length - 1], first);
    }

    static double median(double[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** Nearest rank: with 50 samples, the largest. */
    static double p99(double[] sorted) {
        return sorted[(int) Math.ceil(0.99 * sorted.length) - 1];
    }

    // ---------------------------------------------------------------------------------------------

    private static void phases(String t0, Path state, Path workspace, Path policy, Path hosts) throws Exception {
        long startNanos = System.nanoTime();
        Instant now = Instant.now();
        double jvm = (now.getEpochSecond() * 1e6 + now.getNano() / 1e3 - Double.parseDouble(t0) * 1e6) / 1e3;
        Map<String, Double> t = new LinkedHashMap<>();
        t.put("jvm", jvm);
        long[] last = {startNanos};
        java.util.function.Consumer<String> lap = name -> {
            long x = System.nanoTime();
            t.put(name, (x - last[0]) / 1e6);
            last[0] = x;
        };

        SandboxLauncher.checkHost();
        lap.accept("checkHost");
        ProjectPolicy project = PolicyFiles.loadProject(policy);
        PolicyEngine engine = PolicyEngine.compile(project, OrgPolicy.NONE, Phase.RUN, List.of());
        Resolver resolver = CachingResolver.of(HostsFile.load(hosts));
        lap.accept("policy");
        int code;
        try (SandboxLauncher launcher = SandboxLauncher.system(state.resolve("sandboxes"))) {
            launcher.reap();
            lap.accept("reap");
            AuditLog audit = AuditLog.open(state.resolve("audit.log"), Clock.systemUTC());
            SandboxRegistry registry = new SandboxRegistry();
            Gateway gateway = new Gateway(new Gateway.Config(resolver, audit, GatewayMetrics.inMemory(), GatewayLimits.DEFAULT, 2,
                    false, policy.toString()), registry);
            InetAddress any = InetAddress.getByName("0.0.0.0");
            int transparentPort = gateway.transparentListener(new InetSocketAddress(any, 0)).getPort();
            gateway.explicitOnTransparent(3128);
            DnsResponder dns = new DnsResponder(DnsResponder.Settings.defaults(new InetSocketAddress(any, 0)), registry,
                    new DnsAnswerer(resolver), audit);
            dns.start();
            lap.accept("gateway");
            ProjectPolicy.Resources r = project.resources();
            PreparedSandbox p = launcher.prepare(new SandboxSpec(project.project(), workspace, new Resources(r.memoryBytes(), r.cpus(), r.pids()),
                    new GatewayPorts(transparentPort, dns.udpPort())));
            registry.register(p.id(), project.project(), List.of(p.sandboxAddress()), List.of(p.hostAddress()), engine);
            lap.accept("prepare");
            Map<String, String> env = new LinkedHashMap<>();
            env.put("HTTP_PROXY", "http://" + p.hostAddress() + ":3128");
            Process process = launcher.claim(p, List.of("true"), env, ProcessBuilder.Redirect.INHERIT, ProcessBuilder.Redirect.INHERIT,
                    ProcessBuilder.Redirect.INHERIT);
            lap.accept("claim");
            code = process.waitFor();
            lap.accept("command");
            launcher.destroy(p);
            lap.accept("destroy");
            dns.close();
            gateway.close();
            audit.close();
            lap.accept("close");
        }
        List<String> out = new ArrayList<>();
        t.forEach((k, v) -> out.add(k + "=" + String.format("%.1f", v)));
        out.add("exit=" + code);
        System.out.println(String.join("\t", out));
        System.out.flush();
        // As the CLI's Main does: System.exit, so lingering non-daemon threads do not hold the JVM.
        System.exit(0);
    }
}
