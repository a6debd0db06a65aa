package dev.airlock.pool.template;

import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.sandbox.KernelOps;
import dev.airlock.sandbox.SandboxException;
import dev.airlock.sandbox.SandboxUser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Builds, finds, refreshes and collects project templates (docs/templates.md).
 *
 * <p>Design: a build never changes what sandboxes see until it has fully succeeded. The tree is
 * checked out and set up in a staging directory (a plain workspace of the setup sandbox); only
 * then does it move, by rename, under the project's 0700 directory, and the {@code current}
 * pointer switches by an atomic rename. A failed setup leaves {@code current} as it was and keeps
 * its log. Git runs as Airlock only in the mirror and in a tree no sandbox has touched yet; the
 * sandbox user never gets the mirror (it lives under the 0700 directory), and catch-up in a
 * workspace runs inside the sandbox ({@link CatchUp}).
 *
 * <p>Thread-safe; builds of one project are serialised by a file lock, so two processes (the
 * daemon and {@code airlock template build}) never build the same project at once.
 */
public final class TemplateManager {

    /** Lines of a failed setup log shown with the failure. */
    static final int TAIL_LINES = 20;

    private final TemplateStore store;
    private final String airlockVersion;
    private final SetupRunner setup;
    private final Clock clock;
    private final Git git;
    private final int uid;
    private final int gid;
    private final List<TemplateListener> listeners = new CopyOnWriteArrayList<>();
    /** Environment hashes by (mirror, commit): a claim's freshness check costs no git call when HEAD has not moved. */
    private final Map<String, String> envHashes = new ConcurrentHashMap<>();

    /**
     * @param stateDir Airlock's state directory (templates live in {@code templates/} under it)
     * @param airlockVersion part of every environment hash: a new Airlock rebuilds templates
     * @param setup runs {@code workspace.setup} ({@link SandboxSetupRunner} in production)
     */
    public TemplateManager(Path stateDir, String airlockVersion, SetupRunner setup, Clock clock) throws TemplateException {
        this(stateDir, airlockVersion, setup, clock, Git.system(), SandboxUser.current().uid(), SandboxUser.current().gid(), kernel());
    }

    TemplateManager(Path stateDir, String airlockVersion, SetupRunner setup, Clock clock, Git git, int uid, int gid, KernelOps kernel) {
        this.store = new TemplateStore(stateDir, kernel);
        this.airlockVersion = airlockVersion;
        this.setup = setup;
        this.clock = clock;
        this.git = git;
        this.uid = uid;
        this.gid = gid;
    }

    /** The host's kernel: root removes and re-owns template trees only through its operations. */
    private static KernelOps kernel() throws TemplateException {
        try {
            return KernelOps.system();
        } catch (SandboxException e) {
            throw new TemplateException("cannot build templates on this host: " + e.getMessage(), e);
        }
    }

    public void addListener(TemplateListener l) {
        listeners.add(l);
    }

    /** The project's current template (the one new sandboxes mount), read from disk: another process may have switched it. */
    public Optional<Template> current(String project) throws TemplateException {
        return store.pointer(project, TemplateStore.CURRENT);
    }

    /** The project's templates, newest first. */
    public List<Template> list(String project) throws TemplateException {
        return store.list(project);
    }

    /** Projects with templates. */
    public List<String> projects() {
        return store.projects();
    }

    // ---------------------------------------------------------------------------------------------
    // Build

    /**
     * Makes the project's current template the tracked branch's HEAD with its environment: fetches
     * the source into the mirror, and when no template of that (commit, environment hash) exists,
     * checks out a tree, runs the setup in a sandbox, and switches {@code current} to it. Then
     * collects old templates no sandbox uses (current and previous are kept).
     *
     * @throws TemplateException on Airlock's side: no workspace section, git, files
     */
    public BuildResult build(ProjectPolicy policy, ProgressSink progress) throws TemplateException {
        ProjectPolicy.Workspace ws = workspace(policy);
        String project = policy.project();
        try (AutoCloseable lock = store.lock(project)) {
            store.removeStaleStaging(project);
            Path mirror = store.mirror(project);
            progress.phase("fetch", (Files.isDirectory(mirror.resolve("objects")) ? "fetching " : "cloning ") + ws.source());
            git.mirror(ws.source(), mirror, new GitProgress(progress));
            String head = git.head(mirror, ws.ref());
            TemplateId id = new TemplateId(head, envHash(mirror, head, ws, imageDigest(policy)));
            Path dir = store.dir(project, id);
            Optional<Template> existing = store.read(project, dir);
            if (existing.isPresent()) {
                boolean wasCurrent = current(project).map(t -> t.id().equals(id)).orElse(false);
                if (!wasCurrent) {
                    switchTo(existing.get());
                }
                progress.done("template " + id + " is current (" + shortCommit(head) + " on " + ws.ref() + ")");
                gc(project);
                return new BuildResult.Built(existing.get(), true);
            }
            return buildNew(project, ws, mirror, id, progress);
        } catch (TemplateException e) {
            throw e;
        } catch (Exception e) {
            throw new TemplateException("template build of " + project + " failed: " + e + ". Fix: see the message; run again.", e);
        }
    }

    /** Runs {@link #build} on a new thread (the "rebuild in the background" of freshness). */
    public CompletableFuture<BuildResult> buildInBackground(ProjectPolicy policy, ProgressSink progress) {
        CompletableFuture<BuildResult> f = new CompletableFuture<>();
        Thread.ofPlatform().daemon().name("airlock-template-" + policy.project()).start(() -> {
            try {
                f.complete(build(policy, progress));
            } catch (TemplateException | RuntimeException e) {
                f.completeExceptionally(e);
            }
        });
        return f;
    }

    private BuildResult buildNew(String project, ProjectPolicy.Workspace ws, Path mirror, TemplateId id, ProgressSink progress)
            throws TemplateException {
        Path staging = store.staging(project);
        Path tree = staging.resolve("tree");
        Path log = staging.resolve("setup.log");
        try {
            progress.phase("checkout", "checking out " + shortCommit(id.commit()) + " of " + ws.ref());
            git.ok(null, "clone", "--quiet", "--no-hardlinks", "--no-checkout", "--", mirror.toString(), tree.toString());
            git.ok(tree, "checkout", "--quiet", "-B", ws.ref(), id.commit());
            // The workspace's origin is the real source: an agent's own git fetch goes through the gateway like any other.
            git.ok(tree, "remote", "set-url", "origin", ws.source());
            store.chownTree(tree, uid, gid);
            Files.writeString(log, "airlock: template " + id + " of " + project + " (" + id.commit() + " on " + ws.ref() + ")\n",
                    StandardCharsets.UTF_8);
            int code = 0;
            if (!ws.setup().isEmpty()) {
                progress.phase("setup", "running setup (" + ws.setup().size() + " step" + (ws.setup().size() == 1 ? "" : "s")
                        + ") in a sandbox");
                int rootSteps = ws.rootSteps();
                Optional<String> layer = rootSteps > 0 ? Optional.of(id.rootLayer()) : Optional.empty();
                if (layer.isPresent()) {
                    // A failed or interrupted build of the same id may have left a half-written layer: never build on it.
                    store.deleteTree(store.rootLayer(project, layer.get()));
                }
                code = setup.run(new SetupRunner.Request(project, tree, ws.setup(), rootSteps, layer, log, progress));
                if (code != 0 && layer.isPresent()) {
                    store.deleteTree(store.rootLayer(project, layer.get()));
                }
            }
            if (code != 0) {
                Path kept = store.failedLog(project, id, clock.instant());
                Files.move(log, kept, StandardCopyOption.REPLACE_EXISTING);
                store.pruneFailedLogs(project);
                Optional<Template> last = current(project);
                progress.done("setup failed (exit " + code + "); " + last.map(t -> "template " + t.id() + " stays current").orElse(
                        "no template is current") + "; log: " + kept);
                return new BuildResult.Failed(id, code, kept, tail(kept, TAIL_LINES), last);
            }
            Path dir = store.dir(project, id);
            Files.createDirectory(dir);
            TemplateStore.chmod(dir, "rwx------");
            Files.move(tree, dir.resolve("tree"), StandardCopyOption.ATOMIC_MOVE);
            Files.move(log, dir.resolve("setup.log"), StandardCopyOption.ATOMIC_MOVE);
            Template t = new Template(project, id, ws.ref(), dir.resolve("tree"), dir.resolve("setup.log"), clock.instant());
            store.write(t);
            switchTo(t);
            progress.done("template " + id + " built and current (" + shortCommit(id.commit()) + " on " + ws.ref() + ")");
            gc(project);
            return new BuildResult.Built(t, false);
        } catch (IOException e) {
            throw TemplateStore.io("build template " + id + " of " + project, e);
        } finally {
            try {
                store.deleteTree(staging);
            } catch (IOException e) {
                progress.phase("cleanup", "could not remove " + staging + ": " + e);
            }
        }
    }

    private void switchTo(Template t) throws TemplateException {
        store.switchTo(t);
        for (TemplateListener l : listeners) {
            l.currentChanged(t.project(), t);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Freshness

    /**
     * Compares the current template with the branch's HEAD ({@code fetch}: after fetching the
     * source into the mirror; otherwise the mirror's last known HEAD, no network).
     */
    public Freshness freshness(ProjectPolicy policy, boolean fetch) throws TemplateException {
        ProjectPolicy.Workspace ws = workspace(policy);
        Path mirror = store.mirror(policy.project());
        if (fetch || !Files.isDirectory(mirror.resolve("objects"))) {
            try (AutoCloseable lock = store.lock(policy.project())) {
                git.mirror(ws.source(), mirror, s -> { });
            } catch (TemplateException e) {
                throw e;
            } catch (Exception e) {
                throw new TemplateException("cannot refresh the mirror of " + policy.project() + ": " + e, e);
            }
        }
        String head = git.head(mirror, ws.ref());
        String env = envHash(mirror, head, ws, imageDigest(policy));
        Optional<Template> cur = current(policy.project());
        if (cur.isEmpty() || !cur.get().id().envHash().equals(env)) {
            return new Freshness.Rebuild(cur, head, env);
        }
        if (cur.get().id().commit().equals(head)) {
            return new Freshness.UpToDate(cur.get());
        }
        return new Freshness.Moved(cur.get(), head, git.behind(mirror, cur.get().id().commit(), head));
    }

    /**
     * At claim: brings a fresh copy-on-write workspace over {@code t} to the branch's HEAD as the
     * mirror knows it (no network), when only the branch moved; see {@link CatchUp}. When the
     * environment hash at HEAD differs, nothing is caught up (the template must rebuild) and the
     * result says how far behind the workspace starts.
     *
     * @param workspace the sandbox's merged workspace on the host ({@code PreparedSandbox.workspace()}), not yet claimed
     * @param command the command the claim will run
     */
    public CatchUp.Result catchUp(ProjectPolicy policy, Template t, Path workspace, List<String> command) throws TemplateException {
        ProjectPolicy.Workspace ws = workspace(policy);
        Path mirror = store.mirror(t.project());
        Optional<String> image = imageDigest(policy);
        return new CatchUp(git, uid, gid).prepare(t, mirror, workspace, command, head -> envHash(mirror, head, ws, image).equals(t.id().envHash()));
    }

    /** The manifest digest of the project's image (read from its layout's index), empty without {@code image:}. */
    private static Optional<String> imageDigest(ProjectPolicy policy) throws TemplateException {
        try {
            return dev.airlock.runtime.ProjectImage.digest(policy);
        } catch (dev.airlock.sandbox.SandboxException e) {
            throw new TemplateException(e.getMessage(), e);
        }
    }

    /** The environment hash of {@code ws} at {@code commit}, on the image {@code image} when the project has one. */
    String envHash(Path mirror, String commit, ProjectPolicy.Workspace ws, Optional<String> image) throws TemplateException {
        String key = mirror + "@" + commit + "@" + String.join("\u0000", ws.stepKeys()) + "@" + String.join("\u0000", ws.cacheKey()) + "@"
                + image.orElse("");
        String cached = envHashes.get(key);
        if (cached != null) {
            return cached;
        }
        List<EnvHash.CacheFile> files = new ArrayList<>();
        for (String f : ws.cacheKey()) {
            files.add(new EnvHash.CacheFile(f, git.show(mirror, commit, f)));
        }
        String h = EnvHash.of(files, ws.stepKeys(), airlockVersion, image);
        envHashes.put(key, h);
        return h;
    }

    private ProjectPolicy.Workspace workspace(ProjectPolicy policy) throws TemplateException {
        ProjectPolicy.Workspace written = policy.workspace().orElseThrow(() -> new TemplateException(policy.file()
                + ": no workspace section, so there is no template to build. Fix: add workspace: {source: URL or path, ref: main,"
                + " setup: [...], cacheKey: [...]} to airlock.yaml."));
        Path policyDirectory = Path.of(policy.file()).toAbsolutePath().getParent();
        ProjectPolicy.Workspace ws = new ProjectPolicy.Workspace(written.sourceFrom(policyDirectory), written.ref(), written.steps(),
                written.cacheKey());
        if (ws.source() == null || ws.source().isBlank() || ws.source().startsWith("-")) {
            throw new TemplateException(policy.file() + ": workspace.source '" + ws.source() + "' is not a URL or path. Fix: set it to"
                    + " the project's git URL or a local path.");
        }
        if (ws.source().startsWith("ext::") || ws.source().startsWith("fd::")) {
            throw new TemplateException(policy.file() + ": workspace.source uses the " + ws.source().substring(0, ws.source().indexOf(':'))
                    + ":: transport, which runs a command. Fix: use https, ssh, git or a local path.");
        }
        if (ws.ref() == null || !git.validBranch(ws.ref())) {
            throw new TemplateException(policy.file() + ": workspace.ref '" + ws.ref() + "' is not a branch name. Fix: set it to the"
                    + " tracked branch, e.g. main.");
        }
        return ws;
    }

    // ---------------------------------------------------------------------------------------------
    // Garbage collection

    /**
     * Removes the project's templates other than current and previous that no sandbox mounts, and
     * prunes failed setup logs. Returns the ids removed.
     */
    public List<TemplateId> gc(String project) throws TemplateException {
        Optional<Template> cur = current(project);
        Optional<Template> prev = store.pointer(project, TemplateStore.PREVIOUS);
        List<TemplateId> removed = new ArrayList<>();
        for (Template t : store.list(project)) {
            boolean keep = cur.map(c -> c.id().equals(t.id())).orElse(false) || prev.map(p -> p.id().equals(t.id())).orElse(false);
            if (keep || store.inUse(t)) {
                continue;
            }
            try {
                store.deleteTree(t.tree().getParent());
                // its root layer, when its setup had root steps (no member stacks it: none uses the template)
                store.deleteTree(store.rootLayer(project, t.id().rootLayer()));
                removed.add(t.id());
            } catch (IOException e) {
                throw TemplateStore.io("remove old template " + t.tree().getParent(), e);
            }
        }
        // Root layers of no template left (a build that died before its own cleanup): under the build lock, none is being written.
        store.removeOrphanRootLayers(project, store.list(project).stream().map(t -> t.id().rootLayer()).toList());
        store.pruneFailedLogs(project);
        return removed;
    }

    // ---------------------------------------------------------------------------------------------

    static String tail(Path log, int lines) {
        try {
            List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(log unreadable: " + e.getMessage() + ")";
        }
    }

    private static String shortCommit(String c) {
        return c.substring(0, 12);
    }
}
