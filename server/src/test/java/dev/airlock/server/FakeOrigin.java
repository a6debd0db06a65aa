package dev.airlock.server;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * A test host for daemon tests: a network namespace holding a plain HTTP server at
 * {@value #ADDRESS}:80 (an RFC 2544 benchmark address, never routed off this machine), linked to
 * the host namespace where the daemon's gateway dials it. It records every request line it
 * answers, so a test judges from the host's side what reached it.
 *
 * <pre>
 *  host namespace (the daemon's gateway)          netns alkrl&lt;id&gt;
 *  alkrl&lt;id&gt;a 198.18.93.1/24 ───────────────── alkrl&lt;id&gt;b 198.18.93.10/24: python3 http.server :80
 * </pre>
 *
 * <p>Every object is named {@code alkrl} + four hex digits (+ a or b), a shape neither the
 * launcher's nor other tests' objects have; one run at a time holds {@value #LOCK} and first
 * removes what a crashed run left. {@link #close()} ends the server (by its own handle) and removes
 * the namespace and the link. Before any traffic, {@link #start} checks that the address routes to
 * this link.
 */
final class FakeOrigin implements AutoCloseable {

    static final String ADDRESS = "198.18.93.10";
    static final String HOST_SIDE = "198.18.93.1";
    static final String LOCK = "/run/alk-reload-it.lock";
    private static final Pattern ORPHAN_NS = Pattern.compile("alkrl[0-9a-f]{4}");
    private static final Pattern ORPHAN_LINK = Pattern.compile("alkrl[0-9a-f]{4}[ab]");

    private final String ns;
    private final String link;
    private final FileChannel lockFile;
    private final FileLock lock;
    private final List<String> requests = new CopyOnWriteArrayList<>();
    private Process server;

    private FakeOrigin(String id, FileChannel lockFile, FileLock lock) {
        this.ns = "alkrl" + id;
        this.link = ns + "a";
        this.lockFile = lockFile;
        this.lock = lock;
    }

    /** Builds the namespace and starts the server, serving the files {@code names} (each holding its own name). */
    static FakeOrigin start(Path dir, String... names) throws IOException, InterruptedException {
        FileChannel ch = FileChannel.open(Path.of(LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock l = ch.lock();
        reapOrphans();
        FakeOrigin o = new FakeOrigin(HexFormat.of().toHexDigits((short) new SecureRandom().nextInt(1 << 16)), ch, l);
        try {
            o.build(dir, names);
            return o;
        } catch (IOException | InterruptedException | RuntimeException e) {
            o.close();
            throw e;
        }
    }

    private static void reapOrphans() throws IOException, InterruptedException {
        for (String line : admin("ip", "netns", "list").split("\n")) {
            String name = line.trim().split("\\s+")[0];
            if (ORPHAN_NS.matcher(name).matches()) {
                admin("ip", "netns", "del", name);
            }
        }
        for (String line : admin("ip", "-o", "link").split("\n")) {
            String[] f = line.split(":\\s+");
            if (f.length > 1 && ORPHAN_LINK.matcher(f[1].split("@")[0]).matches()) {
                admin("ip", "link", "del", f[1].split("@")[0]);
            }
        }
    }

    private void build(Path dir, String... names) throws IOException, InterruptedException {
        Path root = Files.createDirectories(dir.resolve("origin"));
        for (String n : names) {
            Files.writeString(root.resolve(n), n + "\n");
        }
        // its own path: a late log line of the readiness probe must not look like a test's request
        Files.writeString(root.resolve("origin-ready"), "ready\n");
        String peer = ns + "b";
        admin("ip", "netns", "add", ns);
        admin("ip", "link", "add", link, "type", "veth", "peer", "name", peer, "netns", ns);
        admin("sysctl", "-q", "-w", "net.ipv6.conf." + link + ".disable_ipv6=1");
        admin("ip", "addr", "add", HOST_SIDE + "/24", "dev", link);
        admin("ip", "link", "set", link, "up");
        admin("ip", "-n", ns, "link", "set", "lo", "up");
        admin("ip", "-n", ns, "addr", "add", ADDRESS + "/24", "dev", peer);
        admin("ip", "-n", ns, "link", "set", peer, "up");
        // before any traffic: the test host is reached through this link, nowhere else
        String route = admin("ip", "route", "get", ADDRESS);
        if (!route.contains("dev " + link + " ")) {
            throw new IllegalStateException("test host " + ADDRESS + " does not route to the test namespace: " + route);
        }
        server = new ProcessBuilder("ip", "netns", "exec", ns, "/usr/bin/python3", "-u", "-m", "http.server", "80", "--bind", ADDRESS,
                "--directory", root.toString()).redirectErrorStream(true).start();
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    requests.add(line);
                }
            } catch (IOException e) {
                // ended
            }
        }, "fake-origin-log");
        t.setDaemon(true);
        t.start();
        // ready when it answers from the host namespace (the daemon's gateway dials from there)
        for (int i = 0; i < 200; i++) {
            if (new ProcessBuilder("curl", "-s", "-o", "/dev/null", "--noproxy", "*", "-m", "2", "http://" + ADDRESS + "/origin-ready")
                    .start().waitFor() == 0) {
                return;
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("the test host did not answer; it said: " + requests);
    }

    /** True once a request for {@code path} reached the host (its log line names the path). */
    boolean received(String path) {
        return requests.stream().anyMatch(l -> l.contains("\"GET " + path + " "));
    }

    List<String> requests() {
        return List.copyOf(requests);
    }

    private static String admin(String... argv) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(String.join(" ", argv) + ": did not finish");
        }
        if (p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", argv) + ": exit " + p.exitValue() + ": " + out);
        }
        return out;
    }

    @Override
    public void close() {
        if (server != null) {
            server.descendants().forEach(ProcessHandle::destroyForcibly);
            server.destroyForcibly();
        }
        try {
            admin("ip", "netns", "del", ns);
        } catch (IOException | InterruptedException | RuntimeException e) {
            System.err.println("fake origin: " + e.getMessage());
        }
        try {
            if (Files.exists(Path.of("/sys/class/net", link))) {
                admin("ip", "link", "del", link);
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            System.err.println("fake origin: " + e.getMessage());
        }
        try {
            lock.release();
            lockFile.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
