package dev.airlock.sandbox;

import static dev.airlock.sandbox.KernelSupport.admin;
import static dev.airlock.sandbox.KernelSupport.inSandbox;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a sandboxed command can see and do, against the real kernel (egress-cases E: tampering and
 * files): its identity, its capabilities, its files, its network configuration, and its limits.
 * Needs root; with {@code CI=true} a machine without it fails, elsewhere the class is skipped.
 */
class SandboxIsolationIT {

    private static final ProcessBuilder.Redirect NO_INPUT = ProcessBuilder.Redirect.from(new java.io.File("/dev/null"));
    private static final GatewayPorts PORTS = new GatewayPorts(15001, 15053);
    /** Bounds each sandboxed script; they take well under a second. */
    private static final Duration SCRIPT = Duration.ofSeconds(30);

    @TempDir
    static Path tmp;
    static SandboxLauncher launcher;
    static CgroupLayout layout;

    @BeforeAll
    static void setUp() throws Exception {
        KernelSupport.requireRoot("nsenter", "ip", "nft");
        launcher = SandboxLauncher.system(tmp.resolve("state"));
        layout = KernelOps.system().cgroups();
    }

    @AfterAll
    static void tearDown() {
        if (launcher != null) {
            launcher.close();
            assertThat(KernelSupport.leftovers(layout)).isEmpty();
        }
    }

    @AfterEach
    void destroyAll() {
        launcher.close();
        launcher = SandboxLauncher.system(tmp.resolve("state"));
    }

    private PreparedSandbox prepare(String name, Resources r) throws Exception {
        return launcher.prepare(new SandboxSpec("it", KernelSupport.workspace(tmp, name), r, PORTS));
    }

    private PreparedSandbox prepare(String name) throws Exception {
        return prepare(name, new Resources(256L << 20, 1, 128));
    }

    @Test
    void claim_runsAsAnUnprivilegedUser_seesOnlyItsOwnFilesAndLink() throws Exception {
        PreparedSandbox p = prepare("ws-identity");
        KernelSupport.Result r = inSandbox(launcher, p, SCRIPT, """
                echo "uid=$(id -u) gid=$(id -g)"
                grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs)' /proc/self/status
                echo "in /home: $(ls -A /home | tr '\\n' ' ')"
                for d in /root /run /var /sys /etc/shadow /etc/sudoers /var/lib/airlock /run/docker.sock; do
                  if [ -e "$d" ]; then echo "visible $d"; fi
                done
                echo "resolv: $(cat /etc/resolv.conf | grep nameserver)"
                ip -o addr | awk '{print "addr", $2, $3, $4}'
                echo "ipv6 disabled: $(cat /proc/sys/net/ipv6/conf/all/disable_ipv6)"
                echo "processes: $(ls /proc | grep -c '^[0-9]')"
                echo "cwd: $(pwd) home: $HOME"
                touch /workspace/written && echo "workspace writable"
                touch /usr/x 2>/dev/null || echo "usr read-only"
                touch /x 2>/dev/null || echo "root read-only"
                """);
        assertThat(r.exit()).as(r.toString()).isZero();
        String uid = r.out().lines().filter(l -> l.startsWith("uid=")).findFirst().orElseThrow();
        assertThat(uid).doesNotStartWith("uid=0 ").isEqualTo("uid=" + SandboxUser.fromEnvironment(System.getenv()).uid() + " gid="
                + SandboxUser.fromEnvironment(System.getenv()).gid());
        assertThat(r.out()).contains("CapEff:\t0000000000000000", "CapPrm:\t0000000000000000", "NoNewPrivs:\t1")
                .doesNotContain("visible ")
                .contains("resolv: nameserver " + p.hostAddress())
                .contains("in /home: airlock ") // the host's /home is absent: only the sandbox's own home
                .contains("ipv6 disabled: 1", "cwd: /workspace home: /home/airlock", "workspace writable", "usr read-only", "root read-only");
        // one link and loopback, IPv4 only: the only address besides 127.0.0.1 is the sandbox's own
        assertThat(r.out().lines().filter(l -> l.startsWith("addr ")).toList())
                .containsExactlyInAnyOrder("addr lo inet 127.0.0.1/8", "addr " + p.sandboxVeth() + " inet " + p.sandboxAddress() + "/30");
        // its own PID namespace: bubblewrap's init, the shell, and the commands of the script
        int processes = Integer.parseInt(r.out().lines().filter(l -> l.startsWith("processes: ")).findFirst().orElseThrow().substring(11));
        assertThat(processes).isLessThan(10);
        // the file belongs to the sandbox user on the host too: no uid 0 behind the user namespace
        assertThat(Files.getAttribute(p.workspace().resolve("written"), "unix:uid")).isEqualTo(SandboxUser.fromEnvironment(System.getenv()).uid());
    }

    @Test
    void claim_homeIsOutsideTheWorkspace_toolStateNeverLandsInIt_andLastsForTheSandbox() throws Exception {
        PreparedSandbox p = prepare("ws-home");
        KernelSupport.Result r = inSandbox(launcher, p, SCRIPT, """
                echo "home=$HOME passwd=$(grep '^airlock:' /etc/passwd | cut -d: -f6) tilde=$(cd ~ && pwd)"
                echo "registry=http://198.18.0.1/" > ~/.npmrc && mkdir -p ~/.cache/tool ~/.config/tool ~/.npm/_logs && echo x > ~/.claude.json
                ls -ld "$HOME" | cut -c1-10
                echo "in home: $(ls -A ~ | tr '\\n' ' ')"
                echo positive > /workspace/written-in-workspace
                """);
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.out()).contains("home=/home/airlock passwd=/home/airlock tilde=/home/airlock", "drwx------",
                "in home: .cache .claude.json .config .npm .npmrc");
        // positive control: what the command writes in /workspace is in the host's workspace; what it wrote in its home is not
        try (var ws = Files.list(p.workspace())) {
            assertThat(ws.map(f -> f.getFileName().toString()).toList()).containsExactly("written-in-workspace");
        }
        // a second command of the same sandbox (the daemon's exec) finds the home as the first left it
        Process exec = launcher.exec(p, List.of("/bin/sh", "-c", "cat ~/.npmrc"), Map.of(), NO_INPUT, ProcessBuilder.Redirect.PIPE,
                ProcessBuilder.Redirect.PIPE);
        KernelSupport.Result again = KernelSupport.finish("exec: cat ~/.npmrc", exec, "", SCRIPT);
        assertThat(again.out()).as(again.toString()).isEqualTo("registry=http://198.18.0.1/\n");
    }

    @Test
    void destroy_removesTheHome_withoutFollowingALinkTheSandboxLeftInIt() throws Exception {
        Path canary = Files.writeString(tmp.resolve("canary-" + System.nanoTime()), "host's");
        Files.createDirectories(tmp.resolve("canary-dir"));
        Files.writeString(tmp.resolve("canary-dir/keep"), "host's");
        PreparedSandbox p = prepare("ws-home-links");
        KernelSupport.Result r = inSandbox(launcher, p, SCRIPT, "ln -s " + canary + " ~/to-file && ln -s " + tmp.resolve("canary-dir")
                + " ~/to-dir && mkdir -p ~/deep/er && echo x > ~/deep/er/f");
        assertThat(r.exit()).as(r.toString()).isZero();
        Path home = SystemKernelOps.RUN_DIR.resolve(Names.netns(p.id())).resolve(BwrapArgs.HOME_DIR);
        // positive control: the links are there on the host, in the sandbox's home
        assertThat(Files.isSymbolicLink(home.resolve("to-file"))).isTrue();
        assertThat(Files.isSymbolicLink(home.resolve("to-dir"))).isTrue();

        launcher.destroy(p);

        assertThat(home).doesNotExist();
        assertThat(canary).hasContent("host's");
        assertThat(tmp.resolve("canary-dir/keep")).hasContent("host's");
    }

    @Test
    void claim_cannotTamperWithItsNetworkOrRegainPrivileges() throws Exception {
        PreparedSandbox p = prepare("ws-tamper");
        Map<String, String> attempts = new LinkedHashMap<>();
        attempts.put("link-down", "ip link set " + p.sandboxVeth() + " down");
        attempts.put("lo-down", "ip link set lo down");
        attempts.put("addr-add", "ip addr add 100.96.255.1/32 dev lo");
        attempts.put("route-del", "ip route del default");
        attempts.put("route-add", "ip route add 198.18.77.0/24 dev " + p.sandboxVeth());
        attempts.put("nft-list", "/usr/sbin/nft list ruleset");
        attempts.put("nft-flush", "/usr/sbin/nft flush ruleset");
        attempts.put("sysctl", "echo 0 > /proc/sys/net/ipv6/conf/all/disable_ipv6");
        attempts.put("new-userns", "unshare -U true");
        attempts.put("new-userns-root", "unshare -Ur true");
        attempts.put("new-netns", "unshare -n true");
        attempts.put("new-mountns", "unshare -m true");
        attempts.put("raw-socket", "ping -c1 -W1 127.0.0.1");
        attempts.put("mount", "mount -t tmpfs none /tmp");
        StringBuilder script = new StringBuilder();
        attempts.forEach((name, cmd) -> script.append(cmd).append(" >/dev/null 2>&1; echo \"").append(name).append("=$?\"\n"));
        KernelSupport.Result r = inSandbox(launcher, p, SCRIPT, script.toString());
        for (String name : attempts.keySet()) {
            String line = r.out().lines().filter(l -> l.startsWith(name + "=")).findFirst().orElseThrow(() -> new AssertionError(r.toString()));
            assertThat(line).as("%s must fail: %s", name, attempts.get(name)).isNotEqualTo(name + "=0");
        }
        // and nothing changed, seen from the host
        assertThat(admin("ip", "-n", p.netns(), "-o", "link", "show", p.sandboxVeth())).contains("UP");
        assertThat(admin("ip", "-n", p.netns(), "route")).contains("default via " + p.hostAddress());
        assertThat(admin("ip", "-n", p.netns(), "-o", "addr")).doesNotContain("100.96.255.1");
        assertThat(admin("nsenter", "--net=/run/netns/" + p.netns(), "nft", "list", "tables")).contains("inet " + p.nftTable());
        assertThat(admin("nft", "list", "tables")).contains("inet " + p.nftTable());
    }

    @Test
    void claim_cannotReadAnotherSandboxsWorkspace_norFollowLinksOut() throws Exception {
        PreparedSandbox a = prepare("ws-a");
        PreparedSandbox b = prepare("ws-b");
        Files.writeString(b.workspace().resolve("secret.txt"), "b's secret");
        Files.createSymbolicLink(a.workspace().resolve("to-b"), b.workspace().resolve("secret.txt"));
        Files.createSymbolicLink(a.workspace().resolve("to-shadow"), Path.of("/etc/shadow"));
        Files.createSymbolicLink(a.workspace().resolve("to-root"), Path.of("/"));
        // the positive control: the file is there, readable, on the host
        assertThat(Files.readString(a.workspace().resolve("to-b"))).isEqualTo("b's secret");

        KernelSupport.Result r = inSandbox(launcher, a, SCRIPT, "cat " + b.workspace().resolve("secret.txt") + " 2>&1; echo \"direct=$?\"\n"
                + "cat /workspace/to-b 2>&1; echo \"link=$?\"\ncat /workspace/to-shadow 2>&1; echo \"shadow=$?\"\n"
                + "ls /workspace/to-root/ | tr '\\n' ' '; echo\n");
        assertThat(r.out()).doesNotContain("b's secret").contains("direct=1", "link=1", "shadow=1");
        // "/" seen through a link is the sandbox's own root, not the host's (its home is /home/airlock, so "home" is there)
        assertThat(r.out()).contains("workspace").doesNotContain("root ", "var ", "boot ");
    }

    @Test
    void prepare_appliesTheCgroupLimits_andAForkBombStopsAtPidsMax() throws Exception {
        PreparedSandbox p = prepare("ws-limits", new Resources(256L << 20, 0.5, 32));
        Map<String, String> limits = limitFiles(p.id());
        for (Map.Entry<String, String> e : limits.entrySet()) {
            assertThat(Files.readString(Path.of(e.getKey())).trim()).as(e.getKey()).isEqualTo(e.getValue());
        }
        Path pids = p.cgroup(); // the v2 directory, or the v1 pids hierarchy's
        // The bomb is bounded: at most 200 forks, each a sleep that the teardown kills.
        Process bomb = launcher.claim(p, List.of("/bin/sh", "-c", "for i in $(seq 1 200); do sleep 600 & done 2>/dev/null; sleep 600"),
                Map.of(), NO_INPUT, ProcessBuilder.Redirect.DISCARD, ProcessBuilder.Redirect.DISCARD);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        // the wrapper joins the cgroup first thing, before anything forks: the claimed process itself is inside
        while (!Files.readString(pids.resolve("cgroup.procs")).contains(Long.toString(bomb.pid())) && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(Files.readString(pids.resolve("cgroup.procs")).lines()).contains(Long.toString(bomb.pid()));
        while (maxEvents(pids) == 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(maxEvents(pids)).as("the bomb hit pids.max").isPositive();
        assertThat(Long.parseLong(Files.readString(pids.resolve("pids.current")).trim())).isLessThanOrEqualTo(32);
        assertThat(Files.readString(pids.resolve("cgroup.procs")).lines().count()).isLessThanOrEqualTo(32);

        launcher.destroy(p);
        assertThat(bomb.waitFor(30, TimeUnit.SECONDS)).as("destroy killed the sandbox's processes").isTrue();
        for (Path d : layout.dirs(p.id())) {
            assertThat(d).doesNotExist();
        }
    }

    @Test
    void claim_exitCodes_passThrough_notFoundIs127() throws Exception {
        PreparedSandbox a = prepare("ws-exit");
        assertThat(inSandbox(launcher, a, SCRIPT, "exit 7").exit()).isEqualTo(7);
        PreparedSandbox b = prepare("ws-notfound");
        Process pr = launcher.claim(b, List.of("no-such-command-here"), Map.of(), NO_INPUT,
                ProcessBuilder.Redirect.DISCARD, ProcessBuilder.Redirect.DISCARD);
        assertThat(pr.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(pr.exitValue()).isEqualTo(127);
    }

    @Test
    void claim_environment_isExactlyTheGivenOneOverDefaults() throws Exception {
        PreparedSandbox p = prepare("ws-env");
        Process pr = launcher.claim(p, List.of("/usr/bin/env"), Map.of("AGENT_TOKEN", "t0k3n"), ProcessBuilder.Redirect.PIPE,
                ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.PIPE);
        KernelSupport.Result r = KernelSupport.finish("env", pr, "", SCRIPT);
        assertThat(r.out().lines().map(l -> l.substring(0, l.indexOf('='))).sorted().toList())
                // PWD is the sandbox shell's own (it runs the command through `exec "$@"`)
                .containsExactly("AGENT_TOKEN", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO", "HOME", "LOGNAME", "NODE_EXTRA_CA_CERTS",
                        "NPM_CONFIG_CAFILE", "PATH", "PIP_CERT", "PWD", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "USER");
    }

    @Test
    void standby_go_runsTheCommandWithTheClaimsEnvironment_inTheWorkspace_withStdinAfterTheHeader() throws Exception {
        PreparedSandbox p = prepare("ws-standby");
        Standby s = launcher.standby(p);
        assertThat(s.process().isAlive()).as("the init waits for its command").isTrue();
        s.go(List.of("/bin/sh", "-c", "pwd; echo \"$AGENT_TOKEN\"; env -0 | xargs -0 -n1 sh -c 'echo \"${0%%=*}\"' | sort | tr '\\n' ' '; echo; cat; exit 3"),
                Map.of("AGENT_TOKEN", "it's \"quoted\"\nand multi-line"));
        KernelSupport.Result r = KernelSupport.finish("standby", s.process(), "from stdin\n", SCRIPT);
        assertThat(r.exit()).isEqualTo(3);
        assertThat(r.out()).isEqualTo("/workspace\nit's \"quoted\"\nand multi-line\n"
                + "AGENT_TOKEN CURL_CA_BUNDLE GIT_SSL_CAINFO HOME LOGNAME NODE_EXTRA_CA_CERTS NPM_CONFIG_CAFILE PATH PIP_CERT PWD"
                + " REQUESTS_CA_BUNDLE SSL_CERT_FILE USER \nfrom stdin\n");
    }

    @Test
    void standby_go_exitCodes_asFromAShell_andANameWithEqualsIsACommandNotAVariable() throws Exception {
        Standby found = launcher.standby(prepare("ws-standby-127"));
        found.go(List.of("no-such-command-here"), Map.of());
        assertThat(found.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(found.process().exitValue()).isEqualTo(127);
        Standby notRunnable = launcher.standby(prepare("ws-standby-126"));
        notRunnable.go(List.of("/etc/passwd"), Map.of());
        assertThat(notRunnable.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(notRunnable.process().exitValue()).isEqualTo(126);
        // env would read "A=B" as a variable and run "true" (exit 0); the command is named "A=B" and is not found
        Standby equals = launcher.standby(prepare("ws-standby-equals"));
        equals.go(List.of("A=B", "true"), Map.of());
        assertThat(equals.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(equals.process().exitValue()).isEqualTo(127);
    }

    @Test
    void standby_go_twice_isRefused_andACutHeaderNeverStartsTheCommand() throws Exception {
        PreparedSandbox p = prepare("ws-standby-twice");
        Standby s = launcher.standby(p);
        s.go(List.of("true"), Map.of());
        assertThat(s.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(s.process().exitValue()).isZero();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> s.go(List.of("true"), Map.of()))
                .isInstanceOf(SandboxException.class).hasMessageContaining("already started");

        Standby cut = launcher.standby(prepare("ws-standby-cut"));
        cut.process().getOutputStream().write("1\0PATH=/usr/bin".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        cut.process().getOutputStream().close();
        assertThat(cut.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(cut.process().exitValue()).isEqualTo(125);
    }

    @Test
    void exec_startsFurtherCommands_inTheSameWorkspaceAndNetwork() throws Exception {
        PreparedSandbox p = prepare("ws-exec");
        assertThat(inSandbox(launcher, p, SCRIPT, "echo one > note.txt").exit()).isZero();
        Process second = launcher.exec(p, List.of("/bin/sh", "-c", "cat note.txt; ip -o link show | grep -c alk"), Map.of(),
                NO_INPUT, ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.PIPE);
        KernelSupport.Result r = KernelSupport.finish("exec", second, "", SCRIPT);
        assertThat(r.out()).isEqualTo("one\n1\n");
    }

    /** The limit files of sandbox {@code id} and the values they must hold (v2 or v1 layout). */
    private static Map<String, String> limitFiles(String id) {
        Map<String, String> m = new LinkedHashMap<>();
        if (layout instanceof CgroupLayout.Unified u) {
            Path d = u.root().resolve(id);
            m.put(d.resolve("memory.max").toString(), Long.toString(256L << 20));
            m.put(d.resolve("cpu.max").toString(), "50000 100000");
            m.put(d.resolve("pids.max").toString(), "32");
        } else if (layout instanceof CgroupLayout.Legacy l) {
            m.put(l.memory().resolve(id).resolve("memory.limit_in_bytes").toString(), Long.toString(256L << 20));
            m.put(l.cpu().resolve(id).resolve("cpu.cfs_quota_us").toString(), "50000");
            m.put(l.cpu().resolve(id).resolve("cpu.cfs_period_us").toString(), "100000");
            m.put(l.pids().resolve(id).resolve("pids.max").toString(), "32");
        }
        return m;
    }

    private static long maxEvents(Path pidsCgroup) throws Exception {
        String events = Files.readString(pidsCgroup.resolve("pids.events"));
        return events.lines().filter(l -> l.startsWith("max ")).mapToLong(l -> Long.parseLong(l.substring(4).trim())).sum();
    }
}
