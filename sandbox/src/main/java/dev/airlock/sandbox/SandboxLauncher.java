package dev.airlock.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Builds, starts, tears down and reaps sandboxes: one network namespace per sandbox whose only link
 * leads to the host, where nftables hands all of its TCP to the gateway and its DNS to the
 * gateway's responder and drops everything else; cgroup limits; and bubblewrap for everything but
 * the network. See docs/sandbox.md for the picture and the reasons.
 *
 * <p>Design: the cleanup guarantee. A sandbox's record names its owner (PID and start time) and
 * every object it will have, and is written, in the state directory and as a machine-wide lease
 * ({@link Registry}), before the first object exists. {@link #destroy} removes the objects, then the
 * record. A shutdown hook destroys what this launcher still holds when the JVM exits (SIGTERM,
 * SIGINT, a normal exit); after a kill -9, {@link #reap()} ({@link Reaper}, by this host's next launcher) finds
 * records whose owner is dead, and {@code alk} objects without any live lease, and removes them.
 * Nothing whose name lacks the exact {@code alk} shape is ever removed ({@link Names}), and the only
 * processes ever killed are those inside the sandbox's own cgroups.
 *
 * <p>All privileged work goes through {@link KernelOps}: the closed set of {@link KernelOp}s and
 * one privileged start, each checked again where the privilege is used.
 *
 * <p>Thread-safe: prepare, claim and destroy may run concurrently for different sandboxes.
 */
public final class SandboxLauncher implements AutoCloseable {

    /** Kernel and system directories a workspace may neither be nor contain, nor sit inside (the first five). */
    private static final List<Path> NEVER_INSIDE = Stream.of("/proc", "/sys", "/dev", "/run", "/boot").map(Path::of).toList();
    private static final List<Path> NEVER_CONTAIN = Stream.of("/etc", "/usr", "/var", "/root", "/home", "/bin", "/lib")
            .map(Path::of).toList();
    private static final Pattern PROJECT = Pattern.compile("[a-z0-9-]{1,40}");
    /** Attempts at a free member workspace name (32 random bits each) before giving up. */
    private static final int NAME_ATTEMPTS = 8;

    private final Path records;
    /** The state directory (for overlay workspaces and their templates, see {@link Overlays}). */
    private final Path state;
    private final LinkRange range;
    private final KernelOps ops;
    private final CgroupLayout layout;
    private final Registry registry;
    private final SandboxUser user;
    private final Consumer<String> warnings;
    private final Reaper reaper;
    /** Prepared by this launcher and not yet destroyed, by id. */
    private final Map<String, SandboxRecord> live = new ConcurrentHashMap<>();
    private final Set<String> claimed = ConcurrentHashMap.newKeySet();
    /** What of each sandbox's workspace stays read-only inside it, by id. */
    private final Map<String, WorkspaceProtection> protections = new ConcurrentHashMap<>();
    /** The image root each sandbox runs on, when it has one ({@link ImageStore}). */
    private final Map<String, BwrapArgs.Root> images = new ConcurrentHashMap<>();
    /** Who each sandbox's processes run as, by id: the launcher's user unless its preparation named another. */
    private final Map<String, SandboxUser> users = new ConcurrentHashMap<>();
    /** The processes started in each sandbox (the cgroup-joining wrapper, then bubblewrap), by sandbox id. */
    private final Map<String, List<Process>> commands = new ConcurrentHashMap<>();
    private final Thread hook = new Thread(() -> {
        closed = true;
        destroyAll();
    }, "airlock-sandbox-cleanup");
    private volatile boolean closed;
    /** Whether sandboxes start in a session of their own, away from the caller's terminal ({@link #detachFromTerminal}). */
    private volatile boolean ownSessions;

    /**
     * From now on, starts every sandbox in a session of its own (setsid), so that a terminal's
     * Ctrl-C reaches only the process that launched them: for a daemon, whose stop destroys its
     * sandboxes in order. A run in a terminal's foreground keeps the default, so its Ctrl-C
     * reaches its command as any command's does.
     */
    public void detachFromTerminal() {
        ownSessions = true;
    }

    public SandboxLauncher(Path stateDir, LinkRange range, KernelOps ops) {
        this(stateDir, range, ops, SandboxUser.fromEnvironment(System.getenv()), m -> System.err.println("airlock: " + m));
    }

    SandboxLauncher(Path stateDir, LinkRange range, KernelOps ops, SandboxUser user, Consumer<String> warnings) {
        this.state = stateDir.toAbsolutePath().normalize();
        this.records = state.resolve("sandboxes");
        this.range = range;
        this.ops = ops;
        this.layout = ops.cgroups();
        this.registry = new Registry(ops.runDir());
        this.user = user;
        this.warnings = warnings;
        this.reaper = new Reaper(state, ops, registry, () -> List.copyOf(live.values()), new Reaper.Sandboxes() {
            @Override
            public List<String> tearDown(String id, List<Path> cgroups, List<Path> overlayStates) {
                return teardown(id, cgroups, overlayStates);
            }

            @Override
            public List<Path> overlayStates(String id, Optional<SandboxRecord> record) {
                return SandboxLauncher.this.overlayStates(id, record);
            }

            @Override
            public List<String> deleteWorkspace(Path ws) {
                return SandboxLauncher.this.deleteWorkspace(ws);
            }
        }, warnings);
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /**
     * The real host, the default link range. Call {@link #checkHost()} first: it says, with a fix,
     * what this host lacks; here a host that cannot run sandboxes is an {@link IllegalStateException}.
     */
    public static SandboxLauncher system(Path stateDir) {
        try {
            return new SandboxLauncher(stateDir, LinkRange.DEFAULT, KernelOps.system());
        } catch (SandboxException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // The host

    /**
     * Fails with a message and a fix when this host cannot run sandboxes: not Linux, not root
     * (with CAP_SYS_ADMIN and CAP_NET_ADMIN), bwrap/nft/ip/nsenter/setpriv missing, no cgroup
     * hierarchy with the memory, cpu and pids controllers, an nftables without TPROXY, or a kernel
     * that refuses bubblewrap's unprivileged user namespace. Takes a few tens of milliseconds.
     */
    public static void checkHost() throws SandboxException {
        HostCheck.run();
    }

    // ---------------------------------------------------------------------------------------------
    // Prepare

    /**
     * Builds a sandbox's network, rules and cgroups: everything but the command. Recorded first;
     * on any failure, everything built so far is removed before the exception is thrown.
     */
    public PreparedSandbox prepare(SandboxSpec spec) throws SandboxException {
        return prepare(spec, user);
    }

    /**
     * As {@link #prepare(SandboxSpec)}, its processes running as {@code as} instead of this
     * launcher's user: the daemon's run of a policy it does not pool runs as its caller's sudo user,
     * as that caller's own cold run would ({@link SandboxUser}: never uid or gid 0).
     */
    public PreparedSandbox prepare(SandboxSpec spec, SandboxUser as) throws SandboxException {
        java.util.Objects.requireNonNull(as, "as");
        if (closed) {
            throw new SandboxException("this launcher is closed. Fix: create a new one.");
        }
        if (!PROJECT.matcher(spec.project()).matches()) {
            throw new SandboxException("project name '" + spec.project() + "' is not [a-z0-9-]{1,40}. Fix: use the project of airlock.yaml.");
        }
        Optional<SandboxRecord.OverlayRef> overlay = Optional.empty();
        Path workspace;
        if (spec.template().isPresent()) {
            Path real = realState();
            overlay = Optional.of(new SandboxRecord.OverlayRef(real, checkTemplate(real, spec.project(), spec.template().get(), as)));
            workspace = null; // the mount point, once the id is known
        } else {
            workspace = checkWorkspace(spec.workspace(), as);
        }
        if (spec.image().isPresent()) {
            checkImage(spec.image().get(), as);
        }
        Optional<SandboxRecord.OverlayRef> cow = overlay;
        Owner self = ops.self();
        SandboxRecord record = registry.locked(() -> {
            Map<String, Registry.Lease> leases = registry.leases();
            Set<Integer> used = new HashSet<>();
            for (Registry.Lease l : leases.values()) {
                l.record().ifPresent(r -> range.indexOf(r.link()).ifPresent(used::add));
            }
            OptionalInt slot = range.firstFree(used);
            if (slot.isEmpty()) {
                throw new SandboxException("all " + range.slots() + " links of " + range.range() + " are taken. Fix: destroy idle"
                        + " sandboxes, run `airlock gc` to reap crashed ones, or configure a larger link range.");
            }
            String id = Names.newId();
            while (leases.containsKey(id) || live.containsKey(id)) {
                id = Names.newId();
            }
            if (leases.isEmpty()) {
                // The first sandbox on the host adds the shared TPROXY route; the last one removes it.
                ops.execute(new KernelOp.AddPolicyRule(PolicyRoute.MARK, PolicyRoute.TABLE, PolicyRoute.PRIORITY));
            }
            int i = slot.getAsInt();
            String sid = id;
            Path ws = cow.map(v -> Overlays.mountPoint(v.state(), sid)).orElse(workspace);
            SandboxRecord r = new SandboxRecord(id, spec.project(), self, i, range.slot(i), range.hostAddress(i), range.sandboxAddress(i),
                    ws, layout.dirs(id), layout.primary(id), registry.files(id), System.currentTimeMillis(), cow);
            writeRecord(r);
            registry.writeLease(r);
            return r;
        });
        live.put(record.id(), record);
        protections.put(record.id(), spec.protection());
        users.put(record.id(), as);

        try {
            Network n = network(record, spec.gateway());
            ops.execute(n.create());
            inParallel(n.sandboxSide(), n.hostSide());
            ops.execute(layout.create(record.id(), spec.resources()));
            if (record.overlay().isPresent()) {
                SandboxRecord.OverlayRef v = record.overlay().get();
                ops.execute(new KernelOp.MountOverlay(v.state(), record.id(), v.lower(), as.uid(), as.gid()));
            }
            if (spec.image().isPresent()) {
                images.put(record.id(), root(record.id(), spec, as));
            }
            writeEtc(record, spec.trust(), as);
            return record.prepared();
        } catch (SandboxException | RuntimeException e) {
            List<String> errors = teardown(record.id(), record.cgroups(), overlayStates(record.id(), Optional.of(record)));
            errors.forEach(m -> e.addSuppressed(new SandboxException(m)));
            forget(record, errors);
            throw e;
        }
    }

    /**
     * The root of sandbox {@code id} on {@code spec}'s image: the image itself, or the project's root
     * layer over it, mounted now by the privileged point ({@link RootLayers}; unmounted with the
     * sandbox's other overlays at teardown).
     */
    private BwrapArgs.Root root(String id, SandboxSpec spec, SandboxUser as) throws SandboxException {
        Path image = spec.image().orElseThrow();
        Path st = realState();
        return switch (spec.layer()) {
            case RootLayer.None n -> BwrapArgs.Root.readOnly(image);
            case RootLayer.Writable w -> {
                ops.execute(new KernelOp.MountSetupRoot(st, id, spec.project(), w.name(), image, as.uid(), as.gid()));
                yield new BwrapArgs.Root(RootLayers.setupMount(st, id), true);
            }
            case RootLayer.Stacked l -> {
                ops.execute(new KernelOp.MountStackedRoot(st, id, spec.project(), l.name(), image));
                yield BwrapArgs.Root.readOnly(RootLayers.stackedMount(st, id));
            }
        };
    }

    /**
     * Seals root layer {@code layer} of {@code project} after its last root step (docs/images.md,
     * "Setup as root"): from then on it is root's and inert, and sandboxes stack it read-only
     * ({@link RootLayer.Stacked}). Refused while a setup sandbox still has it mounted.
     */
    public void sealRootLayer(String project, String layer) throws SandboxException {
        ops.execute(new KernelOp.SealRootLayer(realState(), project, layer));
    }

    /** True when root layer {@code layer} of {@code project} is sealed: sandboxes may stack it ({@link RootLayer.Stacked}). */
    public boolean rootLayerSealed(String project, String layer) throws SandboxException {
        if (!PROJECT.matcher(project).matches() || !RootLayer.NAME.matcher(layer).matches()) {
            return false;
        }
        return Files.isDirectory(RootLayers.sealed(realState(), project, layer), LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * Removes root layer {@code layer} of {@code project}, sealed or not (a failed or superseded
     * build's), through the privileged {@link KernelOp.DeleteTree}; nothing when absent. The caller
     * makes sure no sandbox stacks it any more (the template it belongs to is gone).
     */
    public void deleteRootLayer(String project, String layer) throws SandboxException {
        if (!PROJECT.matcher(project).matches() || !RootLayer.NAME.matcher(layer).matches()) {
            throw new SandboxException("not a root layer: " + project + "/" + layer + ". This is a bug in the caller.");
        }
        ops.execute(new KernelOp.DeleteTree(realState(), RootLayers.dir(realState(), project, layer)));
    }

    /** This launcher's image store, {@code <state>/images} (docs/images.md). */
    public ImageStore images() throws SandboxException {
        return new ImageStore(realState(), ops);
    }

    /** An image root of this launcher's store, finished and root's ({@link ImageStore#isImageRoot}). */
    private void checkImage(Path root, SandboxUser as) throws SandboxException {
        if (!root.startsWith(ImageStore.root(realState())) || !ImageStore.isImageRoot(root.toString())) {
            throw new SandboxException("image root " + root + " is not an unpacked image of " + ImageStore.root(realState())
                    + ". Fix: unpack it with SandboxLauncher.images().unpack(…) and pass its root.");
        }
        // bubblewrap binds the root as the sandbox user: a state directory only root can enter (0700) would end in
        // bubblewrap's bare "Can't find source path … Permission denied" after everything else is built.
        for (Path p = root; p != null; p = p.getParent()) {
            if (!searchable(p, as)) {
                throw new SandboxException("the sandbox user (uid " + as.uid() + ") cannot reach the image root " + root + ": " + p
                        + " is not searchable for it. Fix: chmod o+x " + p + " (the store is read-only to sandboxes; the state"
                        + " directory must be searchable, as /var/lib/airlock is).");
            }
        }
    }

    /** The state directory with its links resolved (the privileged point refuses a path through a link). */
    private Path realState() throws SandboxException {
        try {
            Files.createDirectories(state);
            return state.toRealPath();
        } catch (IOException e) {
            throw new SandboxException("cannot create the state directory " + state + ": " + e + ". Fix: run as root, or set AIRLOCK_STATE.", e);
        }
    }

    /**
     * A template for {@code project}: an existing directory under {@code <state>/templates/<project>/},
     * whose two directories above are root's alone (0700), so that the tree is visible only through
     * an overlay; and a state directory the sandbox user can search, to reach the mount point.
     */
    private Path checkTemplate(Path realState, String project, Path template, SandboxUser as) throws SandboxException {
        Path t;
        try {
            t = template.toRealPath();
        } catch (IOException e) {
            throw new SandboxException("template " + template + " does not exist. Fix: build it with `airlock template build`.", e);
        }
        Path all = Overlays.templates(realState);
        Path mine = all.resolve(project);
        if (!t.startsWith(mine) || t.equals(mine)) {
            throw new SandboxException("template " + t + " is not one of project " + project + "'s templates (under " + mine
                    + "); a project's sandbox never mounts another project's template. Fix: use the template TemplateManager built for "
                    + project + ".");
        }
        if (!Files.isDirectory(t)) {
            throw new SandboxException("template " + t + " is not a directory. Fix: rebuild it with `airlock template build`.");
        }
        for (Path d : List.of(all, mine)) {
            try {
                // Owned by the state directory's owner (root, in production) and closed to everyone else.
                int owner = (Integer) Files.getAttribute(realState, "unix:uid");
                int mode = (Integer) Files.getAttribute(d, "unix:mode", LinkOption.NOFOLLOW_LINKS);
                int uid = (Integer) Files.getAttribute(d, "unix:uid", LinkOption.NOFOLLOW_LINKS);
                if ((mode & 0077) != 0 || uid != owner) {
                    throw new SandboxException("template directory " + d + " is mode " + Integer.toOctalString(mode & 0777) + ", uid " + uid
                            + "; templates must be visible only through an overlay. Fix: chown " + owner + " " + d + " && chmod 700 " + d + ".");
                }
            } catch (IOException | UnsupportedOperationException e) {
                throw new SandboxException("cannot check " + d + ": " + e + ". Fix: run as root.", e);
            }
        }
        for (Path p = realState; p != null; p = p.getParent()) {
            if (!searchable(p, as)) {
                throw new SandboxException("the sandbox user (uid " + as.uid() + ") cannot reach its overlay workspace in " + realState
                        + ": " + p + " is not searchable for it. Fix: chmod o+x " + p + ".");
            }
        }
        return t;
    }

    /**
     * The state directories whose overlay of sandbox {@code id} may exist: the one its record
     * names, and this launcher's when a mount point or cow directory of that id is in it.
     */
    private List<Path> overlayStates(String id, Optional<SandboxRecord> r) {
        List<Path> out = new ArrayList<>();
        r.flatMap(SandboxRecord::overlay).ifPresent(v -> out.add(v.state()));
        try {
            Path own = state.toRealPath();
            if (!out.contains(own) && (Files.exists(Overlays.mountPoint(own, id), LinkOption.NOFOLLOW_LINKS)
                    || Files.exists(Overlays.cowDir(own, id), LinkOption.NOFOLLOW_LINKS)
                    || Files.exists(RootLayers.setupMount(own, id), LinkOption.NOFOLLOW_LINKS)
                    || Files.exists(RootLayers.stackedMount(own, id), LinkOption.NOFOLLOW_LINKS))) {
                out.add(own);
            }
        } catch (IOException e) {
            // no state directory: no overlay of this launcher's
        }
        return out;
    }

    /**
     * The network of one sandbox: the namespace and the link first, then each side configured in
     * its own order, rules before addresses and before its end of the link goes up. The two sides
     * are independent and run concurrently (each {@code ip}/{@code nft} is a fork and exec, and the
     * kernel work of one side overlaps the other's); no packet can cross before both ends are up,
     * and each end goes up only after its side's rules exist.
     */
    record Network(List<KernelOp> create, List<KernelOp> sandboxSide, List<KernelOp> hostSide) {
    }

    static Network network(SandboxRecord r, GatewayPorts gateway) {
        String ns = r.netns();
        // The same rendering `airlock policy export --format nftables` prints (NetworkRules).
        NetworkRules rules = NetworkRules.of(r, gateway);
        return new Network(
                List.of(new KernelOp.CreateNetns(ns),
                        // Both ends start down: neither has an address, IPv6 or otherwise, until the rules exist.
                        new KernelOp.CreateVethPair(r.hostLink(), r.sandboxLink(), ns)),
                List.of(new KernelOp.Sysctl(ns, List.of("net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"), "1"),
                        new KernelOp.ApplyNftRuleset(ns, rules.table(), rules.sandboxRuleset()),
                        new KernelOp.SetLinkUp(ns, "lo"),
                        new KernelOp.AddAddress(ns, r.sandboxLink(), r.sandboxAddress(), 30),
                        new KernelOp.SetLinkUp(ns, r.sandboxLink()),
                        new KernelOp.AddDefaultRoute(ns, r.hostAddress())),
                List.of(new KernelOp.Sysctl(null, List.of("net.ipv6.conf." + r.hostLink() + ".disable_ipv6"), "1"),
                        new KernelOp.ApplyNftRuleset(null, rules.table(), rules.hostRuleset()),
                        new KernelOp.AddAddress(null, r.hostLink(), r.hostAddress(), 30),
                        new KernelOp.SetLinkUp(null, r.hostLink())));
    }

    /** Executes {@code a} here and {@code b} on a virtual thread; waits for both; the first failure wins. */
    private void inParallel(List<KernelOp> a, List<KernelOp> b) throws SandboxException {
        Exception[] other = new Exception[1];
        // A platform thread: the commands it starts die with the thread that started them (pdeathsig),
        // and a virtual thread's carrier could end while they run.
        Thread t = Thread.ofPlatform().daemon().name("airlock-prepare-host-side").start(() -> {
            try {
                ops.execute(b);
            } catch (SandboxException | RuntimeException e) {
                other[0] = e;
            }
        });
        Exception first = null;
        try {
            ops.execute(a);
        } catch (SandboxException | RuntimeException e) {
            first = e;
        }
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            try {
                t.join(); // the side must finish before the caller tears it down
            } catch (InterruptedException again) {
                Thread.currentThread().interrupt();
            }
        }
        if (first == null) {
            first = other[0];
        } else if (other[0] != null) {
            first.addSuppressed(other[0]);
        }
        if (first instanceof SandboxException se) {
            throw se;
        }
        if (first instanceof RuntimeException re) {
            throw re;
        }
    }

    /**
     * The workspace, as a real path: an existing directory that neither is nor contains the host's
     * system directories or Airlock's state, and that the sandbox user can reach (bubblewrap binds
     * it as that user).
     */
    private Path checkWorkspace(Path given, SandboxUser as) throws SandboxException {
        Path ws;
        try {
            ws = given.toRealPath();
        } catch (IOException e) {
            throw new SandboxException("workspace " + given + " does not exist: " + e.getMessage() + ". Fix: create it or pass --workspace.", e);
        }
        if (!Files.isDirectory(ws)) {
            throw new SandboxException("workspace " + ws + " is not a directory. Fix: pass a directory.");
        }
        List<Path> protectedDirs = new ArrayList<>(NEVER_CONTAIN);
        protectedDirs.add(records.getParent());
        protectedDirs.add(registry.dir());
        for (Path p : protectedDirs) {
            if (p.startsWith(ws)) {
                throw new SandboxException("workspace " + ws + " contains " + p + ", which a sandbox must never see. Fix: use the project's own directory.");
            }
        }
        List<Path> neverInside = new ArrayList<>(NEVER_INSIDE);
        Path staging = ownState().map(st -> st.resolve(Overlays.STAGING)).orElse(null);
        // A template's setup runs in its staging tree: inside the state directory, but only below staging/.
        if (staging == null || !ws.startsWith(staging) || ws.getNameCount() < staging.getNameCount() + 2) {
            neverInside.add(records.getParent());
        }
        neverInside.add(registry.dir());
        for (Path p : neverInside) {
            if (ws.startsWith(p)) {
                throw new SandboxException("workspace " + ws + " is inside " + p + ". Fix: use the project's own directory.");
            }
        }
        for (Path p = ws.getParent(); p != null; p = p.getParent()) {
            if (!searchable(p, as)) {
                throw new SandboxException("the sandbox user (uid " + as.uid() + ") cannot reach workspace " + ws + ": " + p
                        + " is not searchable for it. Fix: chmod o+x " + p + " (or run through sudo as the workspace's owner).");
            }
        }
        return ws;
    }

    private static boolean searchable(Path dir, SandboxUser user) {
        try {
            int mode = (Integer) Files.getAttribute(dir, "unix:mode");
            int uid = (Integer) Files.getAttribute(dir, "unix:uid");
            int gid = (Integer) Files.getAttribute(dir, "unix:gid");
            if (uid == user.uid()) {
                return (mode & 0100) != 0;
            }
            if (gid == user.gid()) {
                return (mode & 0010) != 0;
            }
            return (mode & 0001) != 0;
        } catch (IOException | UnsupportedOperationException e) {
            return true; // cannot tell: bubblewrap says so itself if it cannot
        }
    }

    private void writeEtc(SandboxRecord r, TrustBundle trust, SandboxUser user) throws SandboxException {
        Path etc = r.runFiles().resolve("etc");
        try {
            Files.createDirectories(etc);
            Files.setPosixFilePermissions(r.runFiles(), PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.setPosixFilePermissions(etc, PosixFilePermissions.fromString("rwxr-xr-x"));
        } catch (IOException e) {
            throw new SandboxException("cannot create " + etc + ": " + e + ". Fix: run as root.", e);
        }
        for (Path p = etc; p != null; p = p.getParent()) {
            if (!searchable(p, user)) {
                throw new SandboxException("the sandbox user (uid " + user.uid() + ") cannot reach its generated /etc in " + etc + ": " + p
                        + " is not searchable for it. Fix: chmod o+x " + p + ".");
            }
        }
        for (Map.Entry<String, String> f : EtcFiles.generated(user, r.hostAddress()).entrySet()) {
            Registry.writeAtomically(etc.resolve(f.getKey()), f.getValue(), PosixFilePermissions.fromString("rw-r--r--"));
        }
        // The one CA bundle (the host's and the sandbox's own CAs), bound over Debian's path inside the host's /etc/ssl: that
        // bind needs the file to exist there, as it does wherever the ca-certificates package is installed.
        if (Files.isDirectory(Path.of("/etc/ssl")) && !Files.isRegularFile(Path.of(CaBundle.PATH_IN_SANDBOX))) {
            throw new SandboxException("this host has /etc/ssl but no " + CaBundle.PATH_IN_SANDBOX + ", over which each sandbox gets its CA"
                    + " bundle. Fix: install the CA certificates (apt-get install ca-certificates).");
        }
        Registry.writeAtomically(etc.resolve(CaBundle.FILE), CaBundle.compose(CaBundle.systemBundle(CaBundle.SYSTEM_BUNDLES), trust),
                PosixFilePermissions.fromString("rw-r--r--"));
        // The user's home (BwrapArgs.HOME), outside the workspace: tools' state stays out of exports and templates. It lives as
        // long as the sandbox (every command of it, the daemon's exec too, sees the same one) and goes with its files; a pooled
        // member starts with an empty one, as nothing of a template's home is copied.
        Path home = r.runFiles().resolve(BwrapArgs.HOME_DIR);
        try {
            if (!Files.isDirectory(home, LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectory(home);
            }
            Files.setAttribute(home, "unix:uid", user.uid(), LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(home, "unix:gid", user.gid(), LinkOption.NOFOLLOW_LINKS);
            Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwx------"));
        } catch (IOException | UnsupportedOperationException e) {
            throw new SandboxException("cannot create the sandbox user's home " + home + ": " + e + ". Fix: run as root.", e);
        }
        // The read-only placeholders for a missing .git/hooks or .git/config (WorkspaceMounts).
        try {
            Path dir = r.runFiles().resolve(WorkspaceMounts.EMPTY_DIR);
            Path file = r.runFiles().resolve(WorkspaceMounts.EMPTY_FILE);
            if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectory(dir);
            }
            if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
                Files.createFile(file);
            }
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("r-xr-xr-x"));
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("r--r--r--"));
        } catch (IOException e) {
            throw new SandboxException("cannot create the placeholders in " + r.runFiles() + ": " + e + ". Fix: run as root.", e);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Claim

    /**
     * Starts {@code command} in the prepared sandbox: joins its cgroups, enters its network
     * namespace, becomes the sandbox user, then bubblewrap (see {@link BwrapArgs}). The environment
     * is exactly {@code env} over a few defaults (PATH, HOME=/home/airlock, USER, LOGNAME); nothing of
     * this JVM's. A command that is not found exits 127, one that cannot be run 126. A sandbox runs
     * one command: a second claim is refused.
     */
    public Process claim(PreparedSandbox p, List<String> command, Map<String, String> env, ProcessBuilder.Redirect in,
            ProcessBuilder.Redirect out, ProcessBuilder.Redirect err) throws SandboxException {
        return start(p, command, env, in, out, err, true);
    }

    /**
     * Starts one more command in a sandbox this launcher prepared (the daemon's exec): the same
     * network namespace, cgroups and workspace, a fresh bubblewrap (own PID and mount namespaces).
     */
    public Process exec(PreparedSandbox p, List<String> command, Map<String, String> env, ProcessBuilder.Redirect in,
            ProcessBuilder.Redirect out, ProcessBuilder.Redirect err) throws SandboxException {
        return start(p, command, env, in, out, err, false);
    }

    /**
     * Starts the sandbox's init now and its command later (the warm pool): bubblewrap, the
     * namespaces, mounts and cgroups are all in place, and a shell waits on its stdin for the
     * command and environment {@link Standby#go} sends. This counts as the sandbox's claim.
     */
    public Standby standby(PreparedSandbox p) throws SandboxException {
        Process init = start(p, Standby.INIT, Map.of(), ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.PIPE,
                ProcessBuilder.Redirect.PIPE, true);
        return new Standby(p, init);
    }

    /**
     * As {@link #standby}, for one more command in a sandbox that already runs one (the daemon's
     * exec with a terminal): a fresh bubblewrap whose init waits for {@link Standby#go}.
     */
    public Standby standbyExec(PreparedSandbox p) throws SandboxException {
        Process init = start(p, Standby.INIT, Map.of(), ProcessBuilder.Redirect.PIPE, ProcessBuilder.Redirect.PIPE,
                ProcessBuilder.Redirect.PIPE, false);
        return new Standby(p, init);
    }

    /** How long {@link #terminal} waits for a just-started init to finish bubblewrap's setup. */
    private static final java.time.Duration INIT_SETUP = java.time.Duration.ofSeconds(10);

    /**
     * A pseudo-terminal in the devpts of {@code s}'s sandbox, of size {@code size}, for
     * {@link Standby#go(List, Map, Pty)}: its terminal side belongs to the sandbox user. Waits (at
     * most {@link #INIT_SETUP}) until the init runs inside its finished root.
     */
    public Pty terminal(Standby s, WindowSize size) throws SandboxException {
        if (!live.containsKey(s.sandbox().id())) {
            throw new SandboxException("sandbox " + s.sandbox().id() + " was destroyed. Fix: prepare a new one.");
        }
        long init = StandbyInit.find(s.process(), INIT_SETUP);
        SandboxUser u = userOf(s.sandbox().id());
        return Pty.openIn(init, u.uid(), u.gid(), size);
    }

    private Process start(PreparedSandbox p, List<String> command, Map<String, String> env, ProcessBuilder.Redirect in,
            ProcessBuilder.Redirect out, ProcessBuilder.Redirect err, boolean first) throws SandboxException {
        SandboxRecord r = live.get(p.id());
        if (r == null || !r.prepared().equals(p)) {
            throw new SandboxException("sandbox " + p.id() + " was not prepared by this launcher, or was destroyed. Fix: prepare a new one.");
        }
        if (command.isEmpty()) {
            throw new SandboxException("no command to run. Fix: give a command after `--`.");
        }
        BwrapArgs.checkEnvironment(env);
        if (first && !claimed.add(p.id())) {
            throw new SandboxException("sandbox " + p.id() + " already runs a command; a sandbox runs one. Fix: prepare another.");
        }
        List<String> mounts = WorkspaceMounts.of(r.workspace(), protections.getOrDefault(p.id(), WorkspaceProtection.DEFAULT), r.runFiles());
        SandboxUser user = userOf(p.id());
        List<String> args = BwrapArgs.buildOn(user, r.workspace(), r.runFiles().resolve("etc"), EtcFiles.generated(user, r.hostAddress()), env,
                mounts, Optional.ofNullable(images.get(p.id())));
        // `exec "$@"` through the sandbox's shell: "not found" is 127 and "not executable" 126, as
        // the command line promises, where bubblewrap's own execvp failure would be 1.
        List<String> cmd = new ArrayList<>(List.of("/bin/sh", "-c", "exec \"$@\"", "airlock"));
        cmd.addAll(command);
        try {
            Process started = ops.start(new Launch(layout.dirs(r.id()), r.netns(), user.uid(), user.gid(), args, cmd, in, out, err,
                    ownSessions));
            commands.computeIfAbsent(p.id(), k -> java.util.Collections.synchronizedList(new ArrayList<>())).add(started);
            if (!live.containsKey(p.id())) {
                // destroyed while starting: this process must not outlive its sandbox
                started.destroyForcibly();
                throw new SandboxException("sandbox " + p.id() + " was destroyed while its command started. Fix: prepare a new one.");
            }
            return started;
        } catch (SandboxException | RuntimeException e) {
            if (first) {
                claimed.remove(p.id());
            }
            throw e;
        }
    }

    /** Who sandbox {@code id}'s processes run as. */
    private SandboxUser userOf(String id) {
        return users.getOrDefault(id, user);
    }

    /** The kernel this launcher uses: root's other file operations on the state directory go through it too. */
    public KernelOps kernel() {
        return ops;
    }

    /**
     * A new, empty member workspace for {@code project} ({@link MemberWorkspaces}): the sandbox
     * prepared on it owns it, so {@link #destroy} and {@link #reap} remove it with its other objects.
     */
    public Path memberWorkspace(String project) throws SandboxException {
        return memberWorkspace(project, MemberWorkspaces::randomName);
    }

    /** Names that collide are never reused: another member's live workspace must not be re-owned. */
    Path memberWorkspace(String project, java.util.function.Supplier<String> names) throws SandboxException {
        if (!PROJECT.matcher(project).matches()) {
            throw new SandboxException("project name '" + project + "' is not [a-z0-9-]{1,40}. Fix: use the project of airlock.yaml.");
        }
        for (int attempt = 0; attempt < NAME_ATTEMPTS; attempt++) {
            Path dir;
            try {
                dir = MemberWorkspaces.newPath(state, project, names.get());
            } catch (IOException e) {
                throw new SandboxException("cannot create a workspace for " + project + " beside " + state + ": " + e + ". Fix: check the state directory.", e);
            }
            // A taken name (another member's live workspace, a link) is skipped here and refused by the kernel operation if it
            // appears in between: it is never re-owned.
            if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
                ops.execute(new KernelOp.CreateWorkspace(state, dir, user.uid(), user.gid()));
                return dir;
            }
        }
        throw new SandboxException("no free workspace name for " + project + " in " + NAME_ATTEMPTS + " attempts under "
                + MemberWorkspaces.root(state) + ". Fix: run `airlock gc`; remove stale w-* directories there if it leaves them.");
    }

    /** Removes a member workspace no sandbox was prepared on (its preparation failed); anything else is left alone. */
    public void discardMemberWorkspace(Path ws) {
        if (MemberWorkspaces.owned(state, ws)) {
            deleteWorkspace(ws).forEach(f -> warnings.accept("cannot remove workspace " + f));
        }
    }

    /**
     * Removes the member workspaces that no sandbox on this host holds (by its record or lease):
     * those a process killed between creating a workspace and recording its sandbox left. Only the
     * daemon calls it, at its start, holding its state directory's lock (no other process creates
     * workspaces there then). Returns the removed paths.
     */
    public List<String> sweepMemberWorkspaces() {
        return reaper.sweepMemberWorkspaces();
    }

    /**
     * Removes member workspace {@code ws} through the kernel ({@link KernelOp.DeleteTree}: no link
     * followed, a mount point below it left in place). Returns what could not be removed (empty:
     * all gone, or it did not exist).
     */
    private List<String> deleteWorkspace(Path ws) {
        try {
            ops.execute(new KernelOp.DeleteTree(state, ws));
            return List.of();
        } catch (SandboxException e) {
            return List.of(e.getMessage());
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Destroy

    /**
     * Removes every kernel object of {@code p}: its processes (killed through its cgroups), cgroups,
     * nftables table, link and namespace, then its files, record and lease, and the shared TPROXY
     * rule when it was the host's last sandbox. Idempotent. It never throws: what it cannot remove
     * is reported on stderr and left to {@link #reap()} (its record is handed to no owner).
     */
    public void destroy(PreparedSandbox p) {
        if (!Names.isId(p.id())) {
            warnings.accept("not a sandbox id, nothing destroyed: " + p.id());
            return;
        }
        SandboxRecord r = live.get(p.id());
        if (r == null) {
            r = Registry.read(records.resolve(p.id() + ".json")).orElse(null);
        }
        List<Path> cgroups = r != null ? r.cgroups() : layout.dirs(p.id());
        // The command this launcher started, by its own handle first: it may not have joined the
        // cgroups yet (the wrapper joins them one after the other), and must not join them later.
        // bubblewrap's --die-with-parent takes whatever it had started (its parent is Spawner's thread,
        // which lives as long as this JVM, so nothing but this kill or the JVM's death ends it).
        List<Process> started = commands.remove(p.id());
        if (started != null) {
            synchronized (started) {
                started.forEach(Process::destroyForcibly);
            }
        }
        List<String> errors = teardown(p.id(), cgroups, overlayStates(p.id(), Optional.ofNullable(r)));
        if (r == null) {
            // Already destroyed (or never recorded): the objects are gone; drop the lease if one is left.
            try {
                registry.locked(() -> {
                    registry.deleteLease(p.id());
                    dropRuleIfLast();
                    return null;
                });
            } catch (SandboxException e) {
                warnings.accept("sandbox " + p.id() + ": " + e.getMessage());
            }
            return;
        }
        forget(r, errors);
    }

    /** After a teardown: remove files, record and lease, or, if the teardown failed, hand them to the reaper. */
    private void forget(SandboxRecord r, List<String> errors) {
        live.remove(r.id());
        protections.remove(r.id());
        images.remove(r.id());
        users.remove(r.id());
        claimed.remove(r.id());
        commands.remove(r.id());
        if (!errors.isEmpty()) {
            warnings.accept("sandbox " + r.id() + " was not fully removed; `airlock gc` will retry: " + String.join("; ", errors));
            try {
                SandboxRecord orphan = r.withOwner(Owner.NONE);
                writeRecord(orphan);
                registry.locked(() -> {
                    registry.writeLease(orphan);
                    return null;
                });
            } catch (SandboxException e) {
                warnings.accept("sandbox " + r.id() + ": " + e.getMessage());
            }
            return;
        }
        // the sandbox's processes are dead: its own workspace goes with it (before its record, which names it)
        if (MemberWorkspaces.owned(state, r.workspace())) {
            List<String> failed = deleteWorkspace(r.workspace());
            if (!failed.isEmpty()) {
                warnings.accept("sandbox " + r.id() + ": cannot remove its workspace: " + String.join("; ", failed));
            }
        }
        try {
            registry.deleteFiles(r.id());
            Files.deleteIfExists(records.resolve(r.id() + ".json"));
            registry.locked(() -> {
                registry.deleteLease(r.id());
                dropRuleIfLast();
                return null;
            });
        } catch (SandboxException | IOException e) {
            warnings.accept("sandbox " + r.id() + ": " + e.getMessage());
        }
    }

    private Void dropRuleIfLast() throws SandboxException {
        if (registry.leases().isEmpty()) {
            ops.execute(new KernelOp.DeletePolicyRule(PolicyRoute.MARK, PolicyRoute.TABLE));
        }
        return null;
    }

    /**
     * Removes sandbox {@code id}'s kernel objects, in the reverse order of their creation (after
     * killing its processes, which would otherwise keep the namespace alive, and its overlay
     * mounted). Each group runs even
     * when an earlier one failed; the failures are returned.
     */
    private List<String> teardown(String id, List<Path> cgroups, List<Path> overlayStates) {
        List<Path> dirs = new ArrayList<>(cgroups);
        layout.dirs(id).stream().filter(d -> !dirs.contains(d)).forEach(dirs::add);
        List<KernelOp> kill = new ArrayList<>();
        killOrder(dirs).forEach(d -> kill.add(new KernelOp.KillCgroup(d)));
        List<KernelOp> rmdir = new ArrayList<>();
        List<Path> reversed = new ArrayList<>(dirs);
        Collections.reverse(reversed);
        reversed.forEach(d -> rmdir.add(new KernelOp.DeleteCgroup(d)));
        // The overlay comes off once its processes are gone (a live one keeps the mount busy).
        List<KernelOp> unmount = new ArrayList<>();
        overlayStates.forEach(st -> unmount.add(new KernelOp.UnmountOverlay(st, id)));
        List<List<KernelOp>> groups = List.of(kill, unmount, rmdir,
                List.of(new KernelOp.DeleteNftTable(Names.nftTable(id))),
                List.of(new KernelOp.DeleteLink(Names.hostLink(id)), new KernelOp.DeleteNetns(Names.netns(id))));
        List<String> errors = new ArrayList<>();
        for (List<KernelOp> g : groups) {
            try {
                ops.execute(g);
            } catch (SandboxException | RuntimeException e) {
                errors.add(e.getMessage());
            }
        }
        return errors;
    }

    /** The freezer first (v1): it stops the members, so the kills that follow race nothing. */
    private static List<Path> killOrder(List<Path> dirs) {
        List<Path> out = new ArrayList<>();
        dirs.stream().filter(d -> d.getParent() != null && d.getParent().getFileName() != null
                && d.getParent().getFileName().toString().contains("freezer")).forEach(out::add);
        dirs.stream().filter(d -> !out.contains(d)).forEach(out::add);
        return out;
    }

    private void writeRecord(SandboxRecord r) throws SandboxException {
        try {
            Files.createDirectories(records);
            Files.setPosixFilePermissions(records, PosixFilePermissions.fromString("rwx------"));
        } catch (IOException e) {
            throw new SandboxException("cannot create " + records + ": " + e + ". Fix: check the state directory (--state or AIRLOCK_STATE).", e);
        }
        Registry.writeAtomically(records.resolve(r.id() + ".json"), r.toJson(), PosixFilePermissions.fromString("rw-------"));
    }

    // ---------------------------------------------------------------------------------------------
    // Reap

    /**
     * Removes what crashed runs left ({@link Reaper#reap()}): sandboxes whose owner is dead, and
     * {@code alk} objects no live lease claims. Never throws, reports.
     */
    public ReapReport reap() {
        return reaper.reap();
    }

    private Optional<Path> ownState() {
        try {
            return Optional.of(state.toRealPath());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Changes

    /**
     * What sandbox {@code p} wrote in its copy-on-write workspace ({@link WorkspaceChanges}: names
     * outside {@code .git}, relative to the workspace, and whether a ref moved), read from its
     * overlay's upper directory without following a link. A pool member's own workspace
     * ({@link MemberWorkspaces}) starts empty: still empty, it is untouched. Empty (unknown) for any
     * other plain directory (it is all the sandbox's), and when the list would be too large.
     */
    public Optional<WorkspaceChanges> changes(PreparedSandbox p) throws SandboxException {
        SandboxRecord r = live.get(p.id());
        if (r == null) {
            return Optional.empty();
        }
        if (r.overlay().isEmpty()) {
            // a pool member over its own (initially empty) workspace: empty still means untouched
            return MemberWorkspaces.owned(state, r.workspace()) ? MemberWorkspaces.changes(r.workspace()) : Optional.empty();
        }
        Path upper = Overlays.upper(r.overlay().get().state(), r.id());
        try {
            return UpperChanges.changes(upper);
        } catch (IOException e) {
            throw new SandboxException("cannot list what sandbox " + p.id() + " changed in " + upper + ": " + e, e);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Close

    /** True once this launcher is closed or the JVM's shutdown began destroying its sandboxes: their processes die now. */
    public boolean closed() {
        return closed;
    }

    /** The ids of the sandboxes this launcher holds (prepared, not yet destroyed). */
    public Set<String> held() {
        return Collections.unmodifiableSet(new TreeSet<>(live.keySet()));
    }

    /** Destroys every sandbox this launcher still holds. */
    @Override
    public void close() {
        closed = true;
        destroyAll();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // the JVM is shutting down: the hook is running or has run
        }
    }

    private void destroyAll() {
        for (SandboxRecord r : List.copyOf(live.values())) {
            destroy(r.prepared());
        }
    }
}
