package dev.airlock.sandbox;

import static dev.airlock.sandbox.KernelSupport.admin;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The test's own "internet": a namespace holding test hosts at 198.18.77.10 and .11 (RFC 2544
 * benchmark addresses, never routed off this machine), linked to the host namespace, with nftables
 * counters of what reaches them: packets from the sandboxes' range, and packets from the host.
 *
 * <pre>
 *  host namespace                                 netns alkit&lt;id&gt;
 *  alkit&lt;id&gt;a 198.18.77.1/24 ───────────────── alkit&lt;id&gt;b 198.18.77.10/24, .11/24
 *  forwarding on (this link only)                 default via 198.18.77.1; counters "sandbox", "host"
 * </pre>
 *
 * <p>Forwarding is on for this link (a per-link setting; the tests turn it on for a sandbox's host
 * link too), so that without Airlock's rules the host WOULD carry a sandbox's packets here: what the
 * rules stop, they stop on their own. The names ({@code alkit} + 4 hex digits, then a or b) match
 * neither the launcher's shapes nor the gateway kernel tests'; one run holds {@value #LOCK} and
 * first removes what a crashed run left. Everything this class starts or creates is removed by
 * {@link #close()}.
 */
final class TestHosts implements AutoCloseable {

    static final String LOCK = "/run/alk-sandbox-it.lock";
    static final String HOST_SIDE = "198.18.77.1";
    static final String HOST_A = "198.18.77.10";
    static final String HOST_B = "198.18.77.11";
    private static final Pattern ORPHAN_NS = Pattern.compile("alkit[0-9a-f]{4}");
    private static final Pattern ORPHAN_LINK = Pattern.compile("alkit[0-9a-f]{4}[ab]");

    final String ns;
    final String link;
    final String peer;
    private final FileChannel lockFile;
    private final FileLock lock;
    private final List<Process> started = new CopyOnWriteArrayList<>();

    private TestHosts(String id, FileChannel lockFile, FileLock lock) {
        this.ns = "alkit" + id;
        this.link = ns + "a";
        this.peer = ns + "b";
        this.lockFile = lockFile;
        this.lock = lock;
    }

    static TestHosts create(String sandboxRange) throws IOException {
        FileChannel ch = FileChannel.open(Path.of(LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock l = ch.lock();
        reapOrphans();
        TestHosts t = new TestHosts(HexFormat.of().toHexDigits((short) new SecureRandom().nextInt(1 << 16)), ch, l);
        try {
            t.build(sandboxRange);
            return t;
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
    }

    private static void reapOrphans() {
        for (String line : admin("ip", "netns", "list").split("\n")) {
            String name = line.trim().split("\\s+")[0];
            if (ORPHAN_NS.matcher(name).matches()) {
                admin("ip", "netns", "del", name);
            }
        }
        for (String line : admin("ip", "-o", "link").split("\n")) {
            String[] f = line.split(":\\s+");
            if (f.length > 1 && ORPHAN_LINK.matcher(f[1].split("@")[0]).matches()) {
                KernelSupport.run(KernelSupport.ADMIN, "ip", "link", "del", f[1].split("@")[0]);
            }
        }
    }

    private void build(String sandboxRange) {
        admin("ip", "netns", "add", ns);
        admin("ip", "link", "add", link, "type", "veth", "peer", "name", peer, "netns", ns);
        admin("sysctl", "-q", "-w", "net.ipv6.conf." + link + ".disable_ipv6=1");
        admin("sysctl", "-q", "-w", "net.ipv4.conf." + link + ".forwarding=1");
        admin("ip", "addr", "add", HOST_SIDE + "/24", "dev", link);
        admin("ip", "link", "set", link, "up");
        admin("ip", "-n", ns, "link", "set", "lo", "up");
        admin("ip", "-n", ns, "addr", "add", HOST_A + "/24", "dev", peer);
        admin("ip", "-n", ns, "addr", "add", HOST_B + "/24", "dev", peer);
        admin("ip", "-n", ns, "link", "set", peer, "up");
        admin("ip", "-n", ns, "route", "add", "default", "via", HOST_SIDE);
        KernelSupport.Result r = KernelSupport.runWithInput(KernelSupport.ADMIN, """
                table inet t {
                  counter sandbox { }
                  counter host { }
                  chain in {
                    type filter hook input priority filter; policy accept;
                    ip saddr %s counter name "sandbox"
                    ip saddr %s counter name "host"
                  }
                }
                """.formatted(sandboxRange, HOST_SIDE), "nsenter", "--net=/run/netns/" + ns, "nft", "-f", "-");
        if (!r.ok()) {
            throw new IllegalStateException(r.toString());
        }
        // Before any traffic: the test hosts are reached through the test's own link, nowhere else.
        for (String h : List.of(HOST_A, HOST_B)) {
            String route = admin("ip", "route", "get", h);
            if (!route.contains("dev " + link + " ")) {
                throw new IllegalStateException("test host " + h + " does not route to the test namespace: " + route);
            }
        }
    }

    /** Packets the counter {@code name} ("sandbox" or "host") has seen arrive at the test hosts. */
    long counter(String name) {
        String out = admin("nsenter", "--net=/run/netns/" + ns, "nft", "list", "counter", "inet", "t", name);
        Matcher m = Pattern.compile("packets (\\d+)").matcher(out);
        if (!m.find()) {
            throw new IllegalStateException("no counter in: " + out);
        }
        return Long.parseLong(m.group(1));
    }

    /** A process in the test hosts' namespace, whose stdout lines are collected. */
    Daemon start(String... argv) {
        List<String> full = new ArrayList<>(List.of("nsenter", "--net=/run/netns/" + ns));
        full.addAll(List.of(argv));
        return daemon(full);
    }

    /** A process in the host namespace (a stand-in gateway), whose stdout lines are collected. */
    Daemon startOnHost(String... argv) {
        return daemon(List.of(argv));
    }

    private Daemon daemon(List<String> argv) {
        try {
            Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
            started.add(p);
            return new Daemon(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static final class Daemon {
        final Process process;
        final List<String> lines = new CopyOnWriteArrayList<>();

        Daemon(Process process) {
            this.process = process;
            Thread t = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String l; (l = r.readLine()) != null; ) {
                        lines.add(l);
                    }
                } catch (IOException e) {
                    // ended
                }
            }, "test-hosts-daemon");
            t.setDaemon(true);
            t.start();
        }

        /** Waits (bounded) for a line; fails with everything the process said otherwise. */
        void await(Predicate<String> p, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (lines.stream().noneMatch(p)) {
                if (System.nanoTime() > deadline || !process.isAlive()) {
                    throw new AssertionError("no matching line within " + timeout + "; alive " + process.isAlive() + "; output: " + lines);
                }
                Thread.sleep(10);
            }
        }
    }

    @Override
    public void close() {
        for (Process p : started) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        KernelSupport.run(KernelSupport.ADMIN, "ip", "netns", "del", ns);
        if (KernelSupport.run(KernelSupport.ADMIN, "ip", "link", "show", link).ok()) {
            KernelSupport.run(KernelSupport.ADMIN, "ip", "link", "del", link);
        }
        try {
            lock.release();
            lockFile.close();
        } catch (IOException e) {
            // the process ends soon; the kernel drops the lock then
        }
    }
}
