package dev.airlock.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Where a sandbox's cgroups live and which files carry its limits.
 *
 * <p>Cgroup v2 ({@link Unified}) is the target: one directory {@code <root>/<id>} with
 * {@code memory.max}, {@code cpu.max}, {@code pids.max}, and {@code cgroup.kill} to end every
 * process in it at once. A host that boots with the memory, cpu and pids controllers bound to
 * cgroup v1 hierarchies (the "hybrid" layout: systemd's {@code unified_cgroup_hierarchy=0}, some
 * VM images, this project's build machine) cannot give them to v2 while v1 holds them, so there the
 * launcher uses the v1 hierarchies ({@link Legacy}): one directory of the same name in each, with
 * {@code memory.limit_in_bytes}, {@code cpu.cfs_quota_us}/{@code cpu.cfs_period_us},
 * {@code pids.max}, and the freezer (when mounted) to stop the processes before they are killed.
 */
sealed interface CgroupLayout {

    /** The directories under which sandbox cgroups are created (and the only ones the reaper scans). */
    List<Path> roots();

    /** The cgroup directories of sandbox {@code id}, in creation order. */
    default List<Path> dirs(String id) {
        return roots().stream().map(r -> r.resolve(id)).toList();
    }

    /** The directory reported as {@link PreparedSandbox#cgroup()}. */
    Path primary(String id);

    /** The operations that create sandbox {@code id}'s cgroups and set its limits, in order. */
    List<KernelOp> create(String id, Resources r);

    /** The v2 hierarchy: one directory per sandbox under {@code root}. */
    record Unified(Path root) implements CgroupLayout {

        /** The controllers a sandbox's limits need, enabled in the root's {@code cgroup.subtree_control}. */
        static final List<String> CONTROLLERS = List.of("memory", "cpu", "pids");

        public Unified {
            Objects.requireNonNull(root, "root");
        }

        @Override
        public List<Path> roots() {
            return List.of(root);
        }

        @Override
        public Path primary(String id) {
            return root.resolve(id);
        }

        @Override
        public List<KernelOp> create(String id, Resources r) {
            Path dir = root.resolve(id);
            return List.of(
                    new KernelOp.EnableControllers(root, CONTROLLERS),
                    new KernelOp.CreateCgroup(dir),
                    new KernelOp.SetCgroupLimit(dir, "memory.max", Long.toString(r.memoryBytes())),
                    new KernelOp.SetCgroupLimit(dir, "cpu.max", r.cpuQuotaMicros() + " " + Resources.CPU_PERIOD_US),
                    new KernelOp.SetCgroupLimit(dir, "pids.max", Integer.toString(r.pids())));
        }
    }

    /** The v1 hierarchies: one directory per sandbox in each; {@code freezer} may be null. */
    record Legacy(Path memory, Path cpu, Path pids, Path freezer) implements CgroupLayout {

        public Legacy {
            Objects.requireNonNull(memory, "memory");
            Objects.requireNonNull(cpu, "cpu");
            Objects.requireNonNull(pids, "pids");
        }

        @Override
        public List<Path> roots() {
            List<Path> roots = new ArrayList<>(List.of(memory, cpu, pids));
            if (freezer != null) {
                roots.add(freezer);
            }
            return roots.stream().distinct().toList();
        }

        @Override
        public Path primary(String id) {
            return pids.resolve(id);
        }

        @Override
        public List<KernelOp> create(String id, Resources r) {
            List<KernelOp> ops = new ArrayList<>();
            for (Path d : dirs(id)) {
                ops.add(new KernelOp.CreateCgroup(d));
            }
            // v1 rounds the memory limit down to a page; the value is what the sandbox gets.
            ops.add(new KernelOp.SetCgroupLimit(memory.resolve(id), "memory.limit_in_bytes", Long.toString(r.memoryBytes())));
            // The period first: the kernel checks the quota against the period in force.
            ops.add(new KernelOp.SetCgroupLimit(cpu.resolve(id), "cpu.cfs_period_us", Long.toString(Resources.CPU_PERIOD_US)));
            ops.add(new KernelOp.SetCgroupLimit(cpu.resolve(id), "cpu.cfs_quota_us", Long.toString(r.cpuQuotaMicros())));
            ops.add(new KernelOp.SetCgroupLimit(pids.resolve(id), "pids.max", Integer.toString(r.pids())));
            return List.copyOf(ops);
        }
    }

    /**
     * The layout of this host, from {@code /proc/self/mountinfo}: a cgroup v2 mount that offers the
     * memory, cpu and pids controllers, else v1 hierarchies holding them.
     */
    static CgroupLayout detect() throws SandboxException {
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of("/proc/self/mountinfo"));
        } catch (IOException e) {
            throw new SandboxException("cannot read /proc/self/mountinfo to find the cgroup hierarchies: " + e.getMessage()
                    + ". Fix: run Airlock on Linux with /proc mounted.", e);
        }
        return fromMountinfo(lines, SystemKernelOps::readQuietly);
    }

    /** Pure part of {@link #detect()}; {@code read} reads a file or returns null. */
    static CgroupLayout fromMountinfo(List<String> mountinfo, java.util.function.Function<Path, String> read) throws SandboxException {
        List<Path> v2 = new ArrayList<>();
        Map<String, Path> v1 = new LinkedHashMap<>();
        for (String line : mountinfo) {
            int dash = line.indexOf(" - ");
            if (dash < 0) {
                continue;
            }
            String[] pre = line.substring(0, dash).split(" ");
            String[] post = line.substring(dash + 3).split(" ");
            if (pre.length < 5 || post.length < 3) {
                continue;
            }
            Path mountPoint = Path.of(pre[4].replace("\\040", " "));
            if (post[0].equals("cgroup2")) {
                v2.add(mountPoint);
            } else if (post[0].equals("cgroup")) {
                for (String opt : post[2].split(",")) {
                    v1.putIfAbsent(opt, mountPoint);
                }
            }
        }
        Set<String> needed = new HashSet<>(Unified.CONTROLLERS);
        // Prefer the conventional mount point, then any other v2 mount offering the controllers.
        v2.sort((a, b) -> Boolean.compare(!a.equals(Path.of("/sys/fs/cgroup")), !b.equals(Path.of("/sys/fs/cgroup"))));
        for (Path m : v2) {
            String controllers = read.apply(m.resolve("cgroup.controllers"));
            if (controllers != null && new HashSet<>(Arrays.asList(controllers.trim().split("\\s+"))).containsAll(needed)) {
                return new Unified(m);
            }
        }
        if (v1.containsKey("memory") && v1.containsKey("cpu") && v1.containsKey("pids")) {
            return new Legacy(v1.get("memory"), v1.get("cpu"), v1.get("pids"), v1.get("freezer"));
        }
        throw new SandboxException("no cgroup hierarchy offers the memory, cpu and pids controllers (cgroup v2 mounts: " + v2
                + ", v1 controllers: " + v1.keySet() + "), so sandbox limits cannot be enforced. Fix: boot with cgroup v2"
                + " (kernel command line systemd.unified_cgroup_hierarchy=1, the Debian 12 default) or mount the v1"
                + " memory, cpu and pids hierarchies.");
    }
}
