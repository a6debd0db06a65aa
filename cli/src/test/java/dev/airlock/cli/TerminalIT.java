package dev.airlock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.server.DaemonClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 10: {@code airlock run -- bash -i} on a terminal, through a daemon's warm pool and without
 * one. The test is the user at a terminal: it owns a pseudo-terminal on the host ({@link HostPty}),
 * starts the CLI on its terminal side as the controlling terminal of a new session (as a login
 * shell would), types, reads what the terminal shows, and resizes the window. Markers are typed
 * split by quotes ({@code "T""TY=..."}) so that the terminal's echo of the typed line never
 * matches what the command printed.
 */
class TerminalIT {

    private static final Duration DEADLINE = Duration.ofSeconds(60);
    /** What a sandbox must never see: set in the CLI's environment, never named. */
    private static final String SECRET = "AIRLOCK_TEST_SECRET";

    @TempDir
    Path tmp;

    private final List<Process> started = new ArrayList<>();

    @AfterEach
    void stop() throws InterruptedException {
        for (Process p : started) {
            p.destroy();
            p.waitFor();
        }
    }

    static void requireRoot() {
        SandboxHostRequired.require("the terminal tests", "/usr/bin/setsid", "/usr/bin/perl");
    }

    private Path writeConfig() throws IOException {
        return writeConfig("");
    }

    /** The daemon's configuration and the project's policy, with {@code image} (YAML lines, or nothing) in the policy. */
    private Path writeConfig(String image) throws IOException {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        Files.writeString(tmp.resolve("airlock.yaml"), String.join("\n", "version: 1", "project: terminal-it", "network:",
                "  allow: [allowed.example.test]", "resources: { memory: 256MiB, cpus: 1, pids: 128 }", "env: [AIRLOCK_TEST_LISTED]", "")
                + image);
        Files.writeString(tmp.resolve("org.yaml"), String.join("\n", "version: 1", "production:", "  - cidr: 198.19.252.0/24", ""));
        Files.writeString(tmp.resolve("hosts"), "198.19.252.1 prod.example.test\n");
        Files.writeString(tmp.resolve("daemon.yaml"), String.join("\n", "version: 1", "state: " + tmp.resolve("state"), "org: org.yaml",
                "hosts: hosts", "audits: false", "projects:", "  - policy: airlock.yaml", "    size: 1", "    hardLimit: 4", ""));
        return tmp.resolve("daemon.yaml");
    }

    private Path workspace() throws IOException {
        Path ws = Files.createDirectories(tmp.resolve("ws"));
        Files.setPosixFilePermissions(ws, PosixFilePermissions.fromString("rwxrwxrwx"));
        return ws;
    }

    private static String java() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    /**
     * A daemon that ignores SIGINT, as one started with {@code &} from a script does: what its
     * commands inherit must not keep ^C from interrupting them.
     */
    private Process startDaemon(Path config) throws IOException {
        Process p = new ProcessBuilder("/bin/sh", "-c", "trap '' INT; exec \"$@\"", "sh", java(), "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "daemon", "--config", config.toString()).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("daemon.log").toFile()).start();
        started.add(p);
        return p;
    }

    private void awaitReady(Path socket) throws InterruptedException, IOException {
        long end = System.nanoTime() + DEADLINE.toNanos();
        while (System.nanoTime() < end) {
            int ready = DaemonClient.ifRunning(socket).map(c -> {
                try {
                    return c.get("/v1/status").body().path("projects").path(0).path("ready").asInt(0);
                } catch (IOException | RuntimeException e) {
                    return 0;
                }
            }).orElse(0);
            if (ready >= 1) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the daemon did not fill its pool; its log:\n" + Files.readString(tmp.resolve("daemon.log")));
    }

    /**
     * The CLI on {@code pty}'s terminal side, in a session of its own whose controlling terminal it
     * is (setsid --ctty, without a fork: the PID is the CLI's).
     */
    private Process cli(HostPty pty, List<String> args) throws IOException {
        List<String> argv = new ArrayList<>(List.of("/usr/bin/setsid", "--ctty", "--wait", java(), "-cp", System.getProperty("java.class.path"),
                Main.class.getName()));
        argv.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(argv).directory(tmp.toFile()).redirectInput(ProcessBuilder.Redirect.from(pty.terminal()))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(pty.terminal())).redirectError(ProcessBuilder.Redirect.appendTo(pty.terminal()));
        pb.environment().put("AIRLOCK_STATE", tmp.resolve("state").toString());
        pb.environment().put("TERM", "xterm-256color");
        pb.environment().put("LANG", "C.UTF-8");
        pb.environment().put(SECRET, "s3cret");
        pb.environment().put("AIRLOCK_TEST_LISTED", "from-the-policy");
        pb.environment().put("AIRLOCK_TEST_GIVEN", "from-the-option");
        Process p = pb.start();
        started.add(p);
        return p;
    }

    /** Types {@code line} and returns the first group of {@code regex} in what the command printed after it. */
    private static String ask(HostPty pty, String line, String regex) throws InterruptedException {
        int from = pty.shownLength();
        pty.type(line + "\r");
        Matcher m = pty.await(from, regex, DEADLINE);
        return m.groupCount() > 0 ? m.group(1) : m.group();
    }

    /**
     * The whole interactive session of the "done when", on whatever path {@code args} take;
     * the sandbox's processes are below {@code daemon}, or without one below the CLI. Returns what
     * the terminal showed.
     */
    private String interactiveSession(List<String> args, java.util.Optional<Process> daemon, String path) throws Exception {
        try (HostPty pty = HostPty.open(30, 100)) {
            List<String> argv = new ArrayList<>(args);
            argv.addAll(List.of("/bin/bash", "--norc", "--noprofile", "-i"));
            Process cli = cli(pty, argv);
            ProcessHandle root = daemon.orElse(cli).toHandle();
            ask(pty, "echo \"RE\"\"ADY\"", "READY");

            assertThat(ask(pty, "echo \"T\"\"TY=$(tty)\"", "TTY=(\\S+)")).as(path + ": tty names a device").matches("/dev/pts/[0-9]+");
            assertThat(ask(pty, "test -c \"$(tty)\" && echo \"DE\"\"VICE=yes\"", "DEVICE=(\\S+)")).isEqualTo("yes");
            assertThat(ask(pty, "echo \"SI\"\"ZE=$(stty size)\"", "SIZE=(\\d+ \\d+)")).as(path + ": the size at the start").isEqualTo("30 100");
            assertThat(ask(pty, "echo \"TE\"\"RM=$TERM LANG=$LANG\"", "TERM=(\\S+ LANG=\\S+)")).isEqualTo("xterm-256color LANG=C.UTF-8");
            assertThat(ask(pty, "echo \"SE\"\"CRET=[$" + SECRET + "] LISTED=[$AIRLOCK_TEST_LISTED] GIVEN=[$AIRLOCK_TEST_GIVEN]\"",
                    "SECRET=(\\[.*?\\] LISTED=\\[.*?\\] GIVEN=\\[.*?\\])")).as(path + ": only what is named passes")
                    .isEqualTo("[] LISTED=[from-the-policy] GIVEN=[from-the-option]");
            assertThat(pty.shown()).as(path + ": bash has job control").doesNotContain("no job control", "cannot set terminal process group");

            // the window grows: the command's terminal follows (the resize travels asynchronously; ask until it has)
            pty.resize(40, 120);
            String size = "";
            for (int i = 0; i < 100 && !size.equals("40 120"); i++) {
                size = ask(pty, "echo \"SI\"\"ZE=$(stty size)\"", "SIZE=(\\d+ \\d+)");
            }
            assertThat(size).as(path + ": stty size follows a resize").isEqualTo("40 120");

            // ^C interrupts the foreground sleep, not the session
            pty.type("sleep 1000\r");
            ProcessHandle sleep = awaitDescendant(root, "sleep", "1000");
            pty.type("\u0003");
            sleep.onExit().get(DEADLINE.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
            assertThat(ask(pty, "echo \"ST\"\"ATUS=$?\"", "STATUS=(\\d+)")).as(path + ": sleep died of SIGINT").isEqualTo("130");
            assertThat(ask(pty, "echo \"AL\"\"IVE\"", "ALIVE")).isEqualTo("ALIVE");

            ask(pty, "echo \"MA\"\"RKER=$(cat /usr/share/airlock-test-image/marker 2>/dev/null)\"", "MARKER=");
            ask(pty, "test -e /usr/bin/nsenter && echo \"NS\"\"ENTER=present\" || echo \"NS\"\"ENTER=absent\"", "NSENTER=\\w+");
            pty.type("exit 3\r");
            assertThat(cli.waitFor()).as(path + ": exit 3 returns 3").isEqualTo(3);
            assertThat(stty(pty)).as(path + ": the caller's terminal is restored").contains(" icanon", " echo ").doesNotContain("-icanon");
            return pty.shown();
        }
    }

    /** A process below {@code root} whose command line is exactly {@code argv}, once it runs. */
    private static ProcessHandle awaitDescendant(ProcessHandle root, String... argv) throws Exception {
        String want = String.join("\0", argv);
        long end = System.nanoTime() + DEADLINE.toNanos();
        while (System.nanoTime() < end) {
            for (ProcessHandle h : root.descendants().toList()) {
                try {
                    String cmd = Files.readString(Path.of("/proc", Long.toString(h.pid()), "cmdline"));
                    if (cmd.equals(want + "\0")) {
                        return h;
                    }
                } catch (IOException gone) {
                    // exited meanwhile
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no process " + List.of(argv) + " below " + root.pid());
    }

    /** {@code stty -a} of the terminal, as the user's shell would find it after airlock. */
    private static String stty(HostPty pty) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("stty", "-a").redirectInput(ProcessBuilder.Redirect.from(pty.terminal())).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        p.waitFor();
        return " " + out.replace('\n', ' ') + " ";
    }

    @Test
    void run_throughTheWarmPool_onATerminal_bashHasATerminalThatFollowsTheCaller() throws Exception {
        requireRoot();
        Process daemon = startDaemon(writeConfig());
        awaitReady(tmp.resolve("state/daemon.sock"));
        String shown = interactiveSession(List.of("run", "--policy", "airlock.yaml", "--env", "AIRLOCK_TEST_GIVEN", "--"),
                java.util.Optional.of(daemon), "pooled");
        assertThat(shown).as("the run came from the pool").contains("from the daemon's pool");
        assertThat(Files.readString(tmp.resolve("daemon.log"))).doesNotContain("API connection failed");
    }

    @Test
    void run_noDaemon_onATerminal_bashHasATerminalThatFollowsTheCaller() throws Exception {
        requireRoot();
        writeConfig();
        Path ws = workspace();
        List<String> args = List.of("run", "--no-daemon", "--policy", "airlock.yaml", "--org", "org.yaml", "--hosts", "hosts", "--workspace",
                ws.toString(), "--env", "AIRLOCK_TEST_GIVEN", "--");
        String shown = interactiveSession(args, java.util.Optional.empty(), "no daemon");
        assertThat(shown).doesNotContain("from the daemon's pool");
    }

    /**
     * The test image with bash, tty, stty and sleep from the host (scripts/make-test-image.sh,
     * IMAGE_EXTRAS=audit), as {@code image:} lines for the policy; the layout is linked beside it.
     */
    private String image() throws Exception {
        Path layout = Path.of("target", "test-images", "devbox-tools").toAbsolutePath();
        Files.createDirectories(layout.getParent());
        ProcessBuilder make = new ProcessBuilder("../scripts/make-test-image.sh", layout.toString(), "tools").redirectErrorStream(true);
        make.environment().put("IMAGE_EXTRAS", "audit");
        Process p = make.start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        Files.createSymbolicLink(tmp.resolve("images"), layout.getParent());
        return "image:\n  oci: images/devbox-tools\n  tag: tools\n";
    }

    /** The session ran on the image: its marker is there and the host's nsenter is not (the session's last command). */
    private static void onTheImage(String shown) {
        assertThat(shown).as("ran on the image").contains("MARKER=from the image").contains("NSENTER=absent");
    }

    /** Issue 20 §4: the same terminal session, cold, with the project on an image (setsid and the pty in the image's root). */
    @Test
    void run_noDaemon_onAnImage_onATerminal_bashHasATerminalThatFollowsTheCaller() throws Exception {
        requireRoot();
        writeConfig(image());
        Path ws = workspace();
        List<String> args = List.of("run", "--no-daemon", "--policy", "airlock.yaml", "--org", "org.yaml", "--hosts", "hosts", "--workspace",
                ws.toString(), "--env", "AIRLOCK_TEST_GIVEN", "--");
        String shown = interactiveSession(args, java.util.Optional.empty(), "no daemon, on an image");
        assertThat(shown).doesNotContain("from the daemon's pool");
        onTheImage(shown);
    }

    /** Issue 20 §4: the same terminal session through the warm pool, its members on the image. */
    @Test
    void run_throughTheWarmPool_onAnImage_onATerminal_bashHasATerminalThatFollowsTheCaller() throws Exception {
        requireRoot();
        Process daemon = startDaemon(writeConfig(image()));
        awaitReady(tmp.resolve("state/daemon.sock"));
        String shown = interactiveSession(List.of("run", "--policy", "airlock.yaml", "--env", "AIRLOCK_TEST_GIVEN", "--"),
                java.util.Optional.of(daemon), "pooled, on an image");
        assertThat(shown).as("the run came from the pool").contains("from the daemon's pool");
        onTheImage(shown);
    }

    @Test
    void run_throughTheWarmPool_clientKilled_restoresTheTerminal_andEndsTheCommand() throws Exception {
        requireRoot();
        Process daemon = startDaemon(writeConfig());
        awaitReady(tmp.resolve("state/daemon.sock"));
        try (HostPty pty = HostPty.open(24, 80)) {
            Process cli = cli(pty, List.of("run", "--policy", "airlock.yaml", "--", "/bin/bash", "--norc", "--noprofile", "-i"));
            ask(pty, "echo \"RE\"\"ADY\"", "READY");
            pty.type("sleep 999\r");
            ProcessHandle sleep = awaitDescendant(daemon.toHandle(), "sleep", "999");
            assertThat(stty(pty)).as("raw while the command runs").contains("-icanon");
            cli.destroy(); // SIGTERM, as a closing terminal emulator or `kill` sends
            cli.waitFor();
            assertThat(stty(pty)).as("restored by the shutdown hook").contains(" icanon", " echo ").doesNotContain("-icanon");
            sleep.onExit().get(DEADLINE.toSeconds(), java.util.concurrent.TimeUnit.SECONDS); // the daemon ended the command when its client went away
            assertThat(sleep.isAlive()).isFalse();
        }
    }

    /** Pushes "INJECTED\n" with TIOCSTI through stdin, stdout, stderr and /dev/tty; prints how many pushes worked and its stdin's device. */
    private static final String PUSH = "my $n = 0; my @h = (\\*STDIN, \\*STDOUT, \\*STDERR); my $t;"
            + " push @h, $t if open($t, '+<', '/dev/tty');"
            + " for my $h (@h) { for my $c (split //, \"INJECTED\\n\") { $n++ if ioctl($h, 0x5412, $c) } }"
            + " my @s = stat(STDIN); print \"PUSHED=$n STDIN=$s[0]:$s[6]\\n\";";

    @Test
    void tiocsti_fromInside_neverReachesTheCallersTerminal_whileOutsideAirlockItDoes() throws Exception {
        requireRoot();
        writeConfig();
        Path ws = workspace();
        // positive control: the same program outside Airlock, on a terminal that is its controlling terminal
        try (HostPty outer = HostPty.open(24, 80)) {
            Process p = new ProcessBuilder("/usr/bin/setsid", "--ctty", "--wait", "/usr/bin/perl", "-e", PUSH)
                    .redirectInput(ProcessBuilder.Redirect.from(outer.terminal())).redirectOutput(ProcessBuilder.Redirect.appendTo(outer.terminal()))
                    .redirectErrorStream(true).start();
            assertThat(p.waitFor()).isZero();
            outer.await(0, "PUSHED=[1-9]", DEADLINE);
            assertThat(outer.pendingInput()).as("outside Airlock, TIOCSTI types into the caller's terminal").contains("INJECTED");
        }
        // through Airlock with a terminal: the command's terminal is its own, in the sandbox's devpts
        try (HostPty outer = HostPty.open(24, 80)) {
            Object hostDevpts = Files.getAttribute(Path.of(outer.terminalPath()), "unix:dev");
            Process cli = cli(outer, List.of("run", "--no-daemon", "--policy", "airlock.yaml", "--org", "org.yaml", "--hosts", "hosts",
                    "--workspace", ws.toString(), "--", "/usr/bin/perl", "-e", PUSH));
            assertThat(cli.waitFor()).isZero();
            Matcher m = outer.await(0, "PUSHED=(\\d+) STDIN=(\\d+):(\\d+)", DEADLINE);
            assertThat(Long.parseLong(m.group(2))).as("the command's stdin is on the sandbox's devpts, not the caller's")
                    .isNotEqualTo(((Number) hostDevpts).longValue());
            assertThat(Long.parseLong(m.group(1))).as("inside, the pushes land in the command's own terminal").isPositive();
            assertThat(outer.pendingInput()).as("nothing waits in the caller's terminal").doesNotContain("INJECTED");
        }
        // through Airlock with pipes (stdin not a terminal; stdout and stderr the caller's terminal): --new-session
        try (HostPty outer = HostPty.open(24, 80)) {
            List<String> argv = new ArrayList<>(List.of("/usr/bin/setsid", "--ctty", "--wait", "/bin/sh", "-c", "exec \"$@\" </dev/null", "sh",
                    java(), "-cp", System.getProperty("java.class.path"), Main.class.getName(), "run", "--no-daemon", "--policy", "airlock.yaml",
                    "--org", "org.yaml", "--hosts", "hosts", "--workspace", ws.toString(), "--", "/usr/bin/perl", "-e", PUSH));
            Process cli = new ProcessBuilder(argv).directory(tmp.toFile()).redirectInput(ProcessBuilder.Redirect.from(outer.terminal()))
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(outer.terminal())).redirectErrorStream(true).start();
            started.add(cli);
            assertThat(cli.waitFor()).isZero();
            assertThat(outer.await(0, "PUSHED=(\\d+)", DEADLINE).group(1)).as("no push reaches a terminal the sandbox does not control")
                    .isEqualTo("0");
            assertThat(outer.pendingInput()).as("nothing waits in the caller's terminal").doesNotContain("INJECTED");
        }
    }
}
