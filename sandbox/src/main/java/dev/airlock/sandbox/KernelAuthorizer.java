package dev.airlock.sandbox;

import dev.airlock.sandbox.Step.DropRule;
import dev.airlock.sandbox.Step.EnableCtl;
import dev.airlock.sandbox.Step.Exec;
import dev.airlock.sandbox.Step.Ip;
import dev.airlock.sandbox.Step.Kill;
import dev.airlock.sandbox.Step.Mkdir;
import dev.airlock.sandbox.Step.Mount;
import dev.airlock.sandbox.Step.NewWorkspace;
import dev.airlock.sandbox.Step.OwnTree;
import dev.airlock.sandbox.Step.RemoveTree;
import dev.airlock.sandbox.Step.RootMount;
import dev.airlock.sandbox.Step.SealLayer;
import dev.airlock.sandbox.Step.Rmdir;
import dev.airlock.sandbox.Step.Unmount;
import dev.airlock.sandbox.Step.Write;
import static dev.airlock.sandbox.SystemKernelOps.HOST_SYSCTL;
import static dev.airlock.sandbox.SystemKernelOps.LIMIT_FILES;
import static dev.airlock.sandbox.SystemKernelOps.LIMIT_VALUE;
import static dev.airlock.sandbox.SystemKernelOps.NETNS_DIR;
import static dev.airlock.sandbox.SystemKernelOps.NETNS_SYSCTLS;
import static dev.airlock.sandbox.SystemKernelOps.PROC_SYS;
import static dev.airlock.sandbox.SystemKernelOps.SYS_NET;
import dev.airlock.policy.address.IpAddress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The privileged switch: turns one {@link KernelOp} into the {@link Step}s that carry it out, after
 * checking the operation's preconditions again, here, whatever the caller checked (see
 * {@link SystemKernelOps} for the list). It performs nothing: it reads only what the checks need
 * (whether a path exists, its real name), so the real kernel and the tests' fake kernel both ask it
 * before anything happens. One switch over the sealed set, no default: the compiler proves it
 * exhaustive.
 */
final class KernelAuthorizer {

    private final Tools tools;
    private final CgroupLayout layout;
    private final Host host;

    KernelAuthorizer(Tools tools, CgroupLayout layout, Host host) {
        this.tools = tools;
        this.layout = layout;
        this.host = host;
    }

    /** The steps of {@code ops}, in order; every operation is checked before the caller runs any step. */
    List<Step> authorize(List<KernelOp> ops) throws SandboxException {
        List<Step> steps = new ArrayList<>();
        for (KernelOp op : ops) {
            steps.addAll(authorize(op));
        }
        return steps;
    }

    /** The single switch: checks {@code op}'s preconditions and translates it into steps. */
    List<Step> authorize(KernelOp op) throws SandboxException {
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
            case KernelOp.MountSetupRoot o -> {
                Path state = stateRoot(o.state(), op);
                shape(Names.ID, o.id(), "sandbox");
                layerOf(o.project(), o.layer(), op);
                Path image = image(o.image(), op);
                if (o.uid() <= 0 || o.gid() <= 0) {
                    throw refused(op, "a writable root belongs to the sandbox user (root of its namespace only), never to uid or gid 0");
                }
                if (host.exists(RootLayers.sealed(state, o.project(), o.layer()))) {
                    throw refused(op, "layer " + o.layer() + " of " + o.project() + " is sealed; a sealed layer is never written again");
                }
                yield List.of(new RootMount(RootLayers.setupMount(state, o.id()), List.of(image),
                        RootLayers.upper(state, o.project(), o.layer()), RootLayers.work(state, o.project(), o.layer()), o.uid(), o.gid()));
            }
            case KernelOp.MountStackedRoot o -> {
                Path state = stateRoot(o.state(), op);
                shape(Names.ID, o.id(), "sandbox");
                layerOf(o.project(), o.layer(), op);
                Path image = image(o.image(), op);
                Path layer = RootLayers.sealed(state, o.project(), o.layer());
                if (!realDirectory(layer) || !rootsAlone(layer)) {
                    throw refused(op, "layer " + o.layer() + " of " + o.project() + " is not sealed (" + layer + " must be root's, reached without links)");
                }
                yield List.of(new RootMount(RootLayers.stackedMount(state, o.id()), List.of(layer, image), null, null, 0, 0));
            }
            case KernelOp.SealRootLayer o -> {
                Path state = stateRoot(o.state(), op);
                layerOf(o.project(), o.layer(), op);
                Path upper = RootLayers.upper(state, o.project(), o.layer());
                if (!realDirectory(upper)) {
                    throw refused(op, "layer " + o.layer() + " of " + o.project() + " has no upper directory " + upper + " to seal");
                }
                if (host.exists(RootLayers.sealed(state, o.project(), o.layer()))) {
                    throw refused(op, "layer " + o.layer() + " of " + o.project() + " is sealed already");
                }
                yield List.of(new SealLayer(upper, RootLayers.work(state, o.project(), o.layer()), RootLayers.sealed(state, o.project(), o.layer())));
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
    static String shape(Pattern p, String name, String what) throws SandboxException {
        Matcher m = p.matcher(nonNull(name));
        if (!m.matches()) {
            throw new SandboxException("refused: " + what + " name '" + name + "' is not one the launcher creates (" + p.pattern()
                    + "); the launcher never touches objects without its prefix. This is a bug in the caller.");
        }
        return m.group(1);
    }

    static void same(String hex, String other, KernelOp op) throws SandboxException {
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
    Path cgroup(Path dir, KernelOp op) throws SandboxException {
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
     * member workspace area, {@code dir} must be a member workspace by shape; in the audits' area,
     * an audit's work directory or below one.
     */
    private static Path treeIn(Path state, Path dir, KernelOp op) throws SandboxException {
        Path d = safePath(dir, op);
        for (Path area : StateAreas.of(state)) {
            if (d.startsWith(area) && !d.equals(area)) {
                if (area.equals(MemberWorkspaces.root(state)) && !MemberWorkspaces.owned(state, d)) {
                    throw refused(op, "below " + area + " root removes only member workspaces (<project>/w-<8 hex>), not " + d);
                }
                if (area.equals(AuditWorkDirs.root(state)) && !AuditWorkDirs.atOrBelowOne(state, d)) {
                    throw refused(op, "below " + area + " root removes or re-owns only audits' work directories (a-<8 hex>) and what is in them, not " + d);
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

    /** A project name and a layer name of their exact shapes: both become parts of paths and of mount options. */
    private static void layerOf(String project, String layer, KernelOp op) throws SandboxException {
        if (project == null || !project.matches("[a-z0-9-]{1,40}")) {
            throw refused(op, "a project name is [a-z0-9-]{1,40}, not " + project);
        }
        if (layer == null || !RootLayer.NAME.matcher(layer).matches()) {
            throw refused(op, "a layer name is " + RootLayer.NAME.pattern() + ", not " + layer);
        }
    }

    /** An unpacked image of a store ({@link ImageStore#isImageRoot}): root's, no links, of safe characters. */
    private static Path image(Path image, KernelOp op) throws SandboxException {
        Path p = safePath(image, op);
        if (!ImageStore.isImageRoot(p.toString())) {
            throw refused(op, "a root layer lies over an unpacked image of a store (…/images/sha256-<hex>/rootfs, root's), not " + p);
        }
        return p;
    }

    /** {@code p} is root's and writable by no one else. */
    private static boolean rootsAlone(Path p) {
        try {
            return (Integer) Files.getAttribute(p, "unix:uid", java.nio.file.LinkOption.NOFOLLOW_LINKS) == 0
                    && ((Integer) Files.getAttribute(p, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS) & 022) == 0;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
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
}
