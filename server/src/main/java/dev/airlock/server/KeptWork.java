package dev.airlock.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.airlock.sandbox.KernelOp;
import dev.airlock.sandbox.KernelOps;
import dev.airlock.sandbox.SandboxException;
import dev.airlock.sandbox.StateAreas;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Work that was captured but not exported (no local repository, export off, or the import
 * failed): kept in {@code <state>/kept/<sandbox>/} as {@code work.bundle}, {@code work.patch} and
 * {@code work.json} until it is exported by id or its retention window has passed. The sandbox
 * itself (its kernel objects, its overlay) is gone by then: these files are the work, complete and
 * self-contained, and they survive a daemon restart.
 *
 * <p>The directory is root's alone (0700): no sandbox and no other user reads it. A kept entry is
 * written under a staging name and renamed into place, so a crash leaves either a whole entry or a
 * staging directory, which the next start removes.
 */
final class KeptWork {

    static final String DIR = StateAreas.KEPT;
    private static final String META = "work.json";
    private static final String STAGING = ".staging-";
    private static final Pattern ID = Pattern.compile("alk[0-9a-f]{8}");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One kept piece of work, as listed. */
    record Entry(String id, String project, Path path, Instant keptUntil, String reason, WorkCapture.Captured work) {
    }

    private final Path state;
    private final Path root;
    private final Clock clock;
    /** Root removes kept work only through the kernel's closed set ({@link KernelOp.DeleteTree}). */
    private final KernelOps kernel;

    KeptWork(Path state, Clock clock, KernelOps kernel) {
        this.state = state.toAbsolutePath().normalize();
        this.root = StateAreas.kept(this.state);
        this.clock = clock;
        this.kernel = kernel;
    }

    /** A fresh, empty directory (root only) to capture sandbox {@code id}'s work into. */
    Path staging(String id) throws IOException {
        checkId(id);
        ensureRoot();
        Path s = root.resolve(STAGING + id);
        deleteTree(s);
        Files.createDirectory(s, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        return s;
    }

    /** Removes a staging directory (the work was exported, or there was nothing). */
    void discard(Path staging) {
        try {
            deleteTree(staging);
        } catch (IOException e) {
            // root's own directory; the next start removes staging leftovers
        }
    }

    /**
     * Keeps the work captured in {@code staging} for {@code window} from now, with {@code reason}.
     * The work's files are moved under the entry; the entry's paths point there.
     */
    Entry keep(String id, String project, Path staging, WorkCapture.Captured work, Duration window, String reason) throws IOException {
        checkId(id);
        Path dir = root.resolve(id);
        if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException("kept work of " + id + " exists already in " + dir);
        }
        Instant until = clock.instant().plus(window);
        WorkCapture.Captured moved = new WorkCapture.Captured(work.head(), work.base(), work.commits(),
                work.bundle().map(b -> dir.resolve(b.getFileName())), work.patch().map(p -> dir.resolve(p.getFileName())));
        ObjectNode meta = JSON.createObjectNode().put("id", id).put("project", project).put("keptUntil", until.toString()).put("reason", reason)
                .put("head", work.head()).put("base", work.base()).put("commits", work.commits())
                .put("bundle", work.bundle().isPresent()).put("patch", work.patch().isPresent());
        Files.write(staging.resolve(META), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(meta));
        Files.move(staging, dir, StandardCopyOption.ATOMIC_MOVE);
        return new Entry(id, project, dir, until, reason, moved);
    }

    /** Every kept entry, oldest deadline first; unreadable ones are skipped (and left for {@link #sweep}). */
    List<Entry> list() {
        List<Entry> out = new ArrayList<>();
        if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
            return out;
        }
        try (Stream<Path> s = Files.list(root)) {
            for (Path d : s.filter(d -> ID.matcher(d.getFileName().toString()).matches()).toList()) {
                read(d).ifPresent(out::add);
            }
        } catch (IOException e) {
            return out;
        }
        out.sort(Comparator.comparing(Entry::keptUntil));
        return out;
    }

    Optional<Entry> get(String id) {
        return ID.matcher(id).matches() ? read(root.resolve(id)) : Optional.empty();
    }

    /** Removes kept work (it was exported). */
    void remove(String id) throws IOException {
        checkId(id);
        deleteTree(root.resolve(id));
    }

    /**
     * Removes every entry whose window has passed, and, with {@code active} present (the daemon:
     * the ids it is capturing now), the staging directories no capture is writing. Returns what it
     * removed. Without {@code active} ({@code airlock gc}, perhaps beside a running daemon) no
     * staging directory is touched.
     */
    List<String> sweep(Optional<Set<String>> active) {
        List<String> removed = new ArrayList<>();
        Instant now = clock.instant();
        if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
            return removed;
        }
        try (Stream<Path> s = Files.list(root)) {
            for (Path d : s.toList()) {
                String name = d.getFileName().toString();
                boolean expired = ID.matcher(name).matches() && read(d).map(e -> !e.keptUntil().isAfter(now)).orElse(false);
                boolean leftover = name.startsWith(STAGING) && active.isPresent() && !active.get().contains(name.substring(STAGING.length()));
                if (expired || leftover) {
                    try {
                        deleteTree(d);
                        removed.add(expired ? "kept work of " + name : "staging leftover " + name);
                    } catch (IOException e) {
                        // left for the next sweep
                    }
                }
            }
        } catch (IOException e) {
            // nothing kept yet
        }
        return removed;
    }

    private Optional<Entry> read(Path dir) {
        try {
            JsonNode m = JSON.readTree(Files.readAllBytes(dir.resolve(META)));
            String id = m.path("id").asText();
            if (!id.equals(dir.getFileName().toString())) {
                return Optional.empty();
            }
            WorkCapture.Captured work = new WorkCapture.Captured(m.path("head").asText(), m.path("base").asText(), m.path("commits").asInt(),
                    m.path("bundle").asBoolean() ? Optional.of(dir.resolve("work.bundle")) : Optional.empty(),
                    m.path("patch").asBoolean() ? Optional.of(dir.resolve("work.patch")) : Optional.empty());
            return Optional.of(new Entry(id, m.path("project").asText(), dir, Instant.parse(m.path("keptUntil").asText()),
                    m.path("reason").asText(), work));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private void ensureRoot() throws IOException {
        Files.createDirectories(root);
        Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwx------"));
    }

    private static void checkId(String id) {
        if (!ID.matcher(id).matches()) {
            throw new IllegalArgumentException("not a sandbox id: " + id);
        }
    }

    /** Removes {@code dir} (below {@code <state>/kept}) through the kernel: no link followed, no mount crossed; nothing when absent. */
    private void deleteTree(Path dir) throws IOException {
        try {
            kernel.execute(new KernelOp.DeleteTree(state, dir));
        } catch (SandboxException e) {
            throw new IOException(e.getMessage(), e);
        }
    }
}
