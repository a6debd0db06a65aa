package dev.airlock.sandbox;

import dev.airlock.policy.address.IpAddress;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * The content-addressed store of unpacked images: {@code <state>/images/sha256-<hex>/rootfs}, one
 * per manifest digest, shared by every sandbox of every project that names that image, bound
 * read-only as a sandbox's root ({@link BwrapArgs}).
 *
 * <p>Design: an image is the user's file and its layers are untrusted archives that root unpacks.
 * So: the layout is copied into root's own staging directory with every blob verified
 * ({@link OciLayout}); the layers are checked for path, link and whiteout tricks and refused, not
 * repaired ({@link LayerCheck}); umoci unpacks the verified copy; then the tree is made root's
 * (owner 0:0, no set-id bits, nothing group- or world-writable, no device nodes), because any host
 * user can reach the store and a set-uid file in it would be a way to the host's root. The mount
 * points the sandbox needs (/proc, /dev, /tmp, /workspace and the generated /etc files) are made
 * real, since a read-only root cannot get them later. Only then is the directory renamed into
 * place, and {@code image.json} inside it, written last, marks it complete. Nothing of the store is
 * writable to a sandbox.
 */
public final class ImageStore {

    static final String DIR = "images";
    static final String MARKER = "image.json";
    /** What {@link BwrapArgs#check} accepts as an image root: an unpacked image of a store, by shape. */
    static final Pattern ROOT_SHAPE = Pattern.compile("(/[A-Za-z0-9._+@-]+)*/" + DIR + "/sha256-[0-9a-f]{64}/rootfs");
    private static final List<Path> TOOL_DIRS = List.of(Path.of("/usr/bin"), Path.of("/usr/sbin"), Path.of("/usr/local/bin"), Path.of("/bin"));
    /** Directories bubblewrap mounts over inside an image root. */
    private static final List<String> MOUNT_DIRS = List.of("proc", "dev", "tmp", "workspace", "etc", "home",
            BwrapArgs.HOME.substring(1));
    /** Bounds umoci; unpacking a large image takes minutes, never hours. */
    private static final long UMOCI_TIMEOUT_MINUTES = 30;
    private static final java.util.concurrent.ConcurrentHashMap<Path, Object> LOCKS = new java.util.concurrent.ConcurrentHashMap<>();

    /** An image in the store: its manifest digest ({@code sha256:…}) and its unpacked root. */
    public record Unpacked(String digest, Path root) {
    }

    private final Path state;
    private final KernelOps ops;

    /** {@code state}: the launcher's state directory, reached without links. */
    ImageStore(Path state, KernelOps ops) {
        this.state = state;
        this.ops = ops;
    }

    /** {@code <state>/images}. */
    static Path root(Path state) {
        return state.resolve(DIR);
    }

    /**
     * The image {@code tag} (or the only image) of the OCI layout or oci-archive {@code source},
     * unpacked once per manifest digest; {@code pin}, when given, is the digest it must have.
     */
    public Unpacked unpack(Path source, Optional<String> tag, Optional<String> pin) throws SandboxException {
        // One unpack at a time per store in this process (a setup and a pool member often ask at once);
        // across processes the atomic rename decides, and the loser uses the winner's copy.
        synchronized (LOCKS.computeIfAbsent(root(state), k -> new Object())) {
            return unpackLocked(source, tag, pin);
        }
    }

    private Unpacked unpackLocked(Path source, Optional<String> tag, Optional<String> pin) throws SandboxException {
        Path store = root(state);
        Optional<Unpacked> remembered = remembered(source, tag, pin);
        if (remembered.isPresent()) {
            return remembered.get();
        }
        // The digest the index names (an archive's index is found without extracting it). If the store has
        // it, it was verified when it was unpacked: nothing of the source is copied or read again.
        OciLayout.Descriptor known = OciLayout.digestOf(source, tag, pin);
        if (complete(store.resolve("sha256-" + known.hex()))) {
            remember(source, tag, pin, known.digest());
            return used(new Unpacked(known.digest(), store.resolve("sha256-" + known.hex()).resolve("rootfs")));
        }
        Path staging;
        try {
            Files.createDirectories(store);
            Files.setPosixFilePermissions(store, PosixFilePermissions.fromString("rwxr-xr-x"));
            byte[] name = new byte[8];
            new SecureRandom().nextBytes(name);
            staging = store.resolve(".staging-" + HexFormat.of().formatHex(name));
            Files.createDirectory(staging, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            throw new SandboxException("cannot create the image store " + store + ": " + e + ". Fix: run as root, or set AIRLOCK_STATE.", e);
        }
        try {
            Path layout = staging.resolve("layout");
            OciLayout.Manifest m = OciLayout.copyVerified(source, tag, pin, staging.resolve("archive"), layout);
            Path done = store.resolve("sha256-" + m.self().hex());
            if (complete(done)) {
                return new Unpacked(m.self().digest(), done.resolve("rootfs"));
            }
            LayerCheck.check(m.layers(), layout.resolve("blobs").resolve("sha256"));
            Path bundle = staging.resolve("bundle");
            umoci(layout, bundle);
            Path unpacked = staging.resolve("image");
            Files.createDirectory(unpacked);
            Files.move(bundle.resolve("rootfs"), unpacked.resolve("rootfs"));
            InertTree.harden(unpacked.resolve("rootfs"), InertTree.Kind.IMAGE);
            mountPoints(unpacked.resolve("rootfs"));
            Files.writeString(unpacked.resolve(MARKER), FlatJson.write(java.util.Map.of("digest", m.self().digest(),
                    "source", source.toString(), "tag", tag.orElse(""), "unpackedAt", System.currentTimeMillis())) + "\n", StandardCharsets.UTF_8);
            Files.setPosixFilePermissions(unpacked, PosixFilePermissions.fromString("rwxr-xr-x"));
            try {
                Files.move(unpacked, done, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                throw e;
            } catch (IOException e) {
                // rename(2) onto a non-empty directory: another unpack of the same digest finished first; theirs is as good
                if (!complete(done)) {
                    throw new SandboxException("image " + m.self().digest() + " could not be put into the store at " + done + ": " + e
                            + ". Fix: remove " + done + " (an incomplete unpack) and retry.", e);
                }
            }
            if (Files.isDirectory(source, LinkOption.NOFOLLOW_LINKS)) {
                remember(source, tag, pin, m.self().digest());
            }
            return new Unpacked(m.self().digest(), done.resolve("rootfs"));
        } catch (AtomicMoveNotSupportedException e) {
            throw new SandboxException("cannot rename into the image store " + store + ": " + e + ". Fix: keep the state directory on one file system.", e);
        } catch (IOException e) {
            throw new SandboxException("cannot unpack image " + source + " into " + store + ": " + e + ". Fix: check the free space of the"
                    + " state directory.", e);
        } finally {
            ops.execute(List.of(new KernelOp.DeleteTree(state, staging)));
        }
    }

    /**
     * The store's image of manifest digest {@code digest} ({@code sha256:…}), marked used, or empty
     * when it is not unpacked: a registry image already here is not pulled again.
     */
    public Optional<Unpacked> find(String digest) {
        java.util.regex.Matcher m = OciLayout.DIGEST.matcher(digest);
        if (!m.matches()) {
            return Optional.empty();
        }
        Path dir = root(state).resolve("sha256-" + m.group(1));
        return complete(dir) ? Optional.of(used(new Unpacked(digest, dir.resolve("rootfs")))) : Optional.empty();
    }

    /**
     * The manifest digest ({@code sha256:…}) of image {@code tag} of the layout or archive
     * {@code source}, read from its index without unpacking: what a template's id includes, so a
     * new image rotates the pool. {@code pin}, when given, must equal it.
     */
    public static String manifestDigest(Path source, Optional<String> tag, Optional<String> pin) throws SandboxException {
        return OciLayout.digestOf(source, tag, pin).digest();
    }

    /**
     * Which manifest a layout's {@code index.json} names is a function of its bytes, the tag and the
     * pin alone; so a run whose index is byte for byte one seen before takes the digest from
     * {@code <state>/images/index-<sha256 of those>} (root's) without parsing JSON, which is most
     * of what an image costs a cold start. Only for a store entry that is complete.
     */
    private Optional<Unpacked> remembered(Path source, Optional<String> tag, Optional<String> pin) {
        Optional<Path> memo = memo(source, tag, pin);
        if (memo.isEmpty() || !Files.isRegularFile(memo.get(), LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        try {
            String digest = Files.readString(memo.get()).strip();
            if (!digest.matches("sha256:[0-9a-f]{64}")) {
                return Optional.empty();
            }
            Path dir = root(state).resolve("sha256-" + digest.substring(7));
            return complete(dir) ? Optional.of(used(new Unpacked(digest, dir.resolve("rootfs")))) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private void remember(Path source, Optional<String> tag, Optional<String> pin, String digest) {
        Optional<Path> memo = memo(source, tag, pin);
        if (memo.isPresent()) {
            try {
                Registry.writeAtomically(memo.get(), digest + "\n", PosixFilePermissions.fromString("rw-r--r--"));
            } catch (SandboxException e) {
                // only a shortcut: the next run parses the index again
            }
        }
    }

    /** The memo file for the index of the layout directory {@code source} as it is now; empty for an archive or an unreadable index. */
    private Optional<Path> memo(Path source, Optional<String> tag, Optional<String> pin) {
        Path index = source.resolve("index.json");
        try {
            if (!Files.isDirectory(source, LinkOption.NOFOLLOW_LINKS) || !Files.isRegularFile(index, LinkOption.NOFOLLOW_LINKS)
                    || Files.size(index) > (1 << 20)) {
                return Optional.empty();
            }
            // (not OciLayout.sha256(): loading OciLayout starts Jackson, which this shortcut exists to avoid)
            java.security.MessageDigest d = java.security.MessageDigest.getInstance("SHA-256");
            d.update(Files.readAllBytes(index));
            d.update(("\0" + tag.orElse("") + "\0" + pin.orElse("")).getBytes(StandardCharsets.UTF_8));
            return Optional.of(root(state).resolve("index-" + HexFormat.of().formatHex(d.digest())));
        } catch (IOException | java.security.NoSuchAlgorithmException e) {
            return Optional.empty();
        }
    }

    /** Marks {@code u} used now (its marker's modification time), for {@link #collect}'s grace period. */
    private static Unpacked used(Unpacked u) {
        try {
            Files.setLastModifiedTime(u.root().resolveSibling(MARKER), java.nio.file.attribute.FileTime.from(java.time.Instant.now()));
        } catch (IOException e) {
            // only delays its collection
        }
        return u;
    }

    /**
     * Removes the images no sandbox runs on and none used within {@code grace} (a run, a setup or a
     * pool member marks its image used each time it asks for it), with their index memos; returns
     * their digests. In use means bind-mounted as some process's root file system now, read from
     * every process's mountinfo, since a sandbox's mounts live in its own namespace. The grace
     * period also covers a sandbox prepared on an image whose bubblewrap has not started yet.
     */
    public List<String> collect(java.time.Duration grace) throws SandboxException {
        java.time.Instant cutoff = java.time.Instant.now().minus(grace);
        Set<String> mounted = mountedImages();
        List<String> removed = new ArrayList<>();
        Path store = root(state);
        for (String digest : digests()) {
            Path dir = store.resolve("sha256-" + digest.substring(7));
            try {
                if (mounted.contains(digest.substring(7))
                        || Files.getLastModifiedTime(dir.resolve(MARKER), LinkOption.NOFOLLOW_LINKS).toInstant().isAfter(cutoff)) {
                    continue;
                }
            } catch (IOException e) {
                continue;
            }
            ops.execute(List.of(new KernelOp.DeleteTree(state, dir)));
            removed.add(digest);
        }
        try (var s = Files.list(store)) {
            for (Path memo : s.filter(p -> p.getFileName().toString().startsWith("index-")).toList()) {
                String d = Files.readString(memo).strip();
                if (removed.contains(d) || !digests().contains(d)) {
                    Files.deleteIfExists(memo);
                }
            }
        } catch (IOException e) {
            // memos of removed images only cost a lookup that falls through
        }
        return removed;
    }

    /** The hex digests of images some process has mounted (a sandbox's root), from /proc/PID/mountinfo. */
    private Set<String> mountedImages() {
        Set<String> out = new java.util.HashSet<>();
        // Not the store's full path: mountinfo gives a bind's source relative to its file system's root
        // (/tmp on a tmpfs drops "/tmp"). Any store's image of that digest counts: keeping too much is safe.
        String needle = "/" + DIR + "/sha256-";
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(p -> p.getFileName().toString().matches("[0-9]+")).toList()) {
                String text;
                try {
                    text = Files.readString(p.resolve("mountinfo"));
                } catch (IOException | java.io.UncheckedIOException e) {
                    continue; // the process ended
                }
                int i = text.indexOf(needle);
                while (i >= 0) {
                    int start = i + needle.length();
                    if (start + 64 <= text.length()) {
                        out.add(text.substring(start, start + 64));
                    }
                    i = text.indexOf(needle, start);
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot list /proc to see which images are in use", e);
        }
        return out;
    }

    /** {@code dir} is a finished unpack: its marker is there and its root is an image root. */
    private static boolean complete(Path dir) {
        return Files.isRegularFile(dir.resolve(MARKER), LinkOption.NOFOLLOW_LINKS) && isImageRoot(dir.resolve("rootfs").toString());
    }

    private static void umoci(Path layout, Path bundle) throws SandboxException {
        Path umoci = TOOL_DIRS.stream().map(d -> d.resolve("umoci")).filter(Files::isExecutable).findFirst()
                .orElseThrow(() -> new SandboxException("images need umoci, found in none of " + TOOL_DIRS + ". Fix: apt-get install umoci"));
        List<String> argv = List.of(umoci.toString(), "unpack", "--image", layout + ":" + OciLayout.REF, bundle.toString());
        ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true);
        pb.environment().clear();
        pb.environment().put("PATH", SystemKernelOps.ROOT_PATH);
        try {
            Process p = pb.start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(UMOCI_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new SandboxException("umoci did not finish unpacking in " + UMOCI_TIMEOUT_MINUTES + " minutes. Fix: use a smaller image.");
            }
            if (p.exitValue() != 0) {
                String text = new String(out, StandardCharsets.UTF_8).strip();
                throw new SandboxException("`" + String.join(" ", argv) + "` exited " + p.exitValue() + ": "
                        + (text.length() > 2000 ? text.substring(text.length() - 2000) : text) + ". Fix: check the image.");
            }
        } catch (IOException e) {
            throw new SandboxException("cannot run umoci: " + e + ". Fix: apt-get install umoci", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SandboxException("interrupted while unpacking an image", e);
        }
    }

    /**
     * The mount points bubblewrap needs in a read-only root, made real: a link or a file where a
     * directory belongs is replaced; each generated /etc file exists as a plain file. Only root
     * writes the staging tree, so checking then changing is safe here.
     */
    private static void mountPoints(Path rootfs) throws IOException, SandboxException {
        for (String d : MOUNT_DIRS) {
            Path p = rootfs.resolve(d);
            if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                continue;
            }
            if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                Files.delete(p); // a link or a file: a directory would have passed above
            }
            Files.createDirectory(p);
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        Path etc = rootfs.resolve("etc");
        List<String> files = new java.util.ArrayList<>(
                EtcFiles.generated(new SandboxUser(SandboxUser.NOBODY, SandboxUser.NOBODY), IpAddress.ipv4(0x64600001)).keySet());
        files.add(CaBundle.PATH_IN_SANDBOX.substring("/etc/".length()));
        for (String name : files) {
            fileMountPoint(etc, name);
        }
    }

    /** {@code /etc/name} as a plain file to bind over, its directories real ones (a CA bundle in ssl/certs). */
    private static void fileMountPoint(Path etc, String name) throws IOException, SandboxException {
        Path f = etc.resolve(name);
        if (Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        // a generated file below a directory of /etc (a CA bundle in ssl/certs): its directories, real ones
        Path dir = etc;
        for (Path part : etc.relativize(f).getParent() == null ? List.<Path>of() : iterable(etc.relativize(f).getParent())) {
            dir = dir.resolve(part);
            if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                Files.deleteIfExists(dir); // a link or a file where a directory belongs
                Files.createDirectory(dir);
            }
        }
        if (Files.isDirectory(f, LinkOption.NOFOLLOW_LINKS)) {
            throw new SandboxException("image has a directory at /etc/" + name + ", where the sandbox's generated file goes."
                    + " Fix: remove it from the image.");
        }
        Files.deleteIfExists(f);
        Files.createFile(f);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
    }

    private static List<Path> iterable(Path relative) {
        List<Path> parts = new ArrayList<>();
        relative.forEach(parts::add);
        return parts;
    }

    /**
     * At the privileged point: {@code source} is an unpacked image's root of some store by shape,
     * reached without links, and it and its two directories above are root's, a directory each,
     * writable by no one else.
     */
    static boolean isImageRoot(String source) {
        Path p = Path.of(source);
        if (!p.isAbsolute() || !p.normalize().equals(p) || !ROOT_SHAPE.matcher(source).matches()) {
            return false;
        }
        try {
            if (!p.toRealPath().equals(p)) {
                return false;
            }
            for (Path q : List.of(p, p.getParent(), p.getParent().getParent())) {
                if (!Files.isDirectory(q, LinkOption.NOFOLLOW_LINKS)
                        || (Integer) Files.getAttribute(q, "unix:uid", LinkOption.NOFOLLOW_LINKS) != 0
                        || ((Integer) Files.getAttribute(q, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 022) != 0) {
                    return false;
                }
            }
            return true;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** The digests of the images in the store, for status and {@code gc}. */
    public List<String> digests() {
        List<String> out = new ArrayList<>();
        try (var s = Files.list(root(state))) {
            s.map(p -> p.getFileName().toString()).filter(n -> n.matches("sha256-[0-9a-f]{64}"))
                    .filter(n -> complete(root(state).resolve(n))).sorted().forEach(n -> out.add("sha256:" + n.substring(7)));
        } catch (IOException e) {
            // no store yet: no images
        }
        return out;
    }
}
