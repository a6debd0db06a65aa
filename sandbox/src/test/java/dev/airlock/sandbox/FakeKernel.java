package dev.airlock.sandbox;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * A recording {@link KernelOps}: it keeps the kernel's objects as sets, applies every operation to
 * them as the kernel would (creating an existing object fails, deleting a missing one is nothing),
 * and remembers every operation in order. Processes are owners that the test declares alive.
 *
 * <p>Shared with the modules above the kernel (runtime, server) through this module's test-jar:
 * they use the public methods; this package's tests also reach the fields.
 */
public final class FakeKernel implements KernelOps {

    static final Path V2_ROOT = Path.of("/sys/fs/cgroup");

    final List<KernelOp> executed = new ArrayList<>();
    final List<Launch> launches = new ArrayList<>();
    final Set<String> netns = new LinkedHashSet<>();
    final Set<String> links = new LinkedHashSet<>();
    final Set<String> tables = new LinkedHashSet<>();
    final Set<Path> cgroups = new LinkedHashSet<>();
    final Set<Path> killed = new LinkedHashSet<>();
    /** Overlay mount points. */
    final Set<Path> mounts = new LinkedHashSet<>();
    /** Root layers sealed ({@link KernelOp.SealRootLayer}); the fake writes no file for them. */
    final Set<Path> sealed = new LinkedHashSet<>();
    final Set<Owner> alive = new HashSet<>();
    boolean policyRule;
    Owner self = new Owner(4242, 1000);
    /** Throws an injected failure instead of executing the first operation that matches. */
    Predicate<KernelOp> failOn = op -> false;
    /** What {@link #start} really runs (the test's stand-in for the sandboxed command). */
    List<String> startCommand = List.of("true");
    /** Called before each operation executes (to look at the records at that moment). */
    Consumer<KernelOp> before = op -> { };

    private final Path runDir;
    private final CgroupLayout layout;
    /** The real kernel operations for files (it runs no command for them, so the tools are never started). */
    private final SystemKernelOps files;
    /** The real privileged switch: every operation passes its checks before the fake applies it. */
    private final KernelAuthorizer authorizer;

    /** A fake kernel with nothing in it, its machine-wide directory at {@code runDir}, cgroup v2. */
    public FakeKernel(Path runDir) {
        this(runDir, new CgroupLayout.Unified(V2_ROOT));
    }

    FakeKernel(Path runDir, CgroupLayout layout) {
        this.runDir = runDir;
        this.layout = layout;
        this.files = fileOps(runDir, layout);
        this.authorizer = new KernelAuthorizer(TOOLS, layout, new SystemHost(TOOLS));
        alive.add(self);
    }

    /** The real kernel operations, for root's file operations on a test's temporary files (they run no command). */
    static SystemKernelOps fileOps(Path runDir, CgroupLayout layout) {
        return new SystemKernelOps(TOOLS, layout, new SystemHost(TOOLS), runDir);
    }

    /**
     * Where a Debian host's binaries are. The fake never runs them (only the file operations run for
     * real, and they run no command); the tests of the real kernel operations use the same paths.
     */
    static final Tools TOOLS = new Tools(Path.of("/usr/sbin/ip"), Path.of("/usr/sbin/nft"), Path.of("/usr/bin/nsenter"),
            Path.of("/usr/bin/setpriv"), Path.of("/usr/bin/bwrap"), Path.of("/bin/sh"), Path.of("/usr/sbin/sysctl"), Path.of("/usr/bin/mount"),
            Path.of("/usr/bin/umount"), Path.of("/usr/bin/setsid"));

    /** {@code owner} is a running process from now on (see {@link #as}). */
    public synchronized void live(Owner owner) {
        alive.add(owner);
    }

    /** {@code owner} died without cleaning up (kill -9): what it made stays, for a reaper to find. */
    public synchronized void crash(Owner owner) {
        alive.remove(owner);
    }

    /**
     * A sandbox that another process ({@code owner}) prepared with its records in {@code state},
     * then died without cleaning up (kill -9): its kernel objects, lease and record stay for a reaper.
     */
    public PreparedSandbox leftOver(Owner owner, Path state, SandboxSpec spec) throws SandboxException {
        live(owner);
        // never closed: a killed process runs no cleanup (its shutdown hook runs at this JVM's end, on this fake)
        PreparedSandbox p = new SandboxLauncher(state, LinkRange.DEFAULT, as(owner)).prepare(spec);
        crash(owner);
        return p;
    }

    /** The next operation that matches {@code op} fails instead of executing (once). */
    public synchronized void failOnce(Predicate<KernelOp> op) {
        failOn = op;
    }

    /** What {@link #start} runs from now on in place of the sandboxed command (default: {@code true}). */
    public synchronized void runs(List<String> command) {
        startCommand = List.copyOf(command);
    }

    /** The operations executed so far, in order. */
    public synchronized List<KernelOp> executed() {
        return List.copyOf(executed);
    }

    /** The same kernel seen from another process, {@code owner} (which the test declares alive or dead). */
    public KernelOps as(Owner owner) {
        FakeKernel k = this;
        return new KernelOps() {
            @Override
            public void execute(List<KernelOp> ops) throws SandboxException {
                k.execute(ops);
            }

            @Override
            public Process start(Launch l) throws SandboxException {
                return k.start(l);
            }

            @Override
            public KernelInventory inventory() {
                return k.inventory();
            }

            @Override
            public CgroupLayout cgroups() {
                return k.cgroups();
            }

            @Override
            public Path runDir() {
                return k.runDir();
            }

            @Override
            public Owner self() {
                return owner;
            }

            @Override
            public boolean alive(Owner o) {
                return k.alive(o);
            }
        };
    }

    @Override
    public synchronized void execute(List<KernelOp> ops) throws SandboxException {
        // The real privileged switch checks every operation first, as on the host: a refused call changes nothing here either.
        authorizer.authorize(ops);
        for (KernelOp op : ops) {
            before.accept(op);
            if (failOn.test(op)) {
                failOn = x -> false;
                throw new SandboxException("injected failure at " + op);
            }
            executed.add(op);
            apply(op);
        }
    }

    private void apply(KernelOp op) throws SandboxException {
        switch (op) {
            case KernelOp.CreateNetns o -> create(netns, o.name());
            case KernelOp.DeleteNetns o -> netns.remove(o.name());
            case KernelOp.CreateVethPair o -> {
                require(netns.contains(o.peerNetns()), "no netns " + o.peerNetns());
                create(links, o.host());
            }
            case KernelOp.DeleteLink o -> links.remove(o.name());
            case KernelOp.Sysctl o -> { }
            case KernelOp.AddAddress o -> { }
            case KernelOp.SetLinkUp o -> { }
            case KernelOp.AddDefaultRoute o -> require(netns.contains(o.netns()), "no netns " + o.netns());
            case KernelOp.ApplyNftRuleset o -> {
                if (o.netns() == null) {
                    tables.add(o.table());
                }
            }
            case KernelOp.DeleteNftTable o -> tables.remove(o.table());
            case KernelOp.AddPolicyRule o -> policyRule = true;
            case KernelOp.DeletePolicyRule o -> policyRule = false;
            case KernelOp.EnableControllers o -> { }
            case KernelOp.CreateCgroup o -> create(cgroups, o.dir());
            case KernelOp.SetCgroupLimit o -> require(cgroups.contains(o.dir()), "no cgroup " + o.dir());
            case KernelOp.KillCgroup o -> {
                if (cgroups.contains(o.dir())) {
                    killed.add(o.dir());
                }
            }
            case KernelOp.DeleteCgroup o -> cgroups.remove(o.dir());
            case KernelOp.MountOverlay o -> create(mounts, Overlays.mountPoint(o.state(), o.id()));
            case KernelOp.UnmountOverlay o -> {
                mounts.remove(Overlays.mountPoint(o.state(), o.id()));
                mounts.remove(RootLayers.setupMount(o.state(), o.id()));
                mounts.remove(RootLayers.stackedMount(o.state(), o.id()));
            }
            case KernelOp.MountSetupRoot o -> create(mounts, RootLayers.setupMount(o.state(), o.id()));
            case KernelOp.MountStackedRoot o -> create(mounts, RootLayers.stackedMount(o.state(), o.id()));
            case KernelOp.SealRootLayer o -> sealed.add(RootLayers.sealed(o.state(), o.project(), o.layer()));
            // Root's file operations touch the test's own temporary files: the real privileged point checks and runs them.
            case KernelOp.DeleteTree o -> files.execute(o);
            case KernelOp.ChownTree o -> files.execute(o);
            case KernelOp.CreateWorkspace o -> files.execute(o);
        }
    }

    private static <T> void create(Set<T> set, T name) throws SandboxException {
        require(set.add(name), name + " exists");
    }

    private static void require(boolean ok, String why) throws SandboxException {
        if (!ok) {
            throw new SandboxException("fake kernel: " + why);
        }
    }

    /** For each start so far, whether it ran in a session of its own ({@link SandboxLauncher#detachFromTerminal}). */
    public synchronized List<Boolean> startsInOwnSession() {
        return launches.stream().map(Launch::ownSession).toList();
    }

    @Override
    public synchronized Process start(Launch launch) throws SandboxException {
        launches.add(launch);
        try {
            return new ProcessBuilder(startCommand).start();
        } catch (IOException e) {
            throw new SandboxException("cannot start true", e);
        }
    }

    @Override
    public synchronized KernelInventory inventory() {
        return new KernelInventory(netns, links, tables, cgroups, policyRule, mounts);
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
        return self;
    }

    @Override
    public synchronized boolean alive(Owner owner) {
        return alive.contains(owner);
    }

    /** Every object of the fake kernel, for "nothing is left" assertions. */
    public synchronized List<String> objects() {
        List<String> all = new ArrayList<>();
        netns.forEach(n -> all.add("netns " + n));
        links.forEach(n -> all.add("link " + n));
        tables.forEach(n -> all.add("table " + n));
        cgroups.forEach(n -> all.add("cgroup " + n));
        mounts.forEach(n -> all.add("overlay " + n));
        if (policyRule) {
            all.add("policy rule");
        }
        return all;
    }
}
