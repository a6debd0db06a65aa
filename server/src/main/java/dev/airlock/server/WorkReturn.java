package dev.airlock.server;

import dev.airlock.sandbox.WorkspaceChanges;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The work comes back, and nothing is lost: what happens to a pooled sandbox's work when it is
 * released, or exported on demand. Capture ({@link WorkCapture}, inside the sandbox) then import
 * ({@link RepoImport}, into the user's repository). When the import cannot happen (no local
 * {@code workspace.source}, export on release turned off, a branch of that name exists, the
 * repository lacks the base commit) the captured files are kept ({@link KeptWork}) for the
 * retention window; when even the capture fails, the sandbox itself is held, undestroyed, for
 * that window (its files are the only copy of the work).
 *
 * <p>Thread-safe: one export at a time per sandbox; different sandboxes export concurrently.
 */
final class WorkReturn {

    /** What export knows of a live sandbox. */
    record Live(String id, String project, Optional<Path> source, List<String> bases, Path workspace, SandboxShell shell,
            ChangedNames changed) {
    }

    /** What the sandbox wrote (see SandboxLauncher.changes); empty: unknown, compare the whole work tree. */
    @FunctionalInterface
    interface ChangedNames {
        Optional<WorkspaceChanges> get() throws IOException;
    }

    /** The capture, unless the overlay shows that the sandbox wrote nothing and moved no ref: then nothing, without asking it. */
    private static WorkCapture.Result capture(Live s, Path staging) throws WorkCapture.CaptureException, IOException {
        Optional<WorkspaceChanges> c = s.changed().get();
        if (c.isPresent() && c.get().untouched()) {
            return new WorkCapture.Nothing("it wrote nothing in its workspace");
        }
        return WorkCapture.capture(s.shell(), s.bases(), c.map(WorkspaceChanges::names), staging);
    }

    enum Kind { NOTHING, EXPORTED, KEPT, HELD }

    /** What one export or release did, and the line that tells the user. */
    record Outcome(String id, Kind kind, String summary, Optional<RepoImport.Imported> imported, Optional<KeptWork.Entry> kept) {
        /** Whether the sandbox may be destroyed now: its work is in the repository, in kept files, or there was none. */
        boolean destroyable() {
            return kind != Kind.HELD;
        }
    }

    /** An export that could not be done; the message says why and how to fix it. */
    static final class ExportException extends Exception {
        ExportException(String message) {
            super(message);
        }
    }

    /** A sandbox whose work could not even be captured: kept alive until {@code until}; {@code destroy} ends it. */
    record Held(Live live, Instant until, String reason, Runnable destroy) {
    }

    private final KeptWork kept;
    private final RepoImport importer;
    private final DaemonConfig.Export settings;
    private final Clock clock;
    private final PrintStream log;
    private final Map<String, Object> locks = new ConcurrentHashMap<>();
    private final Map<String, Held> held = new ConcurrentHashMap<>();
    /** Sandboxes exported on demand: the work's fingerprint then, so that their release does not export it again. */
    private final Map<String, String> exported = new ConcurrentHashMap<>();
    private final Set<String> capturing = ConcurrentHashMap.newKeySet();

    WorkReturn(KeptWork kept, RepoImport importer, DaemonConfig.Export settings, Clock clock, PrintStream log) {
        this.kept = kept;
        this.importer = importer;
        this.settings = settings;
        this.clock = clock;
        this.log = log;
    }

    /**
     * At release: capture, then import into {@code source} when export on release is on, else (or
     * when that fails) keep the files. The outcome is HELD when the capture failed: the caller must
     * not destroy the sandbox then, and hands over {@code destroy} for when the window has passed.
     */
    Outcome release(Live s, Runnable destroy) {
        synchronized (lock(s.id())) {
            String since = exported.remove(s.id());
            Path staging;
            try {
                staging = kept.staging(s.id());
            } catch (IOException e) {
                return hold(s, destroy, "cannot make a directory for its work: " + e);
            }
            capturing.add(s.id());
            try {
                WorkCapture.Result r;
                try {
                    r = capture(s, staging);
                } catch (WorkCapture.CaptureException | IOException e) {
                    kept.discard(staging);
                    return hold(s, destroy, "its work could not be captured: " + e.getMessage());
                }
                if (r instanceof WorkCapture.Nothing n) {
                    kept.discard(staging);
                    return new Outcome(s.id(), Kind.NOTHING, "airlock: nothing new in " + s.id() + ": " + n.why(), Optional.empty(), Optional.empty());
                }
                WorkCapture.Captured work = (WorkCapture.Captured) r;
                if (since != null && since.equals(fingerprint(work))) {
                    kept.discard(staging);
                    return new Outcome(s.id(), Kind.NOTHING, "airlock: nothing new in " + s.id() + " since its export", Optional.empty(),
                            Optional.empty());
                }
                String reason;
                if (!settings.onRelease()) {
                    reason = "export on release is off (export.onRelease in the daemon's configuration)";
                } else if (s.source().isEmpty()) {
                    reason = "the project's workspace.source is not a local repository";
                } else {
                    try {
                        RepoImport.Imported done = importer.into(s.source().get(), s.id(), work);
                        kept.discard(staging);
                        log.println(done.summary());
                        return new Outcome(s.id(), Kind.EXPORTED, done.summary(), Optional.of(done), Optional.empty());
                    } catch (RepoImport.ImportException e) {
                        reason = "export failed: " + e.getMessage();
                    }
                }
                try {
                    return keep(s.id(), s.project(), staging, work, reason);
                } catch (IOException e) {
                    kept.discard(staging);
                    return hold(s, destroy, reason + "; and its files could not be kept: " + e);
                }
            } finally {
                capturing.remove(s.id());
            }
        }
    }

    /** Exports a live sandbox's work now, into {@code to} or its project's source; it stays live (nothing kept on failure). */
    Outcome export(Live s, Optional<Path> to) throws ExportException {
        synchronized (lock(s.id())) {
            Path target = target(to, s.source(), s.id());
            Path staging;
            try {
                staging = kept.staging(s.id());
            } catch (IOException e) {
                throw new ExportException("cannot make a directory for the work of " + s.id() + ": " + e + ". Fix: check the state directory.");
            }
            capturing.add(s.id());
            try {
                WorkCapture.Result r = capture(s, staging);
                if (r instanceof WorkCapture.Nothing n) {
                    return new Outcome(s.id(), Kind.NOTHING, "airlock: nothing new in " + s.id() + ": " + n.why(), Optional.empty(), Optional.empty());
                }
                WorkCapture.Captured work = (WorkCapture.Captured) r;
                String print = fingerprint(work);
                if (print.equals(exported.get(s.id()))) {
                    return new Outcome(s.id(), Kind.NOTHING, "airlock: nothing new in " + s.id() + " since its export", Optional.empty(),
                            Optional.empty());
                }
                RepoImport.Imported done = importer.into(target, s.id(), work);
                exported.put(s.id(), print);
                return new Outcome(s.id(), Kind.EXPORTED, done.summary(), Optional.of(done), Optional.empty());
            } catch (WorkCapture.CaptureException | IOException e) {
                throw new ExportException("the work of " + s.id() + " could not be captured: " + e.getMessage()
                        + ". Fix: look inside (airlock sandbox exec " + s.id() + " git status), then export again.");
            } catch (RepoImport.ImportException e) {
                throw new ExportException(e.getMessage());
            } finally {
                capturing.remove(s.id());
                kept.discard(staging);
            }
        }
    }

    /** Exports kept or held work by sandbox id; on success it is no longer kept. Empty: no such kept work. */
    Optional<Outcome> exportKept(String id, Optional<Path> to) throws ExportException {
        synchronized (lock(id)) {
            Held h = held.get(id);
            if (h != null) {
                Outcome o = export(h.live(), to);
                held.remove(id);
                h.destroy().run();
                return Optional.of(o);
            }
            Optional<KeptWork.Entry> e = kept.get(id);
            if (e.isEmpty()) {
                return Optional.empty();
            }
            KeptWork.Entry k = e.get();
            Path target = target(to, Optional.empty(), id);
            try {
                RepoImport.Imported done = importer.into(target, id, k.work());
                try {
                    kept.remove(id);
                } catch (IOException x) {
                    log.println("airlock daemon: exported the kept work of " + id + " but cannot remove " + k.path() + ": " + x);
                }
                return Optional.of(new Outcome(id, Kind.EXPORTED, done.summary(), Optional.of(done), Optional.empty()));
            } catch (RepoImport.ImportException x) {
                throw new ExportException(x.getMessage());
            }
        }
    }

    /** Kept files and held sandboxes, for the listing. */
    List<KeptView> kept() {
        List<KeptView> out = new ArrayList<>();
        held.values().forEach(h -> out.add(new KeptView(h.live().id(), h.live().project(), h.live().workspace(), h.until(), h.reason(), true)));
        kept.list().forEach(e -> out.add(new KeptView(e.id(), e.project(), e.path(), e.keptUntil(), e.reason(), false)));
        return out;
    }

    /** One line of the kept list: {@code sandbox} true when the sandbox itself is held (its capture failed). */
    record KeptView(String id, String project, Path path, Instant keptUntil, String reason, boolean sandbox) {
    }

    /** Ends what has outlived the retention window: held sandboxes are destroyed, kept files removed. */
    List<String> sweep() {
        List<String> removed = new ArrayList<>();
        Instant now = clock.instant();
        for (Held h : List.copyOf(held.values())) {
            if (!h.until().isAfter(now) && held.remove(h.live().id(), h)) {
                log.println("airlock daemon: the retention window of " + h.live().id() + " passed; its workspace, never captured, is destroyed");
                h.destroy().run();
                removed.add("held sandbox " + h.live().id());
            }
        }
        removed.addAll(kept.sweep(Optional.of(Set.copyOf(capturing))));
        return removed;
    }

    /** Held sandboxes at shutdown: destroyed with the daemon (their kernel objects cannot outlive it). */
    List<Held> drainHeld() {
        List<Held> out = new ArrayList<>(held.values());
        held.clear();
        return out;
    }

    boolean isHeld(String id) {
        return held.containsKey(id);
    }

    private Outcome hold(Live s, Runnable destroy, String reason) {
        Instant until = clock.instant().plus(settings.keep());
        held.put(s.id(), new Held(s, until, reason, destroy));
        String line = "airlock: the work of " + s.id() + " is kept in its sandbox until " + until + " (" + reason + "); export it with"
                + " `airlock sandbox export " + s.id() + " --to REPO`";
        log.println(line);
        return new Outcome(s.id(), Kind.HELD, line, Optional.empty(), Optional.empty());
    }

    private Outcome keep(String id, String project, Path staging, WorkCapture.Captured work, String reason) throws IOException {
        KeptWork.Entry e = kept.keep(id, project, staging, work, settings.keep(), reason);
        String line = "airlock: the work of " + id + " is kept until " + e.keptUntil() + " (" + reason + "); export it with"
                + " `airlock sandbox export " + id + " --to REPO`";
        log.println(line);
        return new Outcome(id, Kind.KEPT, line, Optional.empty(), Optional.of(e));
    }

    private static Path target(Optional<Path> to, Optional<Path> source, String id) throws ExportException {
        if (to.isPresent()) {
            return to.get();
        }
        return source.orElseThrow(() -> new ExportException("cannot export " + id + " without a repository: its project's workspace.source"
                + " is not a local repository. Fix: give one with --to REPO."));
    }

    /** HEAD and the patch's digest: what an export brought back. */
    private static String fingerprint(WorkCapture.Captured w) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            if (w.patch().isPresent()) {
                try (var in = new java.security.DigestInputStream(Files.newInputStream(w.patch().get()), d)) {
                    in.transferTo(java.io.OutputStream.nullOutputStream());
                }
            }
            return w.head() + ":" + HexFormat.of().formatHex(d.digest());
        } catch (IOException | NoSuchAlgorithmException e) {
            return w.head() + ":?";
        }
    }

    private Object lock(String id) {
        return locks.computeIfAbsent(id, k -> new Object());
    }

    /** The retention window (for messages). */
    Duration window() {
        return settings.keep();
    }
}
