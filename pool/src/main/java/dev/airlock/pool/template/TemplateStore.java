package dev.airlock.pool.template;

import dev.airlock.sandbox.KernelOp;
import dev.airlock.sandbox.KernelOps;
import dev.airlock.sandbox.SandboxException;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The templates on disk, under {@code <state>/templates} (see docs/templates.md for the picture):
 *
 * <pre>
 * templates/                      0700 root: no one else reaches any project's templates
 *   &lt;project&gt;/                   0700 root
 *     mirror.git/                 bare mirror of workspace.source (root's; never a sandbox's)
 *     &lt;commit12&gt;-&lt;env12&gt;/        0700: one template
 *       tree/                     the checked-out, set-up tree (owned by the sandbox user, for copy-up)
 *       setup.log                 its setup's output
 *       template.properties       its id, branch and build time
 *     current -&gt; &lt;name&gt;           switched by an atomic rename, only after a successful setup
 *     previous -&gt; &lt;name&gt;
 *     failed/&lt;name&gt;-&lt;time&gt;.log   logs of failed setups
 *     lock                        one build per project at a time
 * staging/                        0711 root: where a tree is built and set up before it moves in
 *   &lt;project&gt;-&lt;random&gt;/         0711
 *     tree/, setup.log
 * </pre>
 */
final class TemplateStore {

    static final String MIRROR = "mirror.git";
    static final String CURRENT = "current";
    static final String PREVIOUS = "previous";
    static final String META = "template.properties";
    /** Failed setup logs kept per project. */
    static final int FAILED_LOGS_KEPT = 10;
    private static final Pattern NAME = Pattern.compile("[0-9a-f]{12}-[0-9a-f]{12}");
    private static final Pattern PROJECT = Pattern.compile("[a-z0-9-]{1,40}");
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path state;
    /** Root's tree operations (removing and re-owning trees) go through the kernel's closed set. */
    private final KernelOps kernel;
    private final Path root;

    TemplateStore(Path state, KernelOps kernel) {
        this.state = state.toAbsolutePath().normalize();
        this.kernel = kernel;
        this.root = this.state.resolve("templates");
    }

    Path root() {
        return root;
    }

    Path state() {
        return state;
    }

    /** The project's directory, created 0700 (and the templates root above it) when missing. */
    Path project(String project) throws TemplateException {
        if (!PROJECT.matcher(project).matches()) {
            throw new TemplateException("project name '" + project + "' is not [a-z0-9-]{1,40}. Fix: the project of airlock.yaml.");
        }
        Path dir = root.resolve(project);
        try {
            Files.createDirectories(dir);
            chmod(state.resolve("templates"), "rwx------");
            chmod(dir, "rwx------");
        } catch (IOException e) {
            throw io("create " + dir, e);
        }
        return dir;
    }

    Path mirror(String project) throws TemplateException {
        return project(project).resolve(MIRROR);
    }

    Path dir(String project, TemplateId id) throws TemplateException {
        return project(project).resolve(id.name());
    }

    /** A fresh staging directory for {@code project}: {@code staging/<project>-<random>}, 0711, reachable by the sandbox user. */
    Path staging(String project) throws TemplateException {
        Path s = state.resolve(dev.airlock.sandbox.Overlays.STAGING);
        try {
            Files.createDirectories(s);
            chmod(s, "rwx--x--x");
            Path d = s.resolve(project + "-" + HexFormat.of().toHexDigits(RANDOM.nextInt()));
            Files.createDirectory(d);
            chmod(d, "rwx--x--x");
            return d;
        } catch (IOException e) {
            throw io("create a staging directory under " + s, e);
        }
    }

    /**
     * Removes the project's staging directories: called under the project's build lock, so any
     * that exists was left by a build that died (kill -9) before its own cleanup.
     */
    void removeStaleStaging(String project) throws TemplateException {
        Path s = state.resolve(dev.airlock.sandbox.Overlays.STAGING);
        Pattern mine = Pattern.compile(Pattern.quote(project) + "-[0-9a-f]{8}");
        try (Stream<Path> dirs = Files.list(s)) {
            for (Path d : dirs.filter(p -> mine.matcher(p.getFileName().toString()).matches()).toList()) {
                deleteTree(d);
            }
        } catch (java.nio.file.NoSuchFileException e) {
            // no staging yet
        } catch (IOException e) {
            throw io("remove stale staging directories of " + project + " in " + s, e);
        }
    }

    /** Holds the project's build lock (an flock: released when the process dies) until closed. */
    AutoCloseable lock(String project) throws TemplateException {
        Path file = project(project).resolve("lock");
        try {
            FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            var lock = ch.lock();
            return () -> {
                lock.release();
                ch.close();
            };
        } catch (IOException e) {
            throw io("lock " + file, e);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Templates

    Optional<Template> read(String project, Path dir) {
        Path meta = dir.resolve(META);
        if (!Files.isRegularFile(meta, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(meta, StandardCharsets.UTF_8)) {
            p.load(r);
            TemplateId id = new TemplateId(p.getProperty("commit"), p.getProperty("envHash"));
            return Optional.of(new Template(project, id, p.getProperty("ref"), dir.resolve("tree"), dir.resolve("setup.log"),
                    Instant.parse(p.getProperty("built"))));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    void write(Template t) throws TemplateException {
        Properties p = new Properties();
        p.setProperty("commit", t.id().commit());
        p.setProperty("envHash", t.id().envHash());
        p.setProperty("ref", t.ref());
        p.setProperty("built", t.built().toString());
        Path meta = t.tree().getParent().resolve(META);
        try (Writer w = Files.newBufferedWriter(meta, StandardCharsets.UTF_8)) {
            p.store(w, "Airlock template " + t.id().name());
        } catch (IOException e) {
            throw io("write " + meta, e);
        }
    }

    Optional<Template> pointer(String project, String which) throws TemplateException {
        Path link = project(project).resolve(which);
        try {
            String name = Files.readSymbolicLink(link).toString();
            return NAME.matcher(name).matches() ? read(project, link.resolveSibling(name)) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * Makes {@code t} current, and the old current previous. Each pointer is a symlink replaced by
     * rename(2), atomic: a reader sees the old template or the new one, never none.
     */
    void switchTo(Template t) throws TemplateException {
        Optional<Template> old = pointer(t.project(), CURRENT);
        if (old.isPresent() && !old.get().id().equals(t.id())) {
            point(t.project(), PREVIOUS, old.get().id().name());
        }
        point(t.project(), CURRENT, t.id().name());
    }

    private void point(String project, String which, String name) throws TemplateException {
        Path dir = project(project);
        Path tmp = dir.resolve(which + ".tmp-" + HexFormat.of().toHexDigits(RANDOM.nextInt()));
        try {
            Files.createSymbolicLink(tmp, Path.of(name));
            Files.move(tmp, dir.resolve(which), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw io("switch " + dir.resolve(which) + " to " + name, e);
        }
    }

    /** The project's templates, newest first. */
    List<Template> list(String project) throws TemplateException {
        List<Template> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(project(project))) {
            for (Path d : s.toList()) {
                if (NAME.matcher(d.getFileName().toString()).matches() && Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
                    read(project, d).ifPresent(out::add);
                }
            }
        } catch (IOException e) {
            throw io("list " + root.resolve(project), e);
        }
        out.sort(Comparator.comparing(Template::built).reversed());
        return out;
    }

    /** Projects that have a templates directory. */
    List<String> projects() {
        try (Stream<Path> s = Files.list(root)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> PROJECT.matcher(n).matches()).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    Path failedLog(String project, TemplateId id, Instant when) throws TemplateException {
        Path dir = project(project).resolve("failed");
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw io("create " + dir, e);
        }
        return dir.resolve(id.name() + "-" + when.getEpochSecond() + ".log");
    }

    /** Keeps the newest {@link #FAILED_LOGS_KEPT} failed setup logs. */
    void pruneFailedLogs(String project) throws TemplateException {
        Path dir = project(project).resolve("failed");
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> logs = s.filter(p -> p.getFileName().toString().endsWith(".log"))
                    .sorted(Comparator.comparing((Path p) -> p.toFile().lastModified()).reversed()).toList();
            for (Path p : logs.subList(Math.min(FAILED_LOGS_KEPT, logs.size()), logs.size())) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // no failed logs
        }
    }

    /**
     * True when a sandbox of this state directory mounts {@code t} (its record names the tree as
     * its overlay's lower layer). A launcher of another state directory cannot mount it at all.
     */
    boolean inUse(Template t) {
        // The record's JSON names the lower layer as "overlayLower": "<tree>" (template paths hold no character JSON escapes).
        // The launcher records the tree's real path: compare with both spellings.
        String real = t.tree().toString();
        try {
            real = t.tree().toRealPath().toString();
        } catch (IOException e) {
            // gone: compare as given
        }
        Pattern lower = Pattern.compile("\"overlayLower\"\\s*:\\s*\"(" + Pattern.quote(t.tree().toString()) + "|" + Pattern.quote(real) + ")\"");
        try (Stream<Path> s = Files.list(state.resolve("sandboxes"))) {
            for (Path r : s.filter(p -> p.getFileName().toString().endsWith(".json")).toList()) {
                try {
                    if (lower.matcher(Files.readString(r)).find()) {
                        return true;
                    }
                } catch (IOException e) {
                    return true; // cannot tell: keep it
                }
            }
        } catch (IOException e) {
            return false; // no sandboxes directory: no sandbox
        }
        return false;
    }

    // ---------------------------------------------------------------------------------------------
    // Files

    static void chmod(Path p, String mode) throws IOException {
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(mode));
    }

    /**
     * Sets the owner of everything under {@code dir} (a staging tree), through the kernel
     * ({@link KernelOp.ChownTree}: never following a link, refusing hard links and mounts). Links
     * keep root as owner.
     */
    void chownTree(Path dir, int uid, int gid) throws IOException {
        kernel(new KernelOp.ChownTree(state, dir, uid, gid));
    }

    /**
     * Removes {@code dir} and everything under it (a staging tree a setup sandbox wrote, a template
     * tree), through the kernel ({@link KernelOp.DeleteTree}: never following a link nor crossing a mount).
     */
    void deleteTree(Path dir) throws IOException {
        kernel(new KernelOp.DeleteTree(state, dir));
    }

    /** Removes the project's root layers ({@code root-<hex>}) whose name is not in {@code kept}. */
    void removeOrphanRootLayers(String project, List<String> kept) throws TemplateException {
        Pattern layer = Pattern.compile("root-([0-9a-f]{8,64})");
        try (Stream<Path> dirs = Files.list(project(project))) {
            for (Path d : dirs.toList()) {
                java.util.regex.Matcher m = layer.matcher(d.getFileName().toString());
                if (m.matches() && !kept.contains(m.group(1))) {
                    deleteTree(d);
                }
            }
        } catch (java.nio.file.NoSuchFileException e) {
            // no templates yet
        } catch (IOException e) {
            throw io("remove orphan root layers of " + project, e);
        }
    }

    /** Where root layer {@code name} of {@code project} lives ({@link dev.airlock.runtime.TemplateLayer}). */
    Path rootLayer(String project, String name) {
        return dev.airlock.runtime.TemplateLayer.directory(state, project, name);
    }

    private void kernel(KernelOp op) throws IOException {
        try {
            kernel.execute(op);
        } catch (SandboxException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    static TemplateException io(String what, IOException e) {
        return new TemplateException("cannot " + what + ": " + e + ". Fix: run as root, and check the state directory (AIRLOCK_STATE).", e);
    }
}
