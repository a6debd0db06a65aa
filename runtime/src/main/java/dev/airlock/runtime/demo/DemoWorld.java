package dev.airlock.runtime.demo;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The demo's self-contained world in its own network namespace: a git host, a package registry,
 * a production payments API with a webhook, a production database port and a fake cloud
 * metadata service. Nothing here is reachable beyond this machine: the world's addresses
 * (198.18.0.0/24 and 169.254.169.254) are routed, on the host too, to the world's own link.
 *
 * <p>Every kernel object is named with the {@code alk} prefix and removed by {@link #close}, and by
 * {@link #reap} after a crash. Only the PIDs this class started are ever killed.
 */
public final class DemoWorld implements AutoCloseable {

    static final String NETNS = "alk-demo-world";
    static final String HOST_VETH = "alkdemoh";
    static final String WORLD_VETH = "alkdemow";
    static final String GIT = "198.18.0.10";
    static final String REGISTRY = "198.18.0.11";
    static final String PAYMENTS = "198.18.0.12";
    static final String DATABASE = "198.18.0.13";
    static final String METADATA = "169.254.169.254";

    private final Path dir;
    private final List<Process> started = new ArrayList<>();
    private final Path serviceLog;

    private DemoWorld(Path dir) {
        this.dir = dir;
        this.serviceLog = dir.resolve("world.log");
    }

    /** Removes a world left by a crashed demo: only objects with the demo's own alk names. */
    public static void reap() {
        quiet("ip", "netns", "del", NETNS);
        quiet("ip", "link", "del", HOST_VETH);
        quiet("ip", "route", "del", METADATA + "/32", "dev", HOST_VETH);
    }

    public static DemoWorld create(Path dir) throws IOException, InterruptedException {
        reap();
        DemoWorld w = new DemoWorld(dir);
        try {
            w.network();
            w.content();
            w.services();
            return w;
        } catch (IOException | InterruptedException | RuntimeException e) {
            w.close();
            throw e;
        }
    }

    private void network() throws IOException, InterruptedException {
        run("ip", "netns", "add", NETNS);
        run("ip", "link", "add", HOST_VETH, "type", "veth", "peer", "name", WORLD_VETH);
        run("ip", "link", "set", WORLD_VETH, "netns", NETNS);
        run("ip", "addr", "add", "198.18.0.1/24", "dev", HOST_VETH);
        run("ip", "link", "set", HOST_VETH, "up");
        // The metadata address is routed to the fake too, so nothing can reach a real one.
        run("ip", "route", "replace", METADATA + "/32", "dev", HOST_VETH);
        for (String a : List.of(GIT, REGISTRY, PAYMENTS, DATABASE)) {
            inWorld("ip", "addr", "add", a + "/24", "dev", WORLD_VETH);
        }
        inWorld("ip", "addr", "add", METADATA + "/32", "dev", WORLD_VETH);
        inWorld("ip", "link", "set", "lo", "up");
        inWorld("ip", "link", "set", WORLD_VETH, "up");
        // No default route in the world: it answers on its own link and reaches nothing else.
    }

    private void content() throws IOException, InterruptedException {
        Path src = dir.resolve("src");
        Files.createDirectories(src);
        Files.writeString(src.resolve("README.md"), "# demo payments service\n");
        Files.writeString(src.resolve("run-tests.sh"), """
                #!/bin/bash
                echo "unit tests: 12 passed"
                """);
        src.resolve("run-tests.sh").toFile().setExecutable(true, false);
        Path git = dir.resolve("git");
        Files.createDirectories(git);
        run("git", "-C", src.toString(), "init", "-q", "-b", "main");
        run("git", "-C", src.toString(), "-c", "user.name=demo", "-c", "user.email=demo@demo.test", "add", ".");
        run("git", "-C", src.toString(), "-c", "user.name=demo", "-c", "user.email=demo@demo.test", "commit", "-q", "-m", "demo");
        run("git", "clone", "-q", "--bare", src.toString(), git.resolve("demo.git").toString());
        Path registry = dir.resolve("registry");
        Path pkg = dir.resolve("pkg/left-pad");
        Files.createDirectories(pkg);
        Files.createDirectories(registry);
        Files.writeString(pkg.resolve("VERSION"), "left-pad 1.3.0\n");
        run("tar", "czf", registry.resolve("left-pad-1.3.0.tgz").toString(), "-C", dir.resolve("pkg").toString(), "left-pad");
        try (InputStream in = DemoWorld.class.getResourceAsStream("world.py")) {
            Files.write(dir.resolve("world.py"), in.readAllBytes());
        }
        // The world's services run as root in their own namespace and only read these files.
        for (Path p : List.of(dir, git, registry)) {
            p.toFile().setReadable(true, false);
            p.toFile().setExecutable(true, false);
        }
    }

    private void services() throws IOException, InterruptedException {
        Files.writeString(serviceLog, "");
        started.add(startInWorld("git", "daemon", "--reuseaddr", "--export-all", "--listen=" + GIT, "--port=9418",
                "--base-path=" + dir.resolve("git"), dir.resolve("git").toString()));
        started.add(startInWorld("python3", dir.resolve("world.py").toString(), serviceLog.toString(), dir.resolve("registry").toString()));
        // Bounded wait for the services to listen.
        for (int i = 0; i < 100; i++) {
            if (Files.readString(serviceLog).contains("\"ready\"") && portOpen(GIT, 9418)) {
                return;
            }
            Thread.sleep(50);
        }
        StringBuilder why = new StringBuilder();
        for (Process p : started) {
            why.append(p.isAlive() ? " [" + p.info().command().orElse("?") + " running]" : " [" + p.info().command().orElse("?")
                    + " exited " + p.exitValue() + "]");
        }
        throw new IOException("the demo world's services did not start:" + why + "; output: "
                + Files.readString(dir.resolve("services.out")).strip() + "; log: " + Files.readString(serviceLog).strip());
    }

    private static boolean portOpen(String address, int port) {
        try (java.net.Socket s = new java.net.Socket()) {
            s.connect(new java.net.InetSocketAddress(address, port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** The hosts map the gateway uses instead of DNS: names only the demo world answers. */
    public String hostsMap() {
        return GIT + " git.demo.test\n" + REGISTRY + " registry.demo.test\n" + PAYMENTS + " api.payments.prod.demo.test\n"
                + DATABASE + " db.prod.demo.test\n";
    }

    /** Lines the world's services logged (webhook calls, metadata reads, database connections). */
    public List<String> serviceEvents() throws IOException {
        return Files.readAllLines(serviceLog, StandardCharsets.UTF_8);
    }

    public Path dir() {
        return dir;
    }

    private Process startInWorld(String... cmd) throws IOException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", NETNS));
        full.addAll(List.of(cmd));
        return new ProcessBuilder(full).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("services.out").toFile())).start();
    }

    private void inWorld(String... cmd) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", NETNS));
        full.addAll(List.of(cmd));
        run(full.toArray(String[]::new));
    }

    static void run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out.strip());
        }
    }

    private static void quiet(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (IOException | InterruptedException e) {
            // nothing to remove
        }
    }

    @Override
    public void close() {
        for (Process p : started) {
            // Only PIDs this class started; descendants (git daemon's children) die with the netns below.
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        reap();
    }
}
