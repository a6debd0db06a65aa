package dev.airlock.sandbox;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * bubblewrap's command line for one sandbox, and the check {@link SystemKernelOps#start} applies to
 * it again at the privileged point.
 *
 * <p>What the sandbox gets: new user (without the right to create more: {@code --disable-userns}),
 * mount, PID, IPC, UTS and cgroup namespaces; the network namespace it was started in (the
 * launcher's, entered before bubblewrap); no capabilities; {@code no_new_privs}; the host's /usr
 * (and the /bin, /sbin, /lib* links or directories) read-only; a curated /etc ({@link EtcFiles});
 * one CA bundle ({@link CaBundle}); its own /proc, a minimal /dev, a fresh /tmp; the workspace read-write at /workspace; its
 * home read-write at {@link #HOME}, a directory of the sandbox's own beside its generated /etc, outside the workspace (so that
 * tools' state, caches and tokens never land in the exported work nor in a template). Everything else of the host is absent:
 * /root, the host's /home, /run (sockets, docker.sock), /var (Airlock's state and audit log), /sys, other workspaces. The root
 * itself is read-only.
 *
 * <p>On an image ({@link ImageStore}) the unpacked image is bound read-only at {@code /} first, in
 * place of the host's /usr, system directories and /etc entries; the rest is the same. The check
 * accepts that bind only as the first mount and only from an image store ({@link ImageStore#isImageRoot}).
 */
final class BwrapArgs {

    /** The top-level host directories of the system, bound read-only (or recreated as the links they are). */
    private static final List<String> SYSTEM_DIRS = List.of("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32");
    static final String WORKSPACE = "/workspace";
    /** The sandbox user's home inside (also in its /etc/passwd): outside the workspace, so nothing there is exported. */
    static final String HOME = "/home/" + SandboxUser.NAME;
    /** The home's directory on the host, in the sandbox's own files (beside {@code etc}): gone when the sandbox is. */
    static final String HOME_DIR = "home";
    static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /** Every option {@link #build} uses, with its number of arguments: the closed set {@link #check} accepts. */
    private static final Map<String, Integer> ARITY = Map.ofEntries(
            Map.entry("--unshare-user", 0), Map.entry("--disable-userns", 0), Map.entry("--unshare-pid", 0),
            Map.entry("--unshare-ipc", 0), Map.entry("--unshare-uts", 0), Map.entry("--unshare-cgroup-try", 0),
            Map.entry("--die-with-parent", 0), Map.entry("--new-session", 0), Map.entry("--clearenv", 0),
            Map.entry("--cap-drop", 1), Map.entry("--uid", 1), Map.entry("--gid", 1), Map.entry("--hostname", 1),
            Map.entry("--chdir", 1), Map.entry("--dir", 1), Map.entry("--proc", 1), Map.entry("--dev", 1),
            Map.entry("--tmpfs", 1), Map.entry("--remount-ro", 1),
            Map.entry("--setenv", 2), Map.entry("--ro-bind", 2), Map.entry("--ro-bind-try", 2), Map.entry("--bind", 2),
            Map.entry("--symlink", 2));
    /** The options that mount something in the new root: an image root must come before all of them. */
    private static final List<String> MOUNTS = List.of("--ro-bind", "--ro-bind-try", "--bind", "--symlink", "--dir", "--proc", "--dev",
            "--tmpfs");
    private static final List<String> REQUIRED = List.of("--unshare-user", "--disable-userns", "--unshare-pid",
            "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--new-session", "--clearenv");

    private BwrapArgs() {
    }

    /**
     * Always with {@code --new-session} (setsid): nothing in the sandbox has the caller's terminal as
     * its controlling terminal, so it cannot push keystrokes into the caller's shell with TIOCSTI
     * (CVE-2017-5226). A command that needs a terminal gets one of its own, a pseudo-terminal in the
     * sandbox's devpts ({@link Pty}), never the caller's.
     */
    static List<String> build(SandboxUser user, Path workspace, Path etcDir, Map<String, String> etcGenerated, Map<String, String> env) {
        return build(user, workspace, etcDir, etcGenerated, env, List.of());
    }

    /**
     * As above, with {@code workspaceMounts} ({@link WorkspaceMounts}: what of the workspace stays
     * read-only) right after the workspace's bind, so that they lie over it.
     */
    static List<String> build(SandboxUser user, Path workspace, Path etcDir, Map<String, String> etcGenerated,
            Map<String, String> env, List<String> workspaceMounts) {
        return build(user, workspace, etcDir, etcGenerated, env, workspaceMounts, Optional.empty());
    }

    /**
     * As above, on {@code image} ({@link ImageStore}) when given: the unpacked image is the root,
     * bound read-only at {@code /} before anything else, in place of the host's /usr and system
     * directories; its own /etc stays, with the generated files bound over theirs, and none of the
     * host's /etc entries. Without an image, the arguments are exactly those of today's host root.
     */
    static List<String> build(SandboxUser user, Path workspace, Path etcDir, Map<String, String> etcGenerated,
            Map<String, String> env, List<String> workspaceMounts, Optional<Path> image) {
        return buildOn(user, workspace, etcDir, etcGenerated, env, workspaceMounts, image.map(Root::readOnly));
    }

    /**
     * The root of a sandbox on an image: {@code source} bound at {@code /}, read-only (an unpacked
     * image, or a sealed layer stacked over one: {@link RootLayers}), or writable for a
     * {@code root: true} setup step ({@link RootLayers#setupMount}), which then runs as uid and gid 0
     * of its user namespace (the sandbox user on the host: setpriv dropped to it before bubblewrap).
     */
    record Root(Path source, boolean writable) {
        static Root readOnly(Path source) {
            return new Root(source, false);
        }
    }

    /** As above, with {@code root} as the sandbox's root file system when given ({@link Root}). */
    static List<String> buildOn(SandboxUser user, Path workspace, Path etcDir, Map<String, String> etcGenerated,
            Map<String, String> env, List<String> workspaceMounts, Optional<Root> root) {
        boolean writable = root.isPresent() && root.get().writable();
        Optional<Path> image = root.map(Root::source);
        List<String> a = new ArrayList<>(List.of(
                "--unshare-user", "--disable-userns", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                "--die-with-parent", "--new-session"));
        // A root step is uid 0 inside only: outside it is still the sandbox user (see Root).
        String uid = writable ? "0" : Integer.toString(user.uid());
        String gid = writable ? "0" : Integer.toString(user.gid());
        a.addAll(List.of("--cap-drop", "ALL", "--uid", uid, "--gid", gid, "--hostname", "airlock", "--clearenv"));
        for (Map.Entry<String, String> e : environment(env).entrySet()) {
            a.addAll(List.of("--setenv", e.getKey(), e.getValue()));
        }
        if (image.isPresent()) {
            // The image is the root: no host /usr, system directories or /etc entries; the generated
            // /etc files, the CA bundle and the home lie over it (the image store made their mount points).
            a.addAll(List.of(writable ? "--bind" : "--ro-bind", image.get().toString(), "/"));
            generatedEtc(a, etcDir, etcGenerated);
        } else {
            a.addAll(List.of("--ro-bind", "/usr", "/usr"));
            for (String d : SYSTEM_DIRS) {
                Path p = Path.of(d);
                if (Files.isSymbolicLink(p)) {
                    try {
                        a.addAll(List.of("--symlink", Files.readSymbolicLink(p).toString(), d));
                    } catch (java.io.IOException e) {
                        // unreadable link: leave it out
                    }
                } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    a.addAll(List.of("--ro-bind", d, d));
                }
            }
            a.addAll(List.of("--dir", "/etc"));
            generatedEtc(a, etcDir, etcGenerated);
            for (String name : EtcFiles.HOST_ENTRIES) {
                if (!etcGenerated.containsKey(name)) {
                    a.addAll(List.of("--ro-bind-try", "/etc/" + name, "/etc/" + name));
                }
            }
        }
        a.addAll(List.of("--ro-bind", etcDir.resolve(CaBundle.FILE).toString(), CaBundle.PATH_IN_SANDBOX));
        a.addAll(List.of("--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
                "--bind", etcDir.resolveSibling(HOME_DIR).toString(), HOME,
                "--bind", workspace.toString(), WORKSPACE));
        a.addAll(workspaceMounts);
        a.addAll(List.of("--chdir", WORKSPACE));
        if (!writable) {
            // A root step's root stays writable: that is what it is for (and all it may write is the layer's upper directory).
            a.addAll(List.of("--remount-ro", "/"));
        }
        return List.copyOf(a);
    }

    private static void generatedEtc(List<String> a, Path etcDir, Map<String, String> etcGenerated) {
        for (String name : etcGenerated.keySet()) {
            a.addAll(List.of("--ro-bind", etcDir.resolve(name).toString(), "/etc/" + name));
        }
    }

    /** The sandbox's environment: defaults (with the CA bundle's variables, {@link CaBundle}), then the caller's (which may override them). */
    static Map<String, String> environment(Map<String, String> env) {
        Map<String, String> all = new TreeMap<>(CaBundle.ENVIRONMENT);
        all.put("PATH", DEFAULT_PATH);
        all.put("HOME", HOME);
        all.put("USER", SandboxUser.NAME);
        all.put("LOGNAME", SandboxUser.NAME);
        all.putAll(env);
        return all;
    }

    /** Refuses an environment variable bubblewrap or the command could not take as given. */
    static void checkEnvironment(Map<String, String> env) throws SandboxException {
        for (Map.Entry<String, String> e : env.entrySet()) {
            String k = e.getKey();
            if (k == null || k.isEmpty() || k.contains("=") || k.indexOf('\0') >= 0 || e.getValue() == null
                    || e.getValue().indexOf('\0') >= 0) {
                throw new SandboxException("invalid environment variable " + k + ". Fix: names are non-empty without '=' or NUL,"
                        + " values without NUL.");
            }
        }
    }

    /**
     * The check at the privileged point ({@code etcDir}: this sandbox's generated /etc files): only options of the closed set, with their arguments; the
     * namespace, capability and session flags present; the user as given; the only read-write binds
     * the workspace and the sandbox's own home, and nothing mounted over /proc or /dev but their fresh instances.
     */
    static void check(List<String> args, int uid, int gid, Path etcDir) throws SandboxException {
        check(args, uid, gid, etcDir, BwrapArgs::overlayMounts);
    }

    /**
     * As above, with the overlay mount points of this mount namespace from {@code mounts}. The user
     * is {@code uid}/{@code gid} (the host's, never 0), except for a root step: {@code --uid 0 --gid 0}
     * only together with a writable root bound first at {@code /} that is exactly this sandbox's
     * setup root ({@link RootLayers#setupMount}, an overlay), with no {@code --remount-ro}; and that
     * writable root only with uid 0, never for an unprivileged command. The sandbox's id is the name
     * of its run directory, {@code etcDir}'s parent.
     */
    static void check(List<String> args, int uid, int gid, Path etcDir, java.util.function.Supplier<java.util.Set<Path>> mounts)
            throws SandboxException {
        List<String> options = new ArrayList<>();
        String workspace = null;
        boolean mounted = false;
        boolean setupRoot = false;
        String uidArg = null;
        String gidArg = null;
        String id = etcDir.getParent() == null || etcDir.getParent().getFileName() == null ? "" : etcDir.getParent().getFileName().toString();
        int i = 0;
        while (i < args.size()) {
            String opt = args.get(i);
            Integer n = ARITY.get(opt);
            if (n == null) {
                throw new SandboxException("refused: bubblewrap option '" + opt + "' is not one the launcher uses. This is a bug in the caller.");
            }
            if (i + n >= args.size()) {
                throw new SandboxException("refused: bubblewrap option " + opt + " lacks its arguments");
            }
            List<String> operands = args.subList(i + 1, i + 1 + n);
            switch (opt) {
                case "--cap-drop" -> require(operands.get(0).equals("ALL"), "--cap-drop must be ALL");
                case "--uid" -> {
                    require(uidArg == null, "one --uid");
                    uidArg = operands.get(0);
                }
                case "--gid" -> {
                    require(gidArg == null, "one --gid");
                    gidArg = operands.get(0);
                }
                case "--proc" -> require(operands.get(0).equals("/proc"), "--proc only at /proc");
                case "--dev" -> require(operands.get(0).equals("/dev"), "--dev only at /dev");
                case "--bind" -> {
                    if (operands.get(1).equals("/")) {
                        // A root step's writable root: the first mount, this sandbox's own setup root, nothing else.
                        require(!mounted && RootLayers.isRootMount(operands.get(0), id, RootLayers.SETUP_MOUNTS, mounts.get()),
                                "a writable root is only this sandbox's setup root " + RootLayers.SETUP_MOUNTS + "/" + id
                                        + " (an overlay the privileged point mounted), bound first; not " + operands.get(0));
                        setupRoot = true;
                    } else if (operands.get(1).equals(WORKSPACE)) {
                        require(workspace == null, "one workspace");
                        workspace = operands.get(0);
                    } else if (operands.get(1).equals(HOME)) {
                        require(operands.get(0).equals(etcDir.resolveSibling(HOME_DIR).toString()),
                                "the home at " + HOME + " is the sandbox's own " + etcDir.resolveSibling(HOME_DIR) + ", not " + operands.get(0));
                    } else {
                        // The other read-write binds: a directory of the workspace over itself, which pins it
                        // (it can then be neither renamed nor replaced: WorkspaceMounts).
                        require(selfBind(workspace, operands.get(0), operands.get(1)),
                                "the read-write binds are " + WORKSPACE + " and, after it, its own directories over themselves; not "
                                        + operands.get(0) + " at " + operands.get(1));
                    }
                }
                case "--ro-bind", "--ro-bind-try" -> require(operands.get(1).equals("/")
                        // The image root: the first mount of all (anything bound before it would vanish under it,
                        // anything after lies over it), only an unpacked image of a store, root's, no links.
                        ? opt.equals("--ro-bind") && !mounted && (ImageStore.isImageRoot(operands.get(0))
                                || RootLayers.isRootMount(operands.get(0), id, RootLayers.STACKED_MOUNTS, mounts.get()))
                        : readOnlySource(operands.get(0), operands.get(1), etcDir)
                        || (opt.equals("--ro-bind") && insideWorkspace(workspace, operands.get(0), operands.get(1), etcDir)),
                        "read-only binds are an unpacked image at / (first), the system directories, allowlisted /etc entries,"
                                + " the sandbox's generated /etc and parts of the workspace over themselves (after the workspace); not " + operands.get(0) + " at "
                                + operands.get(1));
                case "--symlink" -> require(SYSTEM_DIRS.contains(operands.get(1)), "symlinks are only recreated for " + SYSTEM_DIRS);
                case "--dir" -> require(operands.get(0).equals("/etc"), "--dir only for /etc");
                case "--tmpfs" -> require(operands.get(0).equals("/tmp"), "--tmpfs only at /tmp");
                case "--chdir" -> require(operands.get(0).equals(WORKSPACE), "--chdir only to " + WORKSPACE);
                case "--remount-ro" -> require(operands.get(0).equals("/"), "--remount-ro only for /");
                default -> {
                    // no operands to check
                }
            }
            if (MOUNTS.contains(opt)) {
                mounted = true;
            }
            options.add(opt);
            i += 1 + n;
        }
        for (String r : REQUIRED) {
            require(options.contains(r), "bubblewrap without " + r + " is no sandbox");
        }
        require(options.contains("--cap-drop") && options.contains("--uid") && options.contains("--gid"),
                "bubblewrap needs --cap-drop ALL, --uid and --gid");
        require(workspace != null, "a read-write bind of the workspace");
        if (setupRoot) {
            // uid 0 of the namespace is the host's uid (setpriv dropped to it first): never the host's root.
            require(uid > 0 && gid > 0, "a root step runs as a sandbox user on the host, never as uid or gid 0 (got " + uid + "/" + gid + ")");
            require("0".equals(uidArg) && "0".equals(gidArg), "a writable root is only for a root step, with --uid 0 --gid 0");
            require(!options.contains("--remount-ro"), "a root step's root stays writable: no --remount-ro");
        } else {
            require(Integer.toString(uid).equals(uidArg) && uid > 0, "--uid must be " + uid + " and not 0");
            require(Integer.toString(gid).equals(gidArg) && gid > 0, "--gid must be " + gid + " and not 0");
            // The root is made read-only last: anything after it could still mount over the sandbox.
            require(options.get(options.size() - 1).equals("--remount-ro") && args.get(args.size() - 1).equals("/"),
                    "the last option must be --remount-ro /");
        }
    }

    /** The overlay mount points of this process's mount namespace (the privileged point's, the host's). */
    private static java.util.Set<Path> overlayMounts() {
        try {
            return StepRunner.parseOverlayMounts(Files.readString(StepRunner.MOUNTINFO));
        } catch (java.io.IOException e) {
            return java.util.Set.of(); // unreadable: no root mount is accepted
        }
    }

    /** A read-only bind of the closed set: system directories, allowlisted /etc entries, generated /etc files. */
    private static boolean readOnlySource(String source, String dest, Path etcDir) {
        if (source.equals("/usr") || SYSTEM_DIRS.contains(source)) {
            return dest.equals(source);
        }
        if (source.startsWith("/etc/") && EtcFiles.HOST_ENTRIES.contains(source.substring(5))) {
            return dest.equals(source);
        }
        Path p = Path.of(source);
        if (dest.equals(CaBundle.PATH_IN_SANDBOX)) {
            return p.isAbsolute() && p.normalize().equals(p) && p.equals(etcDir.resolve(CaBundle.FILE));
        }
        return p.isAbsolute() && p.normalize().equals(p) && etcDir.equals(p.getParent()) && dest.equals("/etc/" + p.getFileName());
    }

    /**
     * A read-only bind over a part of the workspace, after the workspace's own bind: the same part
     * of the host's workspace (reached without a link below the workspace, which bubblewrap would
     * follow as the sandbox user) or one of the sandbox's empty placeholders.
     */
    private static boolean insideWorkspace(String workspace, String source, String dest, Path etcDir) {
        Optional<String> rel = relativeInside(workspace, dest);
        if (rel.isEmpty()) {
            return false;
        }
        Path placeholders = etcDir.getParent();
        if (source.equals(placeholders.resolve(WorkspaceMounts.EMPTY_DIR).toString())
                || source.equals(placeholders.resolve(WorkspaceMounts.EMPTY_FILE).toString())) {
            return true;
        }
        return selfBind(workspace, source, dest);
    }

    /** {@code dest} is a path below the workspace and {@code source} the same path of the host's workspace, reached without a link. */
    private static boolean selfBind(String workspace, String source, String dest) {
        Optional<String> rel = relativeInside(workspace, dest);
        return rel.isPresent() && source.equals(workspace + "/" + rel.get()) && noLinkBelow(workspace, rel.get());
    }

    /** {@code dest}'s normalised path below {@link #WORKSPACE}, never the workspace itself nor above it; empty otherwise. */
    private static Optional<String> relativeInside(String workspace, String dest) {
        if (workspace == null || !dest.startsWith(WORKSPACE + "/")) {
            return Optional.empty();
        }
        String rel = dest.substring(WORKSPACE.length() + 1);
        Path r = Path.of(rel);
        if (rel.isEmpty() || r.isAbsolute() || !r.normalize().equals(r) || r.startsWith("..")) {
            return Optional.empty();
        }
        return Optional.of(rel);
    }

    /** No component of {@code rel} below {@code workspace} is a symbolic link (checked with lstat). */
    private static boolean noLinkBelow(String workspace, String rel) {
        Path p = Path.of(workspace);
        for (Path c : Path.of(rel)) {
            p = p.resolve(c);
            if (Files.isSymbolicLink(p)) {
                return false;
            }
        }
        return true;
    }

    private static void require(boolean ok, String why) throws SandboxException {
        if (!ok) {
            throw new SandboxException("refused: " + why + ". This is a bug in the caller; nothing was started.");
        }
    }
}
