package dev.airlock.gateway.kernel;

import static dev.airlock.gateway.kernel.Commands.run;
import static dev.airlock.gateway.kernel.Commands.stop;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.airlock.gateway.kernel.Commands.Daemon;
import dev.airlock.gateway.kernel.Commands.Pending;
import dev.airlock.gateway.kernel.Commands.Result;
import io.netty.channel.epoll.Epoll;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * The kernel side of a sandbox, built for one test class and removed on every path: a sandbox
 * namespace whose only link leads to the host, an origin namespace holding the test's "internet",
 * an nftables table that TPROXYs all of the sandbox's TCP to a listener in this JVM and drops
 * everything else it sends, and the policy route that delivers TPROXY'd packets locally.
 *
 * <pre>
 *  netns alk-t&lt;id&gt;-sbx             host namespace (this JVM: the gateway)            netns alk-t&lt;id&gt;-org
 *  alkt&lt;id&gt;s 198.19.254.2/30 ── alkt&lt;id&gt;h 198.19.254.1/30   alkt&lt;id&gt;o 198.18.0.1/24 ── alkt&lt;id&gt;g 198.18.0.2/24
 *  only route: default via .1    nft inet alk_t&lt;id&gt;: TPROXY tcp → gateway           + 198.18.0.10-.12 (origins)
 *  IPv6 off                      ip rule fwmark M lookup M; table M: local 0/0 dev lo  no default route
 * </pre>
 *
 * <p>Design: the cleanup guarantees.
 * <ul>
 *   <li>Every object carries "alk", a "t" for test, and the run's id ({@code <id>}, four hex digits):
 *       namespaces {@code alk-t<id>-sbx} and {@code alk-t<id>-org}; host links {@code alkt<id>h} and
 *       {@code alkt<id>o} (their peers {@code alkt<id>s} and {@code alkt<id>g} live in the
 *       namespaces); the nftables table {@code inet alk_t<id>}; the temporary directory
 *       {@code alk-t<id>-*}. The "t" keeps test objects apart from what the sandbox launcher names
 *       {@code alk...}. The policy route's fwmark and table number are both {@code 0x616c<id>}:
 *       "al" in ASCII, then the id (1634467840-1634533375), a range nothing else plausibly uses.
 *   <li>One run at a time per machine: a run holds an exclusive lock on {@value #LOCK} for its
 *       whole life (the kernel drops the lock when the process dies, even on kill -9). The addresses
 *       are fixed, so two runs could not share the machine anyway; and under the lock every object
 *       matching the exact patterns ({@code alk-t[0-9a-f]{4}-(sbx|org)}, {@code alkt[0-9a-f]{4}[ho]},
 *       {@code alk_t[0-9a-f]{4}}, rules "fwmark M lookup M" with M in the range) is an orphan of a
 *       dead run, reaped before anything is built.
 *   <li>{@link #close()} removes everything, on every path: the test's {@code @AfterAll}, a failed
 *       {@link #create()}, and a JVM shutdown hook (SIGTERM, SIGINT, a normal exit). Each step runs
 *       even when an earlier one failed, and close ends by listing what is left and failing if
 *       anything is. Only kill -9 skips it, and the next run reaps.
 *   <li>Processes are only ever ended through the {@link Process} handles {@link Commands} started (their
 *       own PIDs and their descendants), never by name. Long-lived ones ({@link Daemon}) also exit when
 *       their stdin closes, that is when this JVM dies.
 *   <li>Nothing without the prefix is ever deleted. Host-wide settings (ip_forward, rp_filter) are not
 *       touched: the table's own chains keep the host from forwarding the sandbox's packets, and to
 *       prove it the host end of the sandbox's link has forwarding on (a per-link setting).
 * </ul>
 *
 * <p>Before any traffic, {@link #create()} checks that every test address routes to the test's own
 * namespaces: nothing the tests send can leave the machine.
 */
final class TestNetwork implements AutoCloseable {

    /** Serialises runs across JVMs; kept (not deleted) so that waiting runs always lock the same file. */
    static final String LOCK = "/run/alk-kernel-it.lock";

    static final String HOST_LINK_ADDRESS = "198.19.254.1";
    static final String SANDBOX_LINK_ADDRESS = "198.19.254.2";
    static final String HOST_ORIGIN_SIDE = "198.18.0.1";
    static final String ORIGIN_LINK_ADDRESS = "198.18.0.2";
    /** The origins: benchmark-range addresses (RFC 2544), public-looking to the policy, never routed off the machine. */
    static final List<String> ORIGIN_HOSTS = List.of("198.18.0.10", "198.18.0.11", "198.18.0.12");

    /** "al" in ASCII: the high half of the fwmark and of the routing table number. */
    private static final int MARK_PREFIX = 0x616c_0000;
    private static final Pattern ORPHAN_NETNS = Pattern.compile("alk-t[0-9a-f]{4}-(sbx|org)");
    private static final Pattern ORPHAN_LINK = Pattern.compile("alkt[0-9a-f]{4}[ho]");
    private static final Pattern ORPHAN_TABLE = Pattern.compile("alk_t[0-9a-f]{4}");
    private static final Pattern ORPHAN_DIR = Pattern.compile("alk-t[0-9a-f]{4}-.*");
    private static final Path ETC_NETNS = Path.of("/etc/netns");
    /** Bounds every setup and cleanup command; they take milliseconds. */
    private static final Duration ADMIN_TIMEOUT = Duration.ofSeconds(20);
    /** How long a run waits for another run on the same machine to finish. */
    private static final Duration LOCK_WAIT = Duration.ofMinutes(15);
    private static final ObjectMapper JSON = new ObjectMapper();

    final String id;
    final String sandboxNs;
    final String originNs;
    final String hostLink;
    final String sandboxLink;
    final String originHostLink;
    final String originLink;
    final String table;
    final int mark;
    final Path dir;
    /** {@code ip netns exec} mounts the files here over /etc: the sandbox's resolv.conf. */
    final Path etcNetns;

    private final FileChannel lockFile;
    private final FileLock lock;
    private final List<Process> started = new CopyOnWriteArrayList<>();
    private final Thread hook = new Thread(this::closeQuietly, "alk-kernel-it-cleanup");
    private boolean createdEtcNetns;
    private boolean closed;

    // ---------------------------------------------------------------------------------------------
    // The environment

    /**
     * What this machine lacks for kernel tests, or empty. The tests call {@link #requireKernel(String...)}:
     * with {@code CI=true} a lack is a failure, elsewhere a skip that says what is missing.
     */
    static Optional<String> missingKernelSupport(String... tools) {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            return Optional.of("needs Linux (network namespaces, nftables TPROXY); this is " + System.getProperty("os.name"));
        }
        Map<String, String> status = procStatus();
        String[] uids = status.getOrDefault("Uid", "-1 -1").split("\\s+"); // real, effective, saved, filesystem
        if (uids.length < 2 || !"0".equals(uids[1])) {
            return Optional.of("needs root (effective uid 0) to create namespaces, links and nftables tables");
        }
        long caps = Long.parseUnsignedLong(status.getOrDefault("CapEff", "0").trim(), 16);
        // CAP_NET_ADMIN (12) for links, nftables and rules; CAP_SYS_ADMIN (21) for `ip netns` mounts.
        if ((caps & (1L << 12)) == 0 || (caps & (1L << 21)) == 0) {
            return Optional.of("needs CAP_NET_ADMIN and CAP_SYS_ADMIN (a container without --privileged lacks them)");
        }
        if (!Epoll.isAvailable()) {
            return Optional.of("needs Netty's native epoll transport for IP_TRANSPARENT: " + Epoll.unavailabilityCause());
        }
        List<String> need = new ArrayList<>(List.of("ip", "nft"));
        need.addAll(List.of(tools));
        List<String> absent = need.stream().filter(t -> onPath(t).isEmpty()).toList();
        if (!absent.isEmpty()) {
            return Optional.of("needs these commands on PATH: " + absent
                    + " (Debian: apt-get install iproute2 nftables curl iputils-ping)");
        }
        // nft --check hands the batch to the kernel without committing it: a kernel without
        // nft_tproxy or nft_socket refuses it here, before anything is created.
        Result probe = run(ADMIN_TIMEOUT, "nft", "--check", "-f", "-")
                .stdin("table inet alk_tprobe { chain p { type filter hook prerouting priority mangle; "
                        + "meta l4proto tcp tproxy ip to 127.0.0.1:9 meta mark set 1 accept; }; }")
                .await();
        if (!probe.ok()) {
            return Optional.of("the kernel refuses nftables TPROXY (CONFIG_NFT_TPROXY, CONFIG_NFT_SOCKET): " + probe.err().strip());
        }
        return Optional.empty();
    }

    /** Fails with {@code CI=true}, skips elsewhere, when the machine cannot run kernel tests. */
    static void requireKernel(String... tools) {
        missingKernelSupport(tools).ifPresent(TestNetwork::cannotRun);
    }

    /** This machine cannot run the test: a failure with {@code CI=true}, a skip with the reason elsewhere. */
    static void cannotRun(String reason) {
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            Assertions.fail("kernel test cannot run, and CI=true requires it: " + reason);
        }
        String why = "kernel test skipped: " + reason + " (with CI=true this fails instead)";
        // Surefire and failsafe report a class aborted in @BeforeAll as "Tests run: 0" without the
        // reason: say it on stderr too, so nobody mistakes the skip for a pass.
        System.err.println("[kernel-it] " + why);
        Assumptions.abort(why);
    }

    private static Map<String, String> procStatus() {
        try {
            Map<String, String> m = new java.util.HashMap<>();
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                int c = line.indexOf(':');
                if (c > 0) {
                    m.put(line.substring(0, c), line.substring(c + 1).trim());
                }
            }
            return m;
        } catch (IOException e) {
            return Map.of();
        }
    }

    private static Optional<Path> onPath(String tool) {
        return Stream.of(System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":"))
                .map(d -> Path.of(d, tool)).filter(Files::isExecutable).findFirst();
    }

    // ---------------------------------------------------------------------------------------------
    // Building and removing

    private TestNetwork(String id, FileChannel lockFile, FileLock lock) throws IOException {
        this.id = id;
        this.sandboxNs = "alk-t" + id + "-sbx";
        this.originNs = "alk-t" + id + "-org";
        this.hostLink = "alkt" + id + "h";
        this.sandboxLink = "alkt" + id + "s";
        this.originHostLink = "alkt" + id + "o";
        this.originLink = "alkt" + id + "g";
        this.table = "alk_t" + id;
        this.mark = MARK_PREFIX | Integer.parseInt(id, 16);
        this.lockFile = lockFile;
        this.lock = lock;
        this.dir = Files.createTempDirectory("alk-t" + id + "-");
        this.etcNetns = ETC_NETNS.resolve(sandboxNs);
    }

    /**
     * Takes the machine-wide lock, reaps orphans of dead runs, builds the topology, and checks its
     * routes. No traffic has been sent when this returns. The gateway is not yet reachable:
     * {@link #tproxyTo(int)} points the sandbox's TCP at it.
     */
    static TestNetwork create() throws Exception {
        FileChannel ch = FileChannel.open(Path.of(LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = acquire(ch);
        TestNetwork net;
        try {
            reapOrphans();
            net = new TestNetwork(HexFormat.of().toHexDigits((short) new SecureRandom().nextInt(1 << 16)), ch, lock);
        } catch (Exception | Error e) {
            lock.release();
            ch.close();
            throw e;
        }
        Runtime.getRuntime().addShutdownHook(net.hook);
        try {
            net.build();
            net.checkContained();
            return net;
        } catch (Exception | Error e) {
            try {
                net.close();
            } catch (Exception | Error suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private static FileLock acquire(FileChannel ch) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + LOCK_WAIT.toNanos();
        boolean said = false;
        while (true) {
            try {
                FileLock l = ch.tryLock();
                if (l != null) {
                    return l;
                }
            } catch (OverlappingFileLockException e) {
                throw new IllegalStateException("this JVM already holds " + LOCK + ": one TestNetwork at a time", e);
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("another kernel test run has held " + LOCK + " for " + LOCK_WAIT
                        + "; if no test is running, a stuck process holds it (see `fuser " + LOCK + "`)");
            }
            if (!said) {
                System.err.println("[kernel-it] waiting for another kernel test run to release " + LOCK);
                said = true;
            }
            Thread.sleep(250);
        }
    }

    private void build() throws IOException {
        // The sandbox's only resolver is Airlock's, on the host end of its link. A test that wants
        // names starts a DnsResponder there; without one, lookups fail and nothing leaves.
        createdEtcNetns = !Files.isDirectory(ETC_NETNS);
        Files.createDirectories(etcNetns);
        Files.writeString(etcNetns.resolve("resolv.conf"), "nameserver " + HOST_LINK_ADDRESS + "\noptions timeout:2 attempts:2\n");

        // The host's rules exist before the sandbox's link does (they match it by name): there is
        // no moment at which the sandbox has a link and no rules. Until tproxyTo() names the
        // gateway's port, the sandbox's TCP is refused.
        nft(ruleset(0));
        // Policy routing: a TPROXY'd packet carries the mark, and the marked table says every
        // destination is local, so the packet reaches the gateway's socket instead of being forwarded.
        String m = "0x" + Integer.toHexString(mark);
        admin("ip", "rule", "add", "fwmark", m, "lookup", Integer.toUnsignedString(mark));
        admin("ip", "route", "add", "local", "0.0.0.0/0", "dev", "lo", "table", Integer.toUnsignedString(mark));

        admin("ip", "netns", "add", sandboxNs);
        admin("ip", "netns", "add", originNs);
        admin("ip", "link", "add", hostLink, "type", "veth", "peer", "name", sandboxLink, "netns", sandboxNs);
        admin("ip", "link", "add", originHostLink, "type", "veth", "peer", "name", originLink, "netns", originNs);

        // The sandbox: one link, one route (default via the host end), no IPv6 at all.
        inNs(sandboxNs, "sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6");
        admin("ip", "-n", sandboxNs, "link", "set", "lo", "up");
        admin("ip", "-n", sandboxNs, "addr", "add", SANDBOX_LINK_ADDRESS + "/30", "dev", sandboxLink);
        admin("ip", "-n", sandboxNs, "link", "set", sandboxLink, "up");
        admin("ip", "-n", sandboxNs, "route", "add", "default", "via", HOST_LINK_ADDRESS, "dev", sandboxLink);

        // The origins: several hosts on one link and no route anywhere else, so they can only ever
        // answer the host namespace.
        inNs(originNs, "sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6");
        admin("ip", "-n", originNs, "link", "set", "lo", "up");
        admin("ip", "-n", originNs, "addr", "add", ORIGIN_LINK_ADDRESS + "/24", "dev", originLink);
        for (String h : ORIGIN_HOSTS) {
            admin("ip", "-n", originNs, "addr", "add", h + "/24", "dev", originLink);
        }
        admin("ip", "-n", originNs, "link", "set", originLink, "up");

        // The host ends: IPv6 off on our own two links only (a per-link setting, nothing global).
        disableIpv6(hostLink);
        disableIpv6(originHostLink);
        // The worst case host forwards (ip_forward=1, as on any Docker host). Simulated on our own link
        // only, where IPv4 decides forwarding: the table's forward chain must be what stops the
        // sandbox's packets, whatever the host's global setting is.
        sysctl(Path.of("/proc/sys/net/ipv4/conf", hostLink, "forwarding"), "1");
        admin("ip", "addr", "add", HOST_LINK_ADDRESS + "/30", "dev", hostLink);
        admin("ip", "link", "set", hostLink, "up");
        admin("ip", "addr", "add", HOST_ORIGIN_SIDE + "/24", "dev", originHostLink);
        admin("ip", "link", "set", originHostLink, "up");
    }

    /**
     * The table, as the sandbox launcher should write it.
     * <ul>
     *   <li>prerouting: IPv6 from the sandbox is dropped. All its TCP goes to the gateway's
     *       transparent socket, marked so that the marked routing table delivers it locally. TCP the
     *       gateway cannot take (it is stopped) is marked too, so that it also stays on this host,
     *       where input refuses it: it is never forwarded.
     *   <li>input: from the sandbox, DNS over UDP to the host end of its link (Airlock's responder)
     *       and packets the gateway's transparent socket took are accepted;
     *       other TCP gets a reset (a stopped gateway fails at once, not after a timeout) and nothing
     *       is ever delivered to another socket of the host; UDP and ICMP are dropped.
     *   <li>forward: nothing from or to the sandbox is forwarded, whatever the host's ip_forward says.
     * </ul>
     */
    private String ruleset(int gatewayPort) {
        String m = "0x" + Integer.toHexString(mark);
        String intercept = gatewayPort == 0 ? ""
                : "    iifname \"%s\" meta l4proto tcp tproxy ip to %s:%d meta mark set %s accept\n"
                        .formatted(hostLink, HOST_LINK_ADDRESS, gatewayPort, m);
        return """
                table inet %1$s {
                  chain prerouting {
                    type filter hook prerouting priority mangle; policy accept;
                    iifname "%2$s" meta nfproto ipv6 drop
                %3$s    iifname "%2$s" meta l4proto tcp meta mark set %4$s accept
                  }
                  chain input {
                    type filter hook input priority filter; policy accept;
                    iifname "%2$s" ip daddr %5$s udp dport 53 accept
                    iifname "%2$s" meta mark != %4$s drop
                    iifname "%2$s" meta l4proto tcp socket transparent 1 accept
                    iifname "%2$s" meta l4proto tcp reject with tcp reset
                    iifname "%2$s" drop
                  }
                  chain forward {
                    type filter hook forward priority filter; policy accept;
                    iifname "%2$s" drop
                    oifname "%2$s" drop
                  }
                }
                """.formatted(table, hostLink, intercept, m, HOST_LINK_ADDRESS);
    }

    /** Points the sandbox's TCP at the gateway's transparent listener (atomically replaces the table). */
    void tproxyTo(int gatewayPort) {
        nft("delete table inet " + table + "\n" + ruleset(gatewayPort));
    }

    private void nft(String script) {
        Result r = run(ADMIN_TIMEOUT, "nft", "-f", "-").stdin(script).await();
        if (!r.ok()) {
            throw new IllegalStateException("nft refused the ruleset: " + r + "\n" + script);
        }
    }

    private void disableIpv6(String link) {
        Path p = Path.of("/proc/sys/net/ipv6/conf", link, "disable_ipv6");
        if (Files.exists(p)) { // a kernel without IPv6 has nothing to disable
            sysctl(p, "1");
        }
    }

    private static void sysctl(Path p, String value) {
        try {
            Files.writeString(p, value);
        } catch (IOException e) {
            throw new UncheckedIOException("write " + p, e);
        }
    }

    /**
     * The rule "every address the test uses routes to the test's own hosts", checked before any
     * traffic: the host reaches the origins over the origin link, the sandbox has exactly its link
     * and a default route via the host end, and the origins have no route out.
     */
    private void checkContained() {
        for (String h : ORIGIN_HOSTS) {
            JsonNode route = json(admin("ip", "-j", "route", "get", h)).get(0);
            if (!originHostLink.equals(route.path("dev").asText())) {
                throw new IllegalStateException("the host would send " + h + " via " + route + ", not " + originHostLink
                        + "; a more specific route on this machine captures the test's addresses");
            }
        }
        JsonNode toSandbox = json(admin("ip", "-j", "route", "get", SANDBOX_LINK_ADDRESS)).get(0);
        if (!hostLink.equals(toSandbox.path("dev").asText())) {
            throw new IllegalStateException("the host would send " + SANDBOX_LINK_ADDRESS + " via " + toSandbox + ", not " + hostLink);
        }
        List<String> sandboxRoutes = new ArrayList<>();
        for (JsonNode r : json(admin("ip", "-n", sandboxNs, "-j", "route", "show", "table", "all"))) {
            if (!"local".equals(r.path("type").asText()) && !"broadcast".equals(r.path("type").asText())) {
                sandboxRoutes.add(r.path("dst").asText() + " " + r.path("gateway").asText("-") + " " + r.path("dev").asText());
            }
        }
        List<String> expected = List.of("default " + HOST_LINK_ADDRESS + " " + sandboxLink, "198.19.254.0/30 - " + sandboxLink);
        if (!sandboxRoutes.stream().sorted().toList().equals(expected.stream().sorted().toList())) {
            throw new IllegalStateException("the sandbox's routes are " + sandboxRoutes + ", expected exactly " + expected);
        }
        for (JsonNode r : json(admin("ip", "-n", originNs, "-j", "route", "show"))) {
            if ("default".equals(r.path("dst").asText())) {
                throw new IllegalStateException("the origin namespace has a default route: " + r);
            }
        }
    }

    /** Removes everything this run made; idempotent. Fails, after trying every step, if anything is left. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<String> problems = new ArrayList<>();
        for (Process p : started) {
            stop(p);
        }
        step(problems, () -> removeTable(table));
        step(problems, () -> removeRules(mark));
        // Links before namespaces: deleting a veth end deletes its peer at once, while a namespace's
        // devices are destroyed asynchronously after `ip netns del`.
        step(problems, () -> removeLink(hostLink));
        step(problems, () -> removeLink(originHostLink));
        step(problems, () -> removeNetns(sandboxNs));
        step(problems, () -> removeNetns(originNs));
        step(problems, () -> deleteTree(dir));
        step(problems, () -> deleteTree(etcNetns));
        step(problems, this::removeEtcNetnsIfCreatedAndEmpty);
        List<String> left = new ArrayList<>(leftovers(Pattern.compile(Pattern.quote(id))));
        Stream.of(dir, etcNetns).filter(Files::exists).forEach(p -> left.add(p.toString()));
        try {
            lock.release();
            lockFile.close();
        } catch (IOException e) {
            problems.add("release " + LOCK + ": " + e);
        }
        if (Thread.currentThread() != hook) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is already shutting down
            }
        }
        if (!left.isEmpty()) {
            problems.add("left behind: " + left);
        }
        if (!problems.isEmpty()) {
            throw new IllegalStateException("kernel test cleanup: " + String.join("; ", problems));
        }
    }

    /** /etc/netns has no prefix: it is removed only when this run created it and left it empty. */
    private void removeEtcNetnsIfCreatedAndEmpty() {
        if (!createdEtcNetns || !Files.isDirectory(ETC_NETNS)) {
            return;
        }
        try (Stream<Path> rest = Files.list(ETC_NETNS)) {
            if (rest.findAny().isEmpty()) {
                Files.deleteIfExists(ETC_NETNS);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("tidy " + ETC_NETNS, e);
        }
    }

    private void closeQuietly() {
        try {
            close();
        } catch (RuntimeException e) {
            System.err.println("[kernel-it] " + e.getMessage());
        }
    }

    private static void step(List<String> problems, Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            problems.add(e.getMessage());
        }
    }

    /** Objects of dead runs: only names matching the exact patterns, and only while holding the lock. */
    private static void reapOrphans() {
        for (String link : linkNames()) {
            if (ORPHAN_LINK.matcher(link).matches()) {
                System.err.println("[kernel-it] reaping orphan link " + link);
                removeLink(link);
            }
        }
        for (String ns : netnsNames()) {
            if (ORPHAN_NETNS.matcher(ns).matches()) {
                List<String> pids = Arrays.stream(run(ADMIN_TIMEOUT, "ip", "netns", "pids", ns).await().out().split("\\s+"))
                        .filter(s -> !s.isEmpty()).toList();
                if (!pids.isEmpty()) {
                    // Not ours to end: they hold the namespace alive, but without its name and its
                    // host-side links (removed above) it reaches nothing.
                    System.err.println("[kernel-it] orphan namespace " + ns + " still has processes " + pids + "; not killing them");
                }
                System.err.println("[kernel-it] reaping orphan namespace " + ns);
                removeNetns(ns);
            }
        }
        for (String t : tableNames()) {
            if (ORPHAN_TABLE.matcher(t).matches()) {
                System.err.println("[kernel-it] reaping orphan nftables table inet " + t);
                removeTable(t);
            }
        }
        for (int m : ruleMarks()) {
            System.err.println("[kernel-it] reaping orphan ip rule and route table " + Integer.toUnsignedString(m));
            removeRules(m);
        }
        for (int t : routeTables()) {
            removeRules(t);
        }
        for (Path parent : List.of(Path.of(System.getProperty("java.io.tmpdir")), ETC_NETNS)) {
            if (!Files.isDirectory(parent)) {
                continue;
            }
            try (Stream<Path> children = Files.list(parent)) {
                for (Path p : children.filter(p -> ORPHAN_DIR.matcher(p.getFileName().toString()).matches()).toList()) {
                    deleteTree(p);
                }
            } catch (IOException e) {
                // nothing to reap
            }
        }
    }

    /** Every object whose name or number matches, for the after-cleanup check (and the tests' own). */
    static List<String> leftovers(Pattern idPattern) {
        List<String> left = new ArrayList<>();
        netnsNames().stream().filter(n -> ORPHAN_NETNS.matcher(n).matches() && idPattern.matcher(n).find())
                .forEach(n -> left.add("netns " + n));
        linkNames().stream().filter(n -> ORPHAN_LINK.matcher(n).matches() && idPattern.matcher(n).find())
                .forEach(n -> left.add("link " + n));
        tableNames().stream().filter(n -> ORPHAN_TABLE.matcher(n).matches() && idPattern.matcher(n).find())
                .forEach(n -> left.add("nft table inet " + n));
        ruleMarks().stream().filter(m -> idPattern.matcher(String.format("%04x", m & 0xffff)).find())
                .forEach(m -> left.add("ip rule fwmark 0x" + Integer.toHexString(m)));
        routeTables().stream().filter(m -> idPattern.matcher(String.format("%04x", m & 0xffff)).find())
                .forEach(m -> left.add("route table " + Integer.toUnsignedString(m)));
        return left;
    }

    private static List<String> netnsNames() {
        List<String> names = new ArrayList<>();
        json(admin("ip", "-j", "netns", "list")).forEach(n -> names.add(n.path("name").asText()));
        return names;
    }

    private static List<String> linkNames() {
        List<String> names = new ArrayList<>();
        json(admin("ip", "-j", "link", "show")).forEach(n -> names.add(n.path("ifname").asText()));
        return names;
    }

    private static List<String> tableNames() {
        List<String> names = new ArrayList<>();
        for (JsonNode n : json(admin("nft", "-j", "list", "tables")).path("nftables")) {
            JsonNode t = n.path("table");
            if ("inet".equals(t.path("family").asText())) {
                names.add(t.path("name").asText());
            }
        }
        return names;
    }

    /** Marks of rules in the "al" range whose mark equals their table, as this class writes them. */
    private static List<Integer> ruleMarks() {
        List<Integer> marks = new ArrayList<>();
        for (JsonNode r : json(admin("ip", "-j", "rule", "show"))) {
            String fw = r.path("fwmark").asText("");
            if (fw.startsWith("0x")) {
                long m = Long.parseLong(fw.substring(2), 16);
                if ((m & 0xffff_0000L) == MARK_PREFIX && String.valueOf(m).equals(r.path("table").asText())) {
                    marks.add((int) m);
                }
            }
        }
        return marks.stream().distinct().toList();
    }

    private static List<Integer> routeTables() {
        List<Integer> tables = new ArrayList<>();
        for (JsonNode r : json(admin("ip", "-j", "route", "show", "table", "all"))) {
            String t = r.path("table").asText("");
            if (t.matches("\\d+")) {
                long n = Long.parseLong(t);
                if ((n & 0xffff_0000L) == MARK_PREFIX) {
                    tables.add((int) n);
                }
            }
        }
        return tables.stream().distinct().toList();
    }

    private static void removeTable(String name) {
        if (tableNames().contains(name)) {
            admin("nft", "delete", "table", "inet", name);
        }
    }

    /** Deletes exactly the rule "fwmark m lookup m" (every copy) and flushes table m. */
    private static void removeRules(int m) {
        String mark = "0x" + Integer.toHexString(m);
        String table = Integer.toUnsignedString(m);
        for (int i = 0; i < 16 && ruleMarks().contains(m); i++) {
            admin("ip", "rule", "del", "fwmark", mark, "lookup", table);
        }
        if (routeTables().contains(m)) {
            admin("ip", "route", "flush", "table", table);
        }
    }

    private static void removeNetns(String ns) {
        if (netnsNames().contains(ns)) {
            admin("ip", "netns", "del", ns);
        }
    }

    private static void removeLink(String link) {
        if (linkNames().contains(link)) {
            Result r = run(ADMIN_TIMEOUT, "ip", "link", "del", link).await();
            // Gone meanwhile: its namespace's asynchronous teardown took it.
            if (!r.ok() && linkNames().contains(link)) {
                throw new IllegalStateException(r.toString());
            }
        }
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("delete " + root, e);
        }
    }

    private static JsonNode json(String text) {
        if (text.isBlank()) {
            return JSON.createArrayNode();
        }
        try {
            return JSON.readTree(text);
        } catch (IOException e) {
            throw new UncheckedIOException("unreadable JSON from ip/nft: " + text, e);
        }
    }

    /** A setup or cleanup command that must succeed; its stdout. */
    private static String admin(String... argv) {
        Result r = run(ADMIN_TIMEOUT, argv).await();
        if (!r.ok()) {
            throw new IllegalStateException(r.toString());
        }
        return r.out();
    }

    private void inNs(String ns, String... argv) {
        admin(prefix(ns, argv));
    }

    private static String[] prefix(String ns, String... argv) {
        String[] full = new String[argv.length + 4];
        full[0] = "ip";
        full[1] = "netns";
        full[2] = "exec";
        full[3] = ns;
        System.arraycopy(argv, 0, full, 4, argv.length);
        return full;
    }

    // ---------------------------------------------------------------------------------------------
    // Running things

    /** A command inside the sandbox namespace, as the sandbox's own processes would run it. */
    Result inSandbox(Duration timeout, String... argv) {
        return finish(track(run(timeout, prefix(sandboxNs, argv))));
    }

    /** A command inside the origin namespace (to read its counters). */
    Result inOrigins(Duration timeout, String... argv) {
        return finish(track(run(timeout, prefix(originNs, argv))));
    }

    /** The same command in the host namespace: the positive control, without the gateway in the path. */
    Result onHost(Duration timeout, String... argv) {
        return finish(track(run(timeout, argv)));
    }

    private Result finish(Pending p) {
        try {
            return p.await();
        } finally {
            started.remove(p.process);
        }
    }

    /** A long-lived process in the origin namespace; ended by {@link #close()} if the test does not. */
    Daemon startInOrigins(String... argv) {
        Pending p = track(run(Duration.ofDays(1), prefix(originNs, argv)));
        return new Daemon(p.process, () -> started.remove(p.process));
    }

    private Pending track(Pending p) {
        if (closed) {
            stop(p.process);
            throw new IllegalStateException("the test network is closed");
        }
        started.add(p.process);
        return p;
    }
}
