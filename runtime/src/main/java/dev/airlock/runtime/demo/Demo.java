package dev.airlock.runtime.demo;

import dev.airlock.runtime.SandboxRun;
import dev.airlock.sandbox.LinkSafeFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * {@code airlock demo}: the near-miss that motivates Airlock, end to end on this machine. A
 * scripted agent clones, installs and tests a project in a sandbox, then calls the production
 * webhook, the production database and the metadata service. The demo shows what was allowed,
 * what was blocked and why, proves the webhook never fired, and leaves nothing behind.
 */
public final class Demo {

    /** Debian packages the demo needs beyond Airlock's own. */
    static final List<String> PACKAGES = List.of("iproute2", "nftables", "bubblewrap", "git", "curl", "python3");

    private final PrintStream out;
    private final boolean colour;

    /** {@code colour}: bold headings; see {@link #colour(Map, boolean)}. */
    public Demo(PrintStream out, boolean colour) {
        this.out = out;
        this.colour = colour;
    }

    /**
     * Whether to print colour codes: only to a terminal, never when {@code NO_COLOR} is set to
     * anything but the empty string (no-color.org) or {@code TERM} is {@code dumb}. Output piped to
     * a file or a CI log stays plain text.
     */
    public static boolean colour(Map<String, String> env, boolean stdoutIsTerminal) {
        String noColour = env.get("NO_COLOR");
        return stdoutIsTerminal && (noColour == null || noColour.isEmpty()) && !"dumb".equals(env.get("TERM"));
    }

    /**
     * Whether this process's standard output is a terminal. Read from {@code /proc/self/fd/1}: from
     * JDK 22, {@code System.console()} is not null for redirected output, and {@code isTerminal()}
     * is not in Java 21, the release Airlock compiles for.
     */
    public static boolean stdoutIsTerminal() {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/1")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    public int run(Path stateDir) {
        if (!"root".equals(System.getProperty("user.name"))) {
            out.println("airlock demo builds network namespaces and sandboxes: run it as root (in a root shell: ./airlock demo;"
                    + " where sudo is installed: sudo ./airlock demo)");
            return SandboxRun.AIRLOCK_ERROR;
        }
        try {
            installMissing();
        } catch (IOException | InterruptedException e) {
            out.println("airlock: could not install the demo's packages (" + e.getMessage() + "); install: "
                    + String.join(" ", PACKAGES));
            return SandboxRun.AIRLOCK_ERROR;
        }
        Path dir;
        try {
            dir = Files.createTempDirectory("alk-demo-");
            dir.toFile().setReadable(true, false);
            dir.toFile().setExecutable(true, false);
        } catch (IOException e) {
            out.println("airlock: " + e.getMessage());
            return SandboxRun.AIRLOCK_ERROR;
        }
        long start = System.nanoTime();
        try (DemoWorld world = DemoWorld.create(dir)) {
            // The world's start reaped any earlier demo's namespace, so its directory is garbage now.
            removeStaleWorkDirectories(dir.getParent(), dir).forEach(line -> out.println("airlock demo: " + line));
            return play(world, stateDir, start);
        } catch (IOException | InterruptedException e) {
            out.println("airlock: the demo failed: " + e.getMessage());
            return SandboxRun.AIRLOCK_ERROR;
        } finally {
            out.println(heading("cleanup"));
            out.println("  " + removeWorkDirectory(dir));
            out.println("  " + leftovers());
        }
    }

    private int play(DemoWorld world, Path stateDir, long start) throws IOException, InterruptedException {
        out.println(heading("the world"));
        out.println("  git.demo.test               198.18.0.10:9418  git host with the demo repository");
        out.println("  registry.demo.test          198.18.0.11:80    package registry");
        out.println("  api.payments.prod.demo.test 198.18.0.12:80    PRODUCTION payments API with a refund webhook");
        out.println("  db.prod.demo.test           198.18.0.13:5432  PRODUCTION database");
        out.println("  169.254.169.254             :80               cloud metadata (credentials)");

        out.println(heading("without Airlock"));
        String direct = post("http://198.18.0.12/webhook", "{\"refund\": 1}");
        out.println("  from the host, POST to the production webhook: " + direct.strip() + "   <- this is the near-miss");

        Path workspace = world.dir().resolve("workspace");
        Files.createDirectories(workspace);
        Path agent = workspace.resolve("agent.sh");
        Files.writeString(agent, agentScript(colour));
        agent.toFile().setExecutable(true, false);
        workspace.toFile().setWritable(true, false);
        Path policy = world.dir().resolve("airlock.yaml");
        Files.writeString(policy, """
                version: 1
                project: demo-payments
                network:
                  allow:
                    - git.demo.test:9418
                    - host: registry.demo.test
                      ports: [80]
                """);
        Path org = world.dir().resolve("org.yaml");
        Files.writeString(org, """
                version: 1
                production:
                  - "*.prod.demo.test"
                  - cidr: 198.18.0.12/31
                """);
        Path hosts = world.dir().resolve("hosts");
        Files.writeString(hosts, world.hostsMap());
        Path events = world.dir().resolve("events.jsonl");
        int webhooksBefore = count(world, "WEBHOOK FIRED");

        out.println(heading("with Airlock: airlock run -- bash agent.sh"));
        out.println("  policy: " + policy + "\n" + indent(Files.readString(policy)));
        out.println("  organisation policy: " + org + "\n" + indent(Files.readString(org)));
        out.flush();
        int code = new SandboxRun(out).run(new SandboxRun.Options(policy, Optional.of(org), Optional.of(hosts), workspace,
                Map.of(), Optional.of(events), List.of("bash", "/workspace/agent.sh"), stateDir));

        out.println(heading("audit trail of this run (all of it: airlock log --file " + stateDir.resolve("audit.log") + ")"));
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        for (String line : Files.readAllLines(events)) {
            com.fasterxml.jackson.databind.JsonNode e = json.readTree(line);
            String target = e.get("name").asText() + (e.get("port").asInt() > 0 ? ":" + e.get("port").asInt() : "");
            String what = "close".equals(e.get("event").asText())
                    ? "close " + e.get("bytesUp").asLong() + " B up, " + e.get("bytesDown").asLong() + " B down"
                    : e.get("decision").asText().toUpperCase(java.util.Locale.ROOT) + " " + e.get("reason").asText();
            out.printf("  %-11s %-30s %-33s %s%n", e.get("via").asText(), what, target,
                    e.get("addresses").isEmpty() ? "" : e.get("addresses").toString());
        }
        int webhooksAfter = count(world, "WEBHOOK FIRED");
        long metadataReads = world.serviceEvents().stream().filter(l -> l.contains("\"metadata\"")).count();
        long dbConnections = world.serviceEvents().stream().filter(l -> l.contains("\"database\"")).count();
        out.println(heading("result"));
        out.println("  production webhook calls from the sandbox: " + (webhooksAfter - webhooksBefore));
        out.println("  production database connections:           " + dbConnections);
        out.println("  metadata reads:                            " + metadataReads);
        out.printf("  agent exit code %d, demo took %.1f s%n", code, (System.nanoTime() - start) / 1e9);
        boolean contained = webhooksAfter == webhooksBefore && dbConnections == 0 && metadataReads == 0;
        out.println(contained ? "  production was unreachable." : "  PRODUCTION WAS REACHED: this is a bug; see the audit trail.");
        return contained ? 0 : 1;
    }

    private static int count(DemoWorld world, String needle) throws IOException {
        return (int) world.serviceEvents().stream().filter(l -> l.contains(needle)).count();
    }

    private static String post(String url, String body) {
        try {
            HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection(java.net.Proxy.NO_PROXY);
            c.setRequestMethod("POST");
            c.setDoOutput(true);
            c.setConnectTimeout(3000);
            c.setReadTimeout(3000);
            c.getOutputStream().write(body.getBytes(StandardCharsets.UTF_8));
            return c.getResponseCode() + " " + new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "failed: " + e.getMessage();
        }
    }

    private void installMissing() throws IOException, InterruptedException {
        List<String> missing = new ArrayList<>();
        for (String tool : List.of("ip", "nft", "bwrap", "git", "curl", "python3")) {
            if (!onPath(tool)) {
                missing.add(switch (tool) {
                    case "ip" -> "iproute2";
                    case "nft" -> "nftables";
                    case "bwrap" -> "bubblewrap";
                    default -> tool;
                });
            }
        }
        if (missing.isEmpty()) {
            return;
        }
        out.println("airlock demo: installing " + String.join(" ", missing) + " with apt-get");
        List<String> cmd = new ArrayList<>(List.of("apt-get", "install", "-y", "-qq", "--no-install-recommends"));
        cmd.addAll(missing);
        runQuiet(List.of("apt-get", "update", "-qq"));
        runQuiet(cmd);
    }

    private static void runQuiet(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(600, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + ": " + log.strip());
        }
    }

    private static boolean onPath(String tool) {
        for (String d : List.of("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")) {
            if (Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return false;
    }

    /** What is left of ours in the kernel: the proof that the demo cleaned up. */
    private static String leftovers() {
        try {
            Process p = new ProcessBuilder("sh", "-c",
                    "{ ip netns list; ip -o link show; nft list tables; ls /sys/fs/cgroup; } 2>/dev/null | grep -c alk || true")
                    .redirectErrorStream(true).start();
            String n = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            p.waitFor(10, TimeUnit.SECONDS);
            return "0".equals(n) ? "no alk namespaces, links, nftables tables or cgroups are left" : n + " alk objects are left (run, as root: ./airlock gc)";
        } catch (IOException | InterruptedException e) {
            return "could not check: " + e.getMessage();
        }
    }

    /** The scripted agent, its "[agent]" lines coloured only when the demo's own output is. */
    static String agentScript(boolean colour) throws IOException {
        try (InputStream in = Demo.class.getResourceAsStream("agent.sh")) {
            if (in == null) {
                throw new IOException("agent.sh is missing from the jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).replace("@COLOUR@", colour ? "on" : "off");
        }
    }

    /**
     * Work directories of earlier demos that did not end (killed, or a machine that went down):
     * starting a world has already reaped their namespaces, so their files are all that is left.
     */
    static List<String> removeStaleWorkDirectories(Path tmp, Path current) {
        List<String> out = new ArrayList<>();
        try (java.util.stream.Stream<Path> all = Files.list(tmp)) {
            for (Path d : all.filter(d -> d.getFileName().toString().startsWith("alk-demo-") && !d.equals(current)
                    && Files.isDirectory(d, java.nio.file.LinkOption.NOFOLLOW_LINKS)).sorted().toList()) {
                out.add(removeWorkDirectory(d) + " (left by an earlier demo)");
            }
        } catch (IOException e) {
            out.add("could not list " + tmp + " for earlier demos' directories (" + e.getMessage() + ")");
        }
        return out;
    }

    /**
     * Removes the demo's directory under /tmp (its policies, hosts map, workspace, service logs) once
     * the world is gone, and says so: the demo promises to leave nothing behind, files included.
     */
    static String removeWorkDirectory(Path dir) {
        try {
            LinkSafeFiles.deleteTree(dir);
            return "removed " + dir;
        } catch (IOException e) {
            return "could not remove " + dir + " (" + e.getMessage() + "); remove it by hand";
        }
    }

    String heading(String s) {
        return colour ? "\n\033[1m== " + s + "\033[0m" : "\n== " + s;
    }

    private static String indent(String s) {
        return s.lines().map(l -> "    " + l).reduce((a, b) -> a + "\n" + b).orElse("");
    }
}
