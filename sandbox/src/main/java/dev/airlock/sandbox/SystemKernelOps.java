package dev.airlock.sandbox;

import dev.airlock.policy.address.IpAddress;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The real host's {@link KernelOps}: the one place where the launcher's privileges are used.
 *
 * <p>Design, after bubblewrap's: every privileged operation is a {@link KernelOp} record, and
 * {@link #authorize} is the single switch over them. It has no default (the sealed interface makes
 * the compiler prove it exhaustive), and each arm checks the operation's preconditions again, here,
 * at the privileged point, whatever the caller already checked: every name has an exact
 * {@code alk} shape ({@link Names}), names within one operation belong to the same sandbox, a cgroup
 * path sits directly under a cgroup root of this host, sysctl keys and cgroup files come from closed
 * lists, an nftables ruleset defines only its own table, a default route is only ever added inside
 * a sandbox namespace, and the TPROXY rule has exactly the launcher's mark and table. An operation
 * that fails its checks is refused with a {@link SandboxException}; {@link #execute} checks every
 * operation of a call before it runs any, so a refused call changes nothing.
 *
 * <p>An authorized operation becomes {@link Step}s, which only this switch creates. Steps run in
 * order; consecutive {@code ip} steps for the same namespace run as one {@code ip -batch} (each
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
    private static final Path PROC_SYS = Path.of("/proc/sys");
    /** The only sysctls set inside a sandbox namespace: IPv6 off, for its existing and future links. */
    static final Set<String> NETNS_SYSCTLS = Set.of("net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6");
    /** The only host sysctl: IPv6 off on a sandbox's host link. */
    private static final Pattern HOST_SYSCTL = Pattern.compile("net\\.ipv6\\.conf\\.(" + Names.HOST_LINK.pattern() + ")\\.disable_ipv6");
    /** The cgroup files a limit may be written to (v2, then v1). */
    static final Set<String> LIMIT_FILES = Set.of("memory.max", "cpu.max", "pids.max",
            "memory.limit_in_bytes", "cpu.cfs_period_us", "cpu.cfs_quota_us");
    private static final Pattern LIMIT_VALUE = Pattern.compile("max|[0-9]{1,19}( [0-9]{1,19})?");
    /** Bounds every ip/nft/sysctl command; they take milliseconds. */
    private static final long COMMAND_TIMEOUT_MS = 30_000;
    /** Bounds the wait for a killed cgroup to empty; SIGKILL'd processes exit in milliseconds. */
    private static final long CGROUP_EMPTY_TIMEOUT_MS = 10_000;
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

    SystemKernelOps(Tools tools, CgroupLayout layout, Host host, Path runDir) {
        this.tools = tools;
        this.layout = layout;
        this.host = host;
        this.runDir = runDir;
    }

    static SystemKernelOps create() throws SandboxException {
        Tools tools = Tools.resolve();
        return new SystemKernelOps(tools, CgroupLayout.detect(), new SystemHost(tools), RUN_DIR);
    }

    // ---------------------------------------------------------------------------------------------
    // The privileged switch

    @Override
    public void execute(List<KernelOp> ops) throws SandboxException {
        List<Step> steps = new ArrayList<>();
        for (KernelOp op : ops) {
            steps.addAll(authorize(op));
        }
        run(steps);
    }

    /** The single switch: checks {@code op}'s preconditions and translates it into steps. */
    private List<Step> authorize(KernelOp op) throws SandboxException {
        return switch (op) {
            case KernelOp.CreateNetns o -> {
                shape(Names.NETNS, o.name(), "network namespace");
                yield List.of(new Ip(null, "netns add " + o.name(), null));
            }
            case KernelOp.DeleteNetns o -> {
                shape(Names.NETNS, o.name(), "network namespace");
                yield List.of(new Ip(null, "netns del " + o.name(), NETNS_DIR.resolve(o.name())));
            }
            case KernelOp.CreateVethPair o -> {
                String hex = shape(Names.HOST_LINK, o.host(), "host link");
                same(hex, shape(Names.SANDBOX_LINK, o.peer(), "sandbox link"), op);
                same(hex, shape(Names.NETNS, o.peerNetns(), "network namespace"), op);
                yield List.of(new Ip(null, "link add " + o.host() + " type veth peer name " + o.peer() + " netns " + o.peerNetns(), null));
            }
            case KernelOp.DeleteLink o -> {
                if (Names.idOf(Names.HOST_LINK, nonNull(o.name())).isEmpty()) {
                    shape(Names.SANDBOX_LINK, o.name(), "link");
                }
                yield List.of(new Ip(null, "link del " + o.name(), SYS_NET.resolve(o.name())));
            }
            case KernelOp.Sysctl o -> {
                if (o.keys() == null || o.keys().isEmpty() || o.value() == null || !o.value().matches("[0-9]{1,9}")) {
                    throw refused(op, "a sysctl needs keys and a numeric value");
                }
                List<Step> steps = new ArrayList<>();
                if (o.netns() == null) {
                    for (String key : o.keys()) {
                        if (!HOST_SYSCTL.matcher(nonNull(key)).matches()) {
                            throw refused(op, "the only host sysctl the launcher sets is net.ipv6.conf.<alk host link>.disable_ipv6, not " + key);
                        }
                        steps.add(new Write(PROC_SYS.resolve(key.replace('.', '/')), o.value()));
                    }
                } else {
                    shape(Names.NETNS, o.netns(), "network namespace");
                    List<String> argv = new ArrayList<>(List.of(tools.nsenter().toString(), "--net=" + NETNS_DIR.resolve(o.netns()), "--",
                            tools.sysctl().toString(), "-q", "-w"));
                    for (String key : o.keys()) {
                        if (!NETNS_SYSCTLS.contains(key)) {
                            throw refused(op, "sysctl " + key + " is not one a sandbox namespace gets (" + NETNS_SYSCTLS + ")");
                        }
                        argv.add(key + "=" + o.value());
                    }
                    steps.add(new Exec(argv, "", null));
                }
                // Every key is an IPv6 one: on a kernel booted without IPv6 (ipv6.disable=1) there is nothing to disable.
                yield host.exists(PROC_SYS.resolve("net/ipv6")) ? steps : List.of();
            }
            case KernelOp.AddAddress o -> {
                link(o.netns(), o.link(), false, op);
                ipv4(o.address(), op);
                if (o.prefixLength() != 30) {
                    throw refused(op, "a sandbox link is a /30");
                }
                yield List.of(new Ip(o.netns(), "addr add " + o.address() + "/30 dev " + o.link(), null));
            }
            case KernelOp.SetLinkUp o -> {
                link(o.netns(), o.link(), true, op);
                yield List.of(new Ip(o.netns(), "link set " + o.link() + " up", null));
            }
            case KernelOp.AddDefaultRoute o -> {
                if (o.netns() == null) {
                    throw refused(op, "a default route is only ever added inside a sandbox namespace, never the host's");
                }
                shape(Names.NETNS, o.netns(), "network namespace");
                ipv4(o.via(), op);
                yield List.of(new Ip(o.netns(), "route add default via " + o.via(), null));
            }
            case KernelOp.ApplyNftRuleset o -> {
                String hex = shape(Names.NFT_TABLE, o.table(), "nftables table");
                if (o.netns() != null) {
                    same(hex, shape(Names.NETNS, o.netns(), "network namespace"), op);
                }
                onlyTable(o.table(), o.ruleset(), op);
                // "add" then "delete" makes the replacement atomic and idempotent: one transaction.
                String text = "add table inet " + o.table() + "\ndelete table inet " + o.table() + "\n" + o.ruleset();
                yield List.of(new Exec(inNetns(o.netns(), tools.nft().toString(), "-f", "-"), text, null));
            }
            case KernelOp.DeleteNftTable o -> {
                shape(Names.NFT_TABLE, o.table(), "nftables table");
                String text = "add table inet " + o.table() + "\ndelete table inet " + o.table() + "\n";
                yield List.of(new Exec(List.of(tools.nft().toString(), "-f", "-"), text, null));
            }
            case KernelOp.AddPolicyRule o -> {
                ourRule(o.mark(), o.table(), op);
                if (o.priority() != PolicyRoute.PRIORITY) {
                    throw refused(op, "the TPROXY rule's priority is " + PolicyRoute.PRIORITY);
                }
                yield List.of(
                        new Ip(null, PolicyRoute.routeCommand(), null),
                        // Another launcher may have added it first: "File exists" means it is there.
                        new Exec(java.util.stream.Stream.concat(java.util.stream.Stream.of(tools.ip().toString()),
                                PolicyRoute.ruleArguments().stream()).toList(), "", "File exists"));
            }
            case KernelOp.DeletePolicyRule o -> {
                ourRule(o.mark(), o.table(), op);
                yield List.of(new DropRule());
            }
            case KernelOp.EnableControllers o -> {
                if (!(layout instanceof CgroupLayout.Unified u) || !u.root().equals(o.root())) {
                    throw refused(op, "controllers are only enabled at the cgroup v2 root of this host (" + layout.roots() + ")");
                }
                if (o.controllers() == null || !CgroupLayout.Unified.CONTROLLERS.containsAll(o.controllers())) {
                    throw refused(op, "the launcher enables only " + CgroupLayout.Unified.CONTROLLERS);
                }
                yield List.of(new EnableCtl(o.root(), List.copyOf(o.controllers())));
            }
            case KernelOp.CreateCgroup o -> List.of(new Mkdir(cgroup(o.dir(), op)));
            case KernelOp.SetCgroupLimit o -> {
                Path dir = cgroup(o.dir(), op);
                if (!LIMIT_FILES.contains(o.file())) {
                    throw refused(op, "the limit files are " + LIMIT_FILES);
                }
                if (o.value() == null || !LIMIT_VALUE.matcher(o.value()).matches()) {
                    throw refused(op, "a limit is a number, two numbers, or max");
                }
                yield List.of(new Write(dir.resolve(o.file()), o.value()));
            }
            case KernelOp.KillCgroup o -> List.of(new Kill(cgroup(o.dir(), op)));
            case KernelOp.DeleteCgroup o -> List.of(new Rmdir(cgroup(o.dir(), op)));
            case KernelOp.MountOverlay o -> {
                Path state = stateRoot(o.state(), op);
                shape(Names.ID, o.id(), "sandbox");
                Path lower = safePath(o.lower(), op);
                if (Overlays.projectOf(state, lower).filter(pr -> pr.matches("[a-z0-9-]{1,40}")).isEmpty()) {
                    throw refused(op, "an overlay's lower directory is a template tree under " + Overlays.templates(state) + "/<project>/");
                }
                if (!realDirectory(lower)) {
                    throw refused(op, "the lower directory " + lower + " must be an existing directory reached without links");
                }
                if (o.uid() <= 0 || o.gid() <= 0) {
                    throw refused(op, "the workspace is never owned by uid or gid 0");
                }
                yield List.of(new Mount(state, o.id(), lower, o.uid(), o.gid()));
            }
            case KernelOp.UnmountOverlay o -> {
                Path state = stateRoot(o.state(), op);
                shape(Names.ID, o.id(), "sandbox");
                yield List.of(new Unmount(state, o.id()));
            }
            case KernelOp.DeleteTree o -> {
                Path state = stateRoot(o.state(), op);
                Path area = treeIn(state, o.dir(), op);
                boolean workspace = area.equals(MemberWorkspaces.root(state));
                yield parentReal(o.dir(), op) ? List.of(new RemoveTree(o.dir(), workspace)) : List.of();
            }
            case KernelOp.ChownTree o -> {
                Path state = stateRoot(o.state(), op);
                treeIn(state, o.dir(), op);
                ids(o.uid(), o.gid(), op);
                if (!parentReal(o.dir(), op)) {
                    throw refused(op, "the directory " + o.dir() + " does not exist");
                }
                yield List.of(new OwnTree(o.dir(), o.uid(), o.gid()));
            }
            case KernelOp.CreateWorkspace o -> {
                Path state = stateRoot(o.state(), op);
                if (!MemberWorkspaces.owned(state, safePath(o.dir(), op))) {
                    throw refused(op, "a workspace root creates is a member workspace " + MemberWorkspaces.root(state) + "/<project>/w-<8 hex>");
                }
                ids(o.uid(), o.gid(), op);
                if (!parentReal(o.dir(), op)) {
                    throw refused(op, "the project directory " + o.dir().getParent() + " does not exist");
                }
                yield List.of(new NewWorkspace(o.dir(), o.uid(), o.gid()));
            }
        };
    }

    // ---------------------------------------------------------------------------------------------
    // Preconditions

    private static String nonNull(String s) {
        return s == null ? "" : s;
    }

    /** The 8 hex digits of {@code name}, which must have exactly the shape {@code p}. */
    private static String shape(Pattern p, String name, String what) throws SandboxException {
        Matcher m = p.matcher(nonNull(name));
        if (!m.matches()) {
            throw new SandboxException("refused: " + what + " name '" + name + "' is not one the launcher creates (" + p.pattern()
                    + "); the launcher never touches objects without its prefix. This is a bug in the caller.");
        }
        return m.group(1);
    }

    private static void same(String hex, String other, KernelOp op) throws SandboxException {
        if (!hex.equals(other)) {
            throw refused(op, "its names belong to different sandboxes (" + hex + ", " + other + ")");
        }
    }

    /** {@code link} in {@code netns}: a host link in the host, the same sandbox's link (or lo) inside. */
    private static void link(String netns, String link, boolean loOk, KernelOp op) throws SandboxException {
        if (netns == null) {
            shape(Names.HOST_LINK, link, "host link");
            return;
        }
        String hex = shape(Names.NETNS, netns, "network namespace");
        if (loOk && "lo".equals(link)) {
            return;
        }
        same(hex, shape(Names.SANDBOX_LINK, link, "sandbox link"), op);
    }

    private static void ipv4(IpAddress a, KernelOp op) throws SandboxException {
        if (a == null || !a.isV4()) {
            throw refused(op, "sandbox links are IPv4 only");
        }
    }

    private static void ourRule(int mark, int table, KernelOp op) throws SandboxException {
        if (mark != PolicyRoute.MARK || table != PolicyRoute.TABLE) {
            throw refused(op, "the only policy rule the launcher manages is fwmark " + PolicyRoute.markHex() + " lookup " + PolicyRoute.table());
        }
    }

    /** The ruleset defines {@code table} and nothing else: no other table, no ruleset-wide command. */
    static void onlyTable(String table, String ruleset, KernelOp op) throws SandboxException {
        if (ruleset == null || !ruleset.startsWith("table inet " + table + " {\n")) {
            throw refused(op, "the ruleset must start with 'table inet " + table + " {'");
        }
        for (String line : ruleset.split("\n")) {
            String t = line.strip();
            if ((t.startsWith("table") && !line.equals("table inet " + table + " {"))
                    || t.matches("^(flush|delete|destroy|add|create|insert|replace|reset|list|include|define|rename)\\b.*")
                    || t.contains("ruleset")) {
                throw refused(op, "the ruleset may only define its own table; refused line: " + t);
            }
        }
    }

    /** A sandbox cgroup: absolute, normalised, directly under one of this host's cgroup roots, our shape. */
    private Path cgroup(Path dir, KernelOp op) throws SandboxException {
        if (dir == null || !dir.isAbsolute() || !dir.normalize().equals(dir) || dir.getParent() == null
                || !layout.roots().contains(dir.getParent())) {
            throw refused(op, "a sandbox cgroup sits directly under a cgroup root of this host " + layout.roots() + ", not at " + dir);
        }
        shape(Names.CGROUP, dir.getFileName().toString(), "cgroup");
        return dir;
    }

    /** Airlock's state directory as given to an overlay operation: absolute, normalised, of safe characters, no links on the way. */
    private Path stateRoot(Path state, KernelOp op) throws SandboxException {
        Path p = safePath(state, op);
        try {
            if (!host.realPath(p).equals(p)) {
                throw refused(op, "the state directory " + p + " must be reached without links (it is " + host.realPath(p) + ")");
            }
        } catch (IOException e) {
            throw refused(op, "the state directory " + p + " does not exist");
        }
        return p;
    }

    private static Path safePath(Path p, KernelOp op) throws SandboxException {
        if (p == null || !p.isAbsolute() || !p.normalize().equals(p) || !Overlays.SAFE_PATH.matcher(p.toString()).matches()) {
            throw refused(op, "overlay paths are absolute, normalised and of the characters " + Overlays.SAFE_PATH.pattern() + ", not " + p);
        }
        return p;
    }

    /**
     * The area of {@code state} that {@code dir} lies strictly below ({@link StateAreas}); in the
     * member workspace area, {@code dir} must be a member workspace by shape.
     */
    private static Path treeIn(Path state, Path dir, KernelOp op) throws SandboxException {
        Path d = safePath(dir, op);
        for (Path area : StateAreas.of(state)) {
            if (d.startsWith(area) && !d.equals(area)) {
                if (area.equals(MemberWorkspaces.root(state)) && !MemberWorkspaces.owned(state, d)) {
                    throw refused(op, "below " + area + " root removes only member workspaces (<project>/w-<8 hex>), not " + d);
                }
                return area;
            }
        }
        throw refused(op, "root removes or re-owns trees only below " + StateAreas.of(state) + ", not " + d);
    }

    /**
     * True when {@code dir}'s parent exists and is reached without links (its last name is never
     * followed: the step opens it without following); false when the parent does not exist.
     */
    private boolean parentReal(Path dir, KernelOp op) throws SandboxException {
        Path parent = dir.getParent();
        Path real;
        try {
            real = host.realPath(parent);
        } catch (IOException e) {
            return false;
        }
        if (!real.equals(parent)) {
            throw refused(op, "the way to " + dir + " passes a symbolic link (" + parent + " is " + real + ")");
        }
        return true;
    }

    private static void ids(int uid, int gid, KernelOp op) throws SandboxException {
        if (uid < 0 || gid < 0) {
            throw refused(op, "uid and gid are numbers from 0");
        }
    }

    private boolean realDirectory(Path p) {
        try {
            return host.realPath(p).equals(p) && host.exists(p) && Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            return false;
        }
    }

    private static SandboxException refused(KernelOp op, String why) {
        return new SandboxException("refused " + op + ": " + why + ". This is a bug in the caller; nothing was changed.");
    }

    private List<String> inNetns(String netns, String... argv) {
        List<String> out = new ArrayList<>();
        if (netns != null) {
            out.addAll(List.of(tools.nsenter().toString(), "--net=" + NETNS_DIR.resolve(netns), "--"));
        }
        out.addAll(List.of(argv));
        return out;
    }

    // ---------------------------------------------------------------------------------------------
    // Steps: created only by authorize()

    private sealed interface Step {
    }

    /** One line of {@code ip -batch}; {@code target} (for deletions) is skipped when absent. */
    private record Ip(String netns, String line, Path target) implements Step {
    }

    /** A command; a failure whose stderr contains {@code tolerated} counts as success. */
    private record Exec(List<String> argv, String stdin, String tolerated) implements Step {
    }

    private record Write(Path file, String value) implements Step {
    }

    private record Mkdir(Path dir) implements Step {
    }

    private record Rmdir(Path dir) implements Step {
    }

    private record EnableCtl(Path root, List<String> controllers) implements Step {
    }

    private record Kill(Path dir) implements Step {
    }

    private record DropRule() implements Step {
    }

    private record Mount(Path state, String id, Path lower, int uid, int gid) implements Step {
    }

    private record Unmount(Path state, String id) implements Step {
    }

    /** A tree removal; {@code keepMounts}: a member workspace, whose mount points are left and reported. */
    private record RemoveTree(Path dir, boolean keepMounts) implements Step {
    }

    private record OwnTree(Path dir, int uid, int gid) implements Step {
    }

    private record NewWorkspace(Path dir, int uid, int gid) implements Step {
    }

    private void run(List<Step> steps) throws SandboxException {
        int i = 0;
        while (i < steps.size()) {
            Step s = steps.get(i);
            if (s instanceof Ip first) {
                List<Ip> batch = new ArrayList<>();
                while (i < steps.size() && steps.get(i) instanceof Ip ip && java.util.Objects.equals(ip.netns(), first.netns())) {
                    batch.add(ip);
                    i++;
                }
                runIp(first.netns(), batch);
                continue;
            }
            i++;
            switch (s) {
                case Ip ip -> throw new AssertionError(ip);
                case Exec e -> {
                    Host.Result r = host.exec(e.argv(), e.stdin());
                    if (!r.ok() && (e.tolerated() == null || !r.err().contains(e.tolerated()))) {
                        throw failed(r);
                    }
                }
                case Write w -> {
                    try {
                        host.write(w.file(), w.value());
                    } catch (IOException ex) {
                        throw new SandboxException("cannot write " + w.value() + " to " + w.file() + ": " + ex
                                + ". Fix: the launcher must run as root on the host (not in a container without its own cgroup"
                                + " and network privileges).", ex);
                    }
                }
                case Mkdir m -> {
                    try {
                        host.mkdir(m.dir());
                    } catch (IOException ex) {
                        throw new SandboxException("cannot create cgroup " + m.dir() + ": " + ex
                                + ". Fix: run as root; if it exists, a crashed run left it: run `airlock gc`.", ex);
                    }
                }
                case Rmdir r -> rmdir(r.dir());
                case EnableCtl c -> enableControllers(c);
                case Kill k -> kill(k.dir());
                case DropRule d -> dropRule();
                case Mount m -> mountOverlay(m);
                case Unmount u -> unmountOverlay(u);
                case RemoveTree t -> {
                    try {
                        host.deleteTree(t.dir(), t.keepMounts());
                    } catch (IOException ex) {
                        // a member workspace's message is what was left ("<path>: why"), as the launcher reports it
                        throw new SandboxException((t.keepMounts() ? "" : "cannot remove " + t.dir() + ": ") + ex.getMessage()
                                + ". Fix: `airlock gc` retries; a mount point named here must be unmounted first.", ex);
                    }
                }
                case OwnTree t -> {
                    try {
                        host.chownTree(t.dir(), t.uid(), t.gid());
                    } catch (IOException ex) {
                        throw new SandboxException("cannot give " + t.dir() + " to " + t.uid() + ":" + t.gid() + ": " + ex.getMessage(), ex);
                    }
                }
                case NewWorkspace w -> {
                    try {
                        host.createWorkspace(w.dir(), w.uid(), w.gid());
                    } catch (java.nio.file.FileAlreadyExistsException ex) {
                        throw new SandboxException("workspace " + w.dir() + " exists already (another sandbox's, or a link); root neither"
                                + " follows nor re-owns it. Fix: remove it, or give a new path.", ex);
                    } catch (IOException ex) {
                        throw new SandboxException("cannot create the workspace " + w.dir() + ": " + ex + ". Fix: check the state directory.", ex);
                    }
                }
            }
        }
    }

    private void runIp(String netns, List<Ip> batch) throws SandboxException {
        List<Ip> todo = batch.stream().filter(ip -> ip.target() == null || host.exists(ip.target())).toList();
        if (todo.isEmpty()) {
            return;
        }
        StringBuilder stdin = new StringBuilder();
        todo.forEach(ip -> stdin.append(ip.line()).append('\n'));
        List<String> argv = new ArrayList<>(List.of(tools.ip().toString()));
        if (netns != null) {
            argv.addAll(List.of("-n", netns));
        }
        argv.addAll(List.of("-batch", "-"));
        Host.Result r = host.exec(argv, stdin.toString());
        if (r.ok()) {
            return;
        }
        // Deletions only, and every target gone now: a namespace's teardown took a link meanwhile.
        boolean allGone = todo.stream().allMatch(ip -> ip.target() != null && !host.exists(ip.target()));
        if (!allGone) {
            throw failed(new Host.Result(r.argv(), r.exit(), r.out(), r.err() + " (batch: " + stdin.toString().strip().replace('\n', ';') + ")"));
        }
    }

    private static SandboxException failed(Host.Result r) {
        return new SandboxException("kernel operation failed: " + r.describe()
                + ". Fix: the launcher needs root, network namespaces, veth and nftables with TPROXY"
                + " (`airlock` checks these at start); leftovers of a crashed run are removed by `airlock gc`.");
    }

    private void enableControllers(EnableCtl c) throws SandboxException {
        Path file = c.root().resolve("cgroup.subtree_control");
        Set<String> enabled;
        try {
            enabled = new HashSet<>(List.of(host.read(file).trim().split("\\s+")));
        } catch (IOException e) {
            throw new SandboxException("cannot read " + file + ": " + e + ". Fix: run as root with cgroup v2 mounted.", e);
        }
        StringBuilder add = new StringBuilder();
        for (String ctl : c.controllers()) {
            if (!enabled.contains(ctl)) {
                add.append(add.isEmpty() ? "" : " ").append('+').append(ctl);
            }
        }
        if (add.isEmpty()) {
            return;
        }
        try {
            host.write(file, add.toString());
        } catch (IOException e) {
            throw new SandboxException("cannot enable " + add + " in " + file + ": " + e
                    + ". Fix: the cgroup root must allow controllers for its children (in a container, give Airlock a"
                    + " cgroup namespace whose root holds no processes, or run it on the host).", e);
        }
    }

    /**
     * Ends every process in {@code dir}, and keeps at it until the cgroup is empty: a process can
     * still be joining (a command being claimed while its sandbox is destroyed writes itself into
     * the cgroups one after the other), so one round is not enough. v2: {@code cgroup.kill}, one
     * write that the kernel applies to every member, including those forking right now. v1 has no
     * such file: the freezer (when the hierarchy is mounted) stops the members so that none can fork
     * or exit, each listed PID gets SIGKILL, and thawing delivers it. The PIDs come from this
     * cgroup's own {@code cgroup.procs}, a cgroup only the launcher creates: nothing outside it is
     * ever signalled.
     */
    private void kill(Path dir) throws SandboxException {
        long waited = 0;
        try {
            for (long pause = 1; host.exists(dir); pause = Math.min(pause * 2, 50)) {
                killOnce(dir);
                if (empty(dir)) {
                    return;
                }
                if (waited > CGROUP_EMPTY_TIMEOUT_MS) {
                    throw new SandboxException("processes " + procs(dir) + " in " + dir + " survived SIGKILL for "
                            + CGROUP_EMPTY_TIMEOUT_MS + " ms (stuck in the kernel?). Fix: find them with `cat " + dir.resolve("cgroup.procs")
                            + "`; `airlock gc` retries.");
                }
                host.pause(pause);
                waited += pause;
                if (empty(dir)) {
                    return;
                }
            }
        } catch (IOException e) {
            if (!host.exists(dir)) {
                return;
            }
            throw new SandboxException("cannot kill the processes of " + dir + ": " + e + ". Fix: run as root.", e);
        }
    }

    private void killOnce(Path dir) throws IOException {
        Path killFile = dir.resolve("cgroup.kill");
        Path freezer = dir.resolve("freezer.state");
        if (host.exists(killFile)) {
            host.write(killFile, "1");
        } else if (host.exists(freezer)) {
            host.write(freezer, "FROZEN");
            try {
                for (int i = 0; i < 200 && !host.read(freezer).trim().equals("FROZEN"); i++) {
                    host.pause(5);
                }
                procs(dir).forEach(host::kill);
            } finally {
                host.write(freezer, "THAWED");
            }
        } else {
            procs(dir).forEach(host::kill);
        }
    }

    private boolean empty(Path dir) throws IOException {
        if (!host.exists(dir)) {
            return true;
        }
        Path events = dir.resolve("cgroup.events");
        if (host.exists(events)) {
            return host.read(events).contains("populated 0");
        }
        return procs(dir).isEmpty();
    }

    private List<Long> procs(Path dir) throws IOException {
        try {
            return host.read(dir.resolve("cgroup.procs")).lines().filter(l -> !l.isBlank()).map(l -> Long.parseLong(l.trim())).toList();
        } catch (NoSuchFileException e) {
            return List.of();
        }
    }

    private void rmdir(Path dir) throws SandboxException {
        long waited = 0;
        for (long pause = 1; ; pause = Math.min(pause * 2, 50)) {
            try {
                host.rmdir(dir);
                return;
            } catch (NoSuchFileException e) {
                return;
            } catch (FileSystemException e) {
                // EBUSY: killed members have not all exited yet.
                if (waited > CGROUP_EMPTY_TIMEOUT_MS) {
                    throw new SandboxException("cannot remove cgroup " + dir + ": " + e + ". Fix: `airlock gc` retries once its processes are gone.", e);
                }
                host.pause(pause);
                waited += pause;
            } catch (IOException e) {
                throw new SandboxException("cannot remove cgroup " + dir + ": " + e, e);
            }
        }
    }

    /** Where the kernel lists this process's mounts (the host's mount namespace: the launcher's own). */
    static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");

    /**
     * The overlay's directories, then the mount: one {@code mount} call, whatever the size of the
     * template (overlayfs looks at the lower tree lazily). The cow directory must not exist yet
     * (a leftover is the reaper's to remove), so a sandbox never starts with another's writes.
     */
    private void mountOverlay(Mount m) throws SandboxException {
        Path mounts = m.state().resolve(Overlays.MOUNTS);
        Path cow = Overlays.cowDir(m.state(), m.id());
        Path upper = Overlays.upper(m.state(), m.id());
        Path work = Overlays.work(m.state(), m.id());
        Path point = Overlays.mountPoint(m.state(), m.id());
        try {
            for (Path d : List.of(mounts, cow.getParent())) {
                if (!host.exists(d)) {
                    try {
                        host.mkdir(d);
                    } catch (java.nio.file.FileAlreadyExistsException raced) {
                        // another sandbox being prepared made it first
                    }
                }
            }
            // 0711: the sandbox user's bubblewrap must reach its mount point, and may list none of them.
            host.chmod(mounts, "rwx--x--x");
            host.chmod(cow.getParent(), "rwx------");
            host.mkdir(cow);
            host.chmod(cow, "rwx------");
            host.mkdir(upper);
            host.chown(upper, m.uid(), m.gid());
            host.chmod(upper, "rwxr-xr-x");
            host.mkdir(work);
            host.chmod(work, "rwx------");
            host.mkdir(point);
            host.chmod(point, "rwxr-xr-x");
        } catch (IOException e) {
            throw new SandboxException("cannot create the overlay directories of " + m.id() + ": " + e
                    + ". Fix: run as root; if they exist, a crashed run left them: run `airlock gc`.", e);
        }
        Host.Result r = host.exec(List.of(tools.mount().toString(), "-t", "overlay", "-o",
                "nosuid,nodev,lowerdir=" + m.lower() + ",upperdir=" + upper + ",workdir=" + work, m.id(), point.toString()), "");
        if (!r.ok()) {
            throw new SandboxException("cannot mount the workspace overlay of " + m.id() + ": " + r.describe()
                    + ". Fix: a kernel with overlayfs (modprobe overlay), and a state directory on a file system that can hold an"
                    + " overlay's upper directory (ext4, xfs, btrfs or tmpfs; not another overlay or NFS).");
        }
    }

    private void unmountOverlay(Unmount u) throws SandboxException {
        Path point = Overlays.mountPoint(u.state(), u.id());
        // Stacked mounts (a mount that raced a crash) come off one at a time; bounded.
        for (int i = 0; i < 8 && overlayMounts().contains(point); i++) {
            Host.Result r = host.exec(List.of(tools.umount().toString(), point.toString()), "");
            if (!r.ok()) {
                // Busy: a process of the sandbox still exits. Detach now; the kernel frees it when the last user goes.
                Host.Result lazy = host.exec(List.of(tools.umount().toString(), "-l", point.toString()), "");
                if (!lazy.ok()) {
                    throw failed(lazy);
                }
            }
        }
        if (overlayMounts().contains(point)) {
            throw new SandboxException("the overlay at " + point + " is still mounted. Fix: `airlock gc` retries.");
        }
        try {
            host.rmdir(point);
            host.deleteTree(Overlays.cowDir(u.state(), u.id()), false);
        } catch (IOException e) {
            throw new SandboxException("cannot remove the workspace overlay of " + u.id() + ": " + e + ". Fix: `airlock gc` retries.", e);
        }
    }

    /** The mount points of the overlayfs mounts in this process's mount namespace. */
    Set<Path> overlayMounts() throws SandboxException {
        try {
            return parseOverlayMounts(host.read(MOUNTINFO));
        } catch (IOException e) {
            throw new SandboxException("cannot read " + MOUNTINFO + ": " + e, e);
        }
    }

    /**
     * The overlay mount points in a mountinfo text: field 5 is the mount point (octal-escaped),
     * and after the " - " separator come the file system type and the source.
     */
    static Set<Path> parseOverlayMounts(String mountinfo) {
        Set<Path> out = new LinkedHashSet<>();
        for (String line : mountinfo.split("\n")) {
            int sep = line.indexOf(" - ");
            String[] f = line.split(" ");
            if (sep < 0 || f.length < 5) {
                continue;
            }
            String[] after = line.substring(sep + 3).split(" ");
            if (after.length > 0 && after[0].equals("overlay")) {
                out.add(Path.of(unescape(f[4])));
            }
        }
        return out;
    }

    private static String unescape(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private void dropRule() throws SandboxException {
        // Every copy (an `ip rule add` racing another launcher's may have added two), until the
        // kernel says there is none left.
        for (int i = 0; i < 64; i++) {
            Host.Result r = host.exec(List.of(tools.ip().toString(), "rule", "del", "fwmark", PolicyRoute.markHex(), "lookup", PolicyRoute.table()), "");
            if (!r.ok()) {
                if (r.err().contains("No such file or directory")) {
                    break;
                }
                throw failed(r);
            }
        }
        Host.Result r = host.exec(List.of(tools.ip().toString(), "route", "flush", "table", PolicyRoute.table()), "");
        if (!r.ok()) {
            throw failed(r);
        }
    }

    private boolean policyRulePresent() throws SandboxException {
        Host.Result r = host.exec(List.of(tools.ip().toString(), "rule", "show"), "");
        if (!r.ok()) {
            throw failed(r);
        }
        return r.out().contains("fwmark " + PolicyRoute.markHex() + " lookup " + PolicyRoute.table());
    }

    // ---------------------------------------------------------------------------------------------
    // The privileged start

    @Override
    public Process start(Launch l) throws SandboxException {
        String hex = shape(Names.NETNS, l.netns(), "network namespace");
        if (!host.exists(NETNS_DIR.resolve(l.netns()))) {
            throw new SandboxException("sandbox " + l.netns() + " has no network namespace any more (destroyed or reaped)."
                    + " Fix: prepare a new sandbox.");
        }
        if (l.cgroups().isEmpty()) {
            throw new SandboxException("refused " + l.netns() + ": a sandbox runs inside its cgroups, and none were given. This is a bug in the caller.");
        }
        for (Path d : l.cgroups()) {
            KernelOp op = new KernelOp.CreateCgroup(d);
            same(hex, shape(Names.CGROUP, cgroup(d, op).getFileName().toString(), "cgroup"), op);
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
        List<String> argv = new ArrayList<>(List.of(tools.sh().toString(), "-c", JOIN_SCRIPT, "airlock-join", Integer.toString(l.cgroups().size())));
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
            throw failed(r);
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
                policyRulePresent(), overlayMounts());
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

    // ---------------------------------------------------------------------------------------------
    // The real host

    static final class SystemHost implements Host {
        private final Tools tools;

        SystemHost(Tools tools) {
            this.tools = tools;
        }

        @Override
        public Result exec(List<String> argv, String stdin) throws SandboxException {
            List<String> full = new ArrayList<>(List.of(tools.setpriv().toString(), "--pdeathsig", "KILL", "--"));
            full.addAll(argv);
            ProcessBuilder pb = new ProcessBuilder(full);
            pb.environment().clear();
            pb.environment().put("PATH", ROOT_PATH);
            pb.environment().put("LC_ALL", "C");
            Process p;
            try {
                p = Spawner.start(pb); // on the long-lived thread: pdeathsig follows the thread that forks
            } catch (IOException e) {
                throw new SandboxException("cannot run " + String.join(" ", argv) + ": " + e, e);
            }
            CompletableFuture<String> err = drain(p.getErrorStream());
            CompletableFuture<String> out = drain(p.getInputStream());
            try (OutputStream in = p.getOutputStream()) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                // the command did not read its input; its exit status says why
            }
            try {
                if (!p.waitFor(COMMAND_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                    p.destroyForcibly();
                    throw new SandboxException("`" + String.join(" ", argv) + "` did not finish in " + COMMAND_TIMEOUT_MS
                            + " ms and was killed. Fix: check the host's load and `dmesg`.");
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new SandboxException("interrupted while running " + String.join(" ", argv), e);
            }
            return new Result(argv, p.exitValue(), out.join(), err.join());
        }

        private static CompletableFuture<String> drain(InputStream in) {
            CompletableFuture<String> f = new CompletableFuture<>();
            Thread.ofVirtual().start(() -> {
                try (in) {
                    f.complete(new String(in.readAllBytes(), StandardCharsets.UTF_8));
                } catch (IOException e) {
                    f.complete("");
                }
            });
            return f;
        }

        @Override
        public Process start(ProcessBuilder pb) throws IOException {
            // a sandbox's --die-with-parent watches the thread that forks it: see Spawner
            return Spawner.start(pb);
        }

        @Override
        public void write(Path file, String value) throws IOException {
            Files.write(file, value.getBytes(StandardCharsets.US_ASCII), StandardOpenOption.WRITE);
        }

        @Override
        public String read(Path file) throws IOException {
            return Files.readString(file);
        }

        @Override
        public boolean exists(Path p) {
            return Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        }

        @Override
        public List<String> list(Path dir) {
            try (Stream<Path> s = Files.list(dir)) {
                return s.map(p -> p.getFileName().toString()).toList();
            } catch (IOException e) {
                return List.of();
            }
        }

        @Override
        public void mkdir(Path dir) throws IOException {
            Files.createDirectory(dir);
        }

        @Override
        public boolean rmdir(Path dir) throws IOException {
            return Files.deleteIfExists(dir);
        }

        @Override
        public void kill(long pid) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }

        @Override
        public Path realPath(Path p) throws IOException {
            return p.toRealPath();
        }

        @Override
        public void chown(Path p, int uid, int gid) throws IOException {
            Files.setAttribute(p, "unix:uid", uid, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(p, "unix:gid", gid, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        }

        @Override
        public void chmod(Path p, String mode) throws IOException {
            Files.setPosixFilePermissions(p, java.nio.file.attribute.PosixFilePermissions.fromString(mode));
        }


        @Override
        public void deleteTree(Path dir, boolean keepMounts) throws IOException {
            // A sandbox wrote these trees: no link in them is followed, no mount entered.
            RootFiles.deleteTree(dir, keepMounts);
        }

        @Override
        public void chownTree(Path dir, int uid, int gid) throws IOException {
            RootFiles.chownTree(dir, uid, gid);
        }

        @Override
        public void createWorkspace(Path dir, int uid, int gid) throws IOException {
            RootFiles.createWorkspace(dir, uid, gid);
        }

        @Override
        public void pause(long millis) {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
