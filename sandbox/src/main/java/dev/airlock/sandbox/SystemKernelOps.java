package dev.airlock.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The real host's {@link KernelOps}: the one place where the launcher's privileges are used.
 *
 * <p>Design, after bubblewrap's: every privileged operation is a {@link KernelOp} record, and
 * {@link KernelAuthorizer#authorize(KernelOp)} is the single switch over them. It has no default (the sealed interface makes
 * the compiler prove it exhaustive), and each arm checks the operation's preconditions again, here,
 * at the privileged point, whatever the caller already checked: every name has an exact
 * {@code alk} shape ({@link Names}), names within one operation belong to the same sandbox, a cgroup
 * path sits directly under a cgroup root of this host, sysctl keys and cgroup files come from closed
 * lists, an nftables ruleset defines only its own table, a default route is only ever added inside
 * a sandbox namespace, and the TPROXY rule has exactly the launcher's mark and table. An operation
 * that fails its checks is refused with a {@link SandboxException}; {@link #execute} checks every
 * operation of a call before it runs any, so a refused call changes nothing.
 *
 * <p>An authorized operation becomes {@link Step}s, which only that switch creates; {@link StepRunner}
 * runs them in order; consecutive {@code ip} steps for the same namespace run as one {@code ip -batch} (each
 * {@code ip} or {@code nft} costs a fork and exec). Deletions are idempotent: a missing object is
 * skipped, and an object that vanished while being deleted counts as deleted.
 *
 * <p>Every command runs under {@code setpriv --pdeathsig KILL}: if this JVM dies (kill -9), the
 * command dies with it instead of creating objects after the reaper has looked. Every process is
 * forked by {@link Spawner}'s one long-lived thread, because that signal follows the thread that
 * forked, not the process.
 */
final class SystemKernelOps implements KernelOps {

    /** Shared by every launcher on the host; tmpfs, so it is lost at reboot together with the objects. */
    static final Path RUN_DIR = Path.of("/run/airlock/sandbox");
    /** Where {@code ip netns add} mounts named namespaces. */
    static final Path NETNS_DIR = Path.of("/run/netns");
    /** The host namespace's links (this JVM's /sys was mounted in the host namespace). */
    static final Path SYS_NET = Path.of("/sys/class/net");
    static final Path PROC_SYS = Path.of("/proc/sys");
    /** The only sysctls set inside a sandbox namespace: IPv6 off, for its existing and future links. */
    static final Set<String> NETNS_SYSCTLS = Set.of("net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6");
    /** The only host sysctl: IPv6 off on a sandbox's host link. */
    static final Pattern HOST_SYSCTL = Pattern.compile("net\\.ipv6\\.conf\\.(" + Names.HOST_LINK.pattern() + ")\\.disable_ipv6");
    /** The cgroup files a limit may be written to (v2, then v1). */
    static final Set<String> LIMIT_FILES = Set.of("memory.max", "cpu.max", "pids.max",
            "memory.limit_in_bytes", "cpu.cfs_period_us", "cpu.cfs_quota_us");
    static final Pattern LIMIT_VALUE = Pattern.compile("max|[0-9]{1,19}( [0-9]{1,19})?");
    /** Bounds every ip/nft/sysctl command; they take milliseconds. */
    static final long COMMAND_TIMEOUT_MS = 30_000;
    /** Bounds the wait for a killed cgroup to empty; SIGKILL'd processes exit in milliseconds. */
    static final long CGROUP_EMPTY_TIMEOUT_MS = 10_000;
    /** The minimal environment of every command this class runs as root. */
    static final String ROOT_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

    /**
     * Joins the cgroups given as arguments, then execs the rest. It runs as root before anything
     * else of the sandbox exists, so every process the command ever forks starts inside the cgroups:
     * there is no window in which a child could be forked outside them. If a join fails, nothing
     * runs (exit 125, "Airlock error").
     */
    static final String JOIN_SCRIPT = "n=$1; shift; while [ \"$n\" -gt 0 ]; do "
            + "echo $$ > \"$1/cgroup.procs\" || { echo \"airlock: cannot join cgroup $1\" >&2; exit 125; }; "
            + "shift; n=$((n-1)); done; exec \"$@\"";

    private final Tools tools;
    private final CgroupLayout layout;
    private final Host host;
    private final Path runDir;
    private final KernelAuthorizer authorizer;
    private final StepRunner runner;

    SystemKernelOps(Tools tools, CgroupLayout layout, Host host, Path runDir) {
        this.tools = tools;
        this.layout = layout;
        this.host = host;
        this.runDir = runDir;
        this.authorizer = new KernelAuthorizer(tools, layout, host);
        this.runner = new StepRunner(tools, host);
    }

    static SystemKernelOps create() throws SandboxException {
        Tools tools = Tools.resolve();
        return new SystemKernelOps(tools, CgroupLayout.detect(), new SystemHost(tools), RUN_DIR);
    }

    // ---------------------------------------------------------------------------------------------
    // The privileged switch (KernelAuthorizer) and its steps (StepRunner)

    @Override
    public void execute(List<KernelOp> ops) throws SandboxException {
        runner.run(authorizer.authorize(ops));
    }

    // ---------------------------------------------------------------------------------------------
    // The privileged start

    @Override
    public Process start(Launch l) throws SandboxException {
        String hex = KernelAuthorizer.shape(Names.NETNS, l.netns(), "network namespace");
        if (!host.exists(NETNS_DIR.resolve(l.netns()))) {
            throw new SandboxException("sandbox " + l.netns() + " has no network namespace any more (destroyed or reaped)."
                    + " Fix: prepare a new sandbox.");
        }
        if (l.cgroups().isEmpty()) {
            throw new SandboxException("refused " + l.netns() + ": a sandbox runs inside its cgroups, and none were given. This is a bug in the caller.");
        }
        for (Path d : l.cgroups()) {
            KernelOp op = new KernelOp.CreateCgroup(d);
            KernelAuthorizer.same(hex, KernelAuthorizer.shape(Names.CGROUP, authorizer.cgroup(d, op).getFileName().toString(), "cgroup"), op);
            if (!host.exists(d)) {
                throw new SandboxException("sandbox " + l.netns() + " has no cgroup " + d + " any more. Fix: prepare a new sandbox.");
            }
        }
        if (l.uid() <= 0 || l.gid() <= 0) {
            throw new SandboxException("refused " + l.netns() + ": a sandbox never runs as uid or gid 0 (got " + l.uid() + "/" + l.gid()
                    + "). This is a bug in the caller.");
        }
        List<String> args = l.bwrapArgs();
        BwrapArgs.check(args, l.uid(), l.gid(), runDir.resolve(l.netns()).resolve("etc"));
        if (l.command().isEmpty()) {
            throw new SandboxException("no command to run. Fix: give a command after `--`.");
        }
        List<String> argv = new ArrayList<>();
        if (l.ownSession()) {
            // setsid(1) execs in place (the JVM's child leads no process group), so the PID the caller holds stays the sandbox's.
            argv.add(tools.setsid().toString());
        }
        argv.addAll(List.of(tools.sh().toString(), "-c", JOIN_SCRIPT, "airlock-join", Integer.toString(l.cgroups().size())));
        l.cgroups().forEach(d -> argv.add(d.toString()));
        // Enter the namespace as root, then drop to the sandbox user before bubblewrap runs: bwrap
        // started as root maps the sandbox uid to root outside (kuid 0), which could read every
        // root-owned file it can see. Started as the user, it maps the user to itself.
        argv.addAll(List.of(tools.nsenter().toString(), "--net=" + NETNS_DIR.resolve(l.netns()), "--",
                tools.setpriv().toString(), "--reuid=" + l.uid(), "--regid=" + l.gid(), "--clear-groups", "--no-new-privs", "--",
                tools.bwrap().toString()));
        argv.addAll(args);
        argv.add("--");
        argv.addAll(l.command());
        ProcessBuilder pb = new ProcessBuilder(argv);
        // The root part of the chain sees nothing of the caller's environment (LD_PRELOAD, BASH_ENV…):
        // the sandbox's own environment travels as bubblewrap arguments.
        pb.environment().clear();
        pb.environment().put("PATH", ROOT_PATH);
        try {
            pb.redirectInput(l.in());
            pb.redirectOutput(l.out());
            pb.redirectError(l.err());
        } catch (IllegalArgumentException e) {
            throw new SandboxException("invalid stdio for sandbox " + l.netns() + ": " + e.getMessage()
                    + ". Fix: stdin is INHERIT, PIPE or a file to read; stdout and stderr INHERIT, PIPE, DISCARD or a file.", e);
        }
        try {
            return host.start(pb);
        } catch (IOException e) {
            throw new SandboxException("cannot start " + tools.sh() + " for sandbox " + l.netns() + ": " + e, e);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Read-only views

    @Override
    public KernelInventory inventory() throws SandboxException {
        Set<String> tables = new LinkedHashSet<>();
        Host.Result r = host.exec(List.of(tools.nft().toString(), "list", "tables"), "");
        if (!r.ok()) {
            throw StepRunner.failed(r);
        }
        for (String line : r.out().split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 3 && f[0].equals("table") && f[1].equals("inet")) {
                tables.add(f[2]);
            }
        }
        Set<Path> cgroups = new LinkedHashSet<>();
        for (Path root : layout.roots()) {
            host.list(root).forEach(n -> cgroups.add(root.resolve(n)));
        }
        return new KernelInventory(new HashSet<>(host.list(NETNS_DIR)), new HashSet<>(host.list(SYS_NET)), tables, cgroups,
                runner.policyRulePresent(), runner.overlayMounts());
    }

    @Override
    public CgroupLayout cgroups() {
        return layout;
    }

    @Override
    public Path runDir() {
        return runDir;
    }

    @Override
    public Owner self() {
        long pid = ProcessHandle.current().pid();
        return new Owner(pid, startTicks(pid));
    }

    @Override
    public boolean alive(Owner owner) {
        return owner.pid() > 0 && startTicks(owner.pid()) == owner.startTicks();
    }

    /** Field 22 of /proc/pid/stat, or -1 when there is no such process. */
    static long startTicks(long pid) {
        String stat = readQuietly(Path.of("/proc", Long.toString(pid), "stat"));
        return stat == null ? -1 : parseStartTicks(stat);
    }

    /** The start time in a /proc/pid/stat line; the command name may hold spaces and parentheses. */
    static long parseStartTicks(String stat) {
        int close = stat.lastIndexOf(')');
        if (close < 0) {
            return -1;
        }
        String[] f = stat.substring(close + 2).trim().split("\\s+");
        // f[0] is field 3 (state), so field 22 is f[19].
        return f.length > 19 ? Long.parseLong(f[19]) : -1;
    }

    static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return null;
        }
    }
}
