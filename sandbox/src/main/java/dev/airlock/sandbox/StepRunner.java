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
import static dev.airlock.sandbox.SystemKernelOps.CGROUP_EMPTY_TIMEOUT_MS;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Runs the {@link Step}s of authorized operations on the host, in order, stopping at the first
 * failure: consecutive {@code ip} steps for one namespace as one {@code ip -batch}; deletions
 * idempotent (a missing object is skipped, one that vanished meanwhile counts as deleted).
 */
final class StepRunner {

    private final Tools tools;
    private final Host host;

    StepRunner(Tools tools, Host host) {
        this.tools = tools;
        this.host = host;
    }

    void run(List<Step> steps) throws SandboxException {
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
                case RootMount m -> mountRoot(m);
                case SealLayer l -> sealLayer(l);
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

    static SandboxException failed(Host.Result r) {
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
        // The sandbox's root mounts first (setup root or stacked layer): their mount points go, the layer stays.
        for (Path root : List.of(RootLayers.setupMount(u.state(), u.id()), RootLayers.stackedMount(u.state(), u.id()))) {
            if (host.exists(root)) {
                unmountAll(root);
                try {
                    host.rmdir(root);
                } catch (IOException e) {
                    throw new SandboxException("cannot remove the root mount point " + root + ": " + e + ". Fix: `airlock gc` retries.", e);
                }
            }
        }
        Path point = Overlays.mountPoint(u.state(), u.id());
        unmountAll(point);
        try {
            host.rmdir(point);
            host.deleteTree(Overlays.cowDir(u.state(), u.id()), false);
        } catch (IOException e) {
            throw new SandboxException("cannot remove the workspace overlay of " + u.id() + ": " + e + ". Fix: `airlock gc` retries.", e);
        }
    }

    /**
     * A sandbox's root overlay ({@link RootLayers}): writable over the image with the layer's upper
     * directory (prepared on first use, {@link RootLayerFiles#prepare}), or read-only with the
     * sealed layer over the image.
     */
    private void mountRoot(RootMount m) throws SandboxException {
        if (m.upper() != null && upperInUse(m.upper())) {
            // overlayfs only warns about a second mount on one upper directory; two writers would corrupt the layer.
            throw new SandboxException("layer " + m.upper().getParent() + " is mounted by another setup step; root steps of a template"
                    + " run one at a time. Fix: wait for it, or destroy that sandbox.");
        }
        Path mounts = m.point().getParent();
        try {
            if (!host.exists(mounts)) {
                try {
                    host.mkdir(mounts);
                } catch (java.nio.file.FileAlreadyExistsException raced) {
                    // another sandbox being prepared made it first
                }
            }
            // 0711 as the workspace overlays': the sandbox user's bubblewrap reaches its own root, lists none.
            host.chmod(mounts, "rwx--x--x");
            if (m.upper() != null) {
                Path dir = m.upper().getParent();
                // templates/, templates/<project>/ and the layer's directory: root's alone, as TemplateStore makes them.
                for (Path d : List.of(dir.getParent().getParent(), dir.getParent(), dir)) {
                    if (!host.exists(d)) {
                        host.mkdir(d);
                        host.chmod(d, "rwx------");
                    }
                }
                if (!host.exists(m.upper())) {
                    host.prepareRootLayer(m.lowers().get(0), m.upper(), m.uid(), m.gid());
                }
                if (!host.exists(m.work())) {
                    host.mkdir(m.work());
                    host.chmod(m.work(), "rwx------");
                }
            }
            host.mkdir(m.point());
            host.chmod(m.point(), "rwxr-xr-x");
        } catch (IOException e) {
            throw new SandboxException("cannot create the root layer directories for " + m.point() + ": " + e
                    + ". Fix: run as root; if they exist, a crashed run left them: run `airlock gc`.", e);
        }
        StringBuilder o = new StringBuilder(m.upper() == null ? "ro," : "").append("nosuid,nodev,lowerdir=");
        o.append(String.join(":", m.lowers().stream().map(Path::toString).toList()));
        if (m.upper() != null) {
            o.append(",upperdir=").append(m.upper()).append(",workdir=").append(m.work());
        }
        Host.Result r = host.exec(List.of(tools.mount().toString(), "-t", "overlay", "-o", o.toString(),
                m.point().getFileName().toString(), m.point().toString()), "");
        if (!r.ok()) {
            try {
                host.rmdir(m.point());
            } catch (IOException e) {
                // the reaper removes it
            }
            throw new SandboxException("cannot mount the root overlay at " + m.point() + ": " + r.describe()
                    + ". Fix: a kernel with overlayfs, and a state directory on a file system that can hold an overlay's upper"
                    + " directory (ext4, xfs, btrfs or tmpfs; not another overlay or NFS).");
        }
    }

    /** Seals a layer once no overlay uses its upper directory (mountinfo's super options name it). */
    private void sealLayer(SealLayer l) throws SandboxException {
        if (upperInUse(l.upper())) {
            throw new SandboxException("layer " + l.upper().getParent() + " is still mounted by a setup step; it is sealed only once"
                    + " no sandbox writes it. Fix: destroy the setup sandbox first.");
        }
        try {
            host.sealRootLayer(l.upper(), l.work(), l.layer());
        } catch (IOException e) {
            throw new SandboxException("cannot seal the root layer " + l.upper().getParent() + ": " + e.getMessage()
                    + ". Fix: rebuild the template.", e);
        }
    }

    /** True when a mount of this namespace has {@code upper} as its upper directory (mountinfo's super options name it). */
    private boolean upperInUse(Path upper) throws SandboxException {
        String text;
        try {
            text = host.read(MOUNTINFO);
        } catch (IOException e) {
            throw new SandboxException("cannot read " + MOUNTINFO + ": " + e, e);
        }
        for (String line : text.split("\n")) {
            if (line.contains("upperdir=" + upper + ",") || line.endsWith("upperdir=" + upper)) {
                return true;
            }
        }
        return false;
    }

    /** Unmounts every overlay stacked at {@code point} (a mount that raced a crash may lie twice); bounded. */
    private void unmountAll(Path point) throws SandboxException {
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

    boolean policyRulePresent() throws SandboxException {
        Host.Result r = host.exec(List.of(tools.ip().toString(), "rule", "show"), "");
        if (!r.ok()) {
            throw failed(r);
        }
        return r.out().contains("fwmark " + PolicyRoute.markHex() + " lookup " + PolicyRoute.table());
    }
}
