package dev.airlock.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The workspaces a sandbox owns: {@code <state>-workspaces/<project>/w-<8 hex>}, created for a pool
 * member and destroyed with it (by the launcher's destroy, or by the reaper after a crash). They
 * sit beside the state directory, never in it: a sandbox must never see Airlock's state.
 *
 * <p>Ownership is by shape and place only: a directory is a member workspace when it is exactly
 * {@code <this state>-workspaces/<project>/w-<8 hex>}. Nothing else is ever deleted here, whatever a
 * record says: a workspace given with {@code --workspace} is the user's and stays.
 *
 * <p>Root creates and removes one only through the kernel operations {@link KernelOp.CreateWorkspace}
 * and {@link KernelOp.DeleteTree}, which check this shape again at the privileged point: a removal
 * never follows a symbolic link (the sandbox could have planted one pointing anywhere on the host)
 * and never crosses into another file system (a mount point below it is left, and reported).
 */
public final class MemberWorkspaces {

    private static final Pattern NAME = Pattern.compile("w-[0-9a-f]{8}");
    private static final Pattern PROJECT = Pattern.compile("[a-z0-9-]{1,40}");

    private MemberWorkspaces() {
    }

    /** {@code <state>-workspaces}: the root of the member workspaces of the launcher on {@code state}. */
    public static Path root(Path state) {
        Path s = state.toAbsolutePath().normalize();
        return s.resolveSibling(s.getFileName() + "-workspaces");
    }

    /**
     * The path of member workspace {@code name} ({@code w-<8 hex>}) of {@code project}, its parents
     * created searchable but not listable by others (0711), so the sandbox user reaches its own
     * directory and nothing more. The name may be taken: the caller creates it exclusively.
     */
    static Path newPath(Path state, String project, String name) throws IOException {
        if (!NAME.matcher(name).matches()) {
            throw new IOException("not a member workspace name: " + name);
        }
        Path root = root(state);
        Path dir = root.resolve(project);
        Files.createDirectories(dir);
        for (Path p : List.of(root, dir)) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx--x--x"));
        }
        return dir.resolve(name);
    }

    /** A random member workspace name: 32 bits, so the launcher retries on a collision. */
    static String randomName() {
        return "w-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** Whether {@code ws} is a member workspace of the launcher on {@code state} (see the class comment). */
    static boolean owned(Path state, Path ws) {
        Path w = ws.toAbsolutePath().normalize();
        Path project = w.getParent();
        if (project == null || project.getParent() == null || !NAME.matcher(w.getFileName().toString()).matches()
                || !PROJECT.matcher(project.getFileName().toString()).matches()) {
            return false;
        }
        return project.getParent().equals(root(state)) || project.getParent().equals(realRoot(state).orElse(null));
    }

    private static Optional<Path> realRoot(Path state) {
        try {
            return Optional.of(root(state).toRealPath());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * What the sandbox over member workspace {@code ws} wrote, as far as the host can tell without
     * asking it: a member workspace is created empty ({@link KernelOp.CreateWorkspace}), so one that
     * is still empty was not written ({@link WorkspaceChanges#untouched}), and a release need not
     * start a command in the sandbox to learn that it holds no commit. Anything in it, or a
     * directory that cannot be read: empty (unknown; the caller compares the whole tree).
     */
    static Optional<WorkspaceChanges> changes(Path ws) {
        if (!Files.isDirectory(ws, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        try (java.nio.file.DirectoryStream<Path> entries = Files.newDirectoryStream(ws)) {
            return entries.iterator().hasNext() ? Optional.empty() : Optional.of(new WorkspaceChanges(List.of(), false));
        } catch (IOException | java.nio.file.DirectoryIteratorException e) {
            return Optional.empty();
        }
    }

    /** Every member workspace that exists now under the root of {@code state}. */
    static List<Path> existing(Path state) {
        List<Path> out = new ArrayList<>();
        try (Stream<Path> projects = Files.list(root(state))) {
            for (Path p : projects.filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)).toList()) {
                try (Stream<Path> ws = Files.list(p)) {
                    ws.filter(w -> owned(state, w) && Files.isDirectory(w, LinkOption.NOFOLLOW_LINKS)).forEach(out::add);
                }
            }
        } catch (IOException e) {
            // no root yet
        }
        return out;
    }
}
