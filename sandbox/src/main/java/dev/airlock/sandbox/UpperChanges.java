package dev.airlock.sandbox;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The names a sandbox wrote in its copy-on-write workspace: every entry of the overlay's upper
 * directory that is not a directory (a file it wrote, a link it made, a whiteout for what it
 * removed), relative to the workspace, without {@code .git/}. Export uses them to tell the agent's
 * changes from the template's own untracked files (a setup's build output).
 *
 * <p>Root reads only names here, never contents, and walks the tree the sandbox wrote through
 * directory descriptors without following a link ({@code openat}/{@code fstatat} with
 * {@code O_NOFOLLOW}), so a link planted in the upper directory is listed as the name it is and
 * leads nowhere (docs/sandbox.md, "Privileged file operations").
 */
final class UpperChanges {

    /** More names than this and the list is not worth its size: the caller then compares the whole workspace. */
    static final int MAX_NAMES = 200_000;
    /** Deeper than this and the walk stops (one descriptor is held per level). */
    static final int MAX_DEPTH = 256;

    private UpperChanges() {
    }

    /** Where git keeps what HEAD points to: a sandbox that wrote none of them moved no ref. */
    private static final List<String> REFS = List.of("HEAD", "refs", "packed-refs", "reftable");

    /** The changes under {@code upper}, or empty when there are more than {@link #MAX_NAMES} names or it is deeper than {@link #MAX_DEPTH}. */
    static Optional<WorkspaceChanges> changes(Path upper) throws IOException {
        Optional<List<String>> names = list(upper);
        if (names.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new WorkspaceChanges(names.get(), refsTouched(upper)));
    }

    /** Whether the upper directory holds .git as anything but a directory, or any of {@link #REFS} in it (names only; no link followed). */
    private static boolean refsTouched(Path upper) throws IOException {
        try (DirectoryStream<Path> s = Files.newDirectoryStream(upper)) {
            if (!(s instanceof SecureDirectoryStream<Path> top)) {
                throw new IOException("this platform offers no descriptor-relative file operations; refusing to read " + upper + " as root");
            }
            BasicFileAttributes git;
            try {
                git = top.getFileAttributeView(Path.of(".git"), BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).readAttributes();
            } catch (java.nio.file.NoSuchFileException none) {
                return false;
            }
            if (!git.isDirectory()) {
                return true;
            }
            try (SecureDirectoryStream<Path> dir = top.newDirectoryStream(Path.of(".git"), LinkOption.NOFOLLOW_LINKS)) {
                for (Path p : dir) {
                    if (REFS.contains(p.getFileName().toString())) {
                        return true;
                    }
                }
            } catch (java.nio.file.FileSystemException swapped) {
                return true; // replaced between the two calls: count it as moved
            }
            return false;
        }
    }

    /** The changed names under {@code upper}, or empty when there are more than {@link #MAX_NAMES} or deeper than {@link #MAX_DEPTH}. */
    static Optional<List<String>> list(Path upper) throws IOException {
        List<String> out = new ArrayList<>();
        DirectoryStream<Path> s = Files.newDirectoryStream(upper);
        if (!(s instanceof SecureDirectoryStream<Path> top)) {
            s.close();
            throw new IOException("this platform offers no descriptor-relative file operations; refusing to read " + upper + " as root");
        }
        try (top) {
            return walk(top, "", 0, out) ? Optional.of(out) : Optional.empty();
        }
    }

    private static boolean walk(SecureDirectoryStream<Path> dir, String prefix, int depth, List<String> out) throws IOException {
        List<Path> names = new ArrayList<>();
        for (Path p : dir) {
            names.add(p.getFileName());
        }
        for (Path n : names) {
            String rel = prefix + n;
            if (rel.equals(".git")) {
                continue; // commits travel as a bundle; git's internals are not changes
            }
            BasicFileAttributes a;
            try {
                a = dir.getFileAttributeView(n, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).readAttributes();
            } catch (java.nio.file.NoSuchFileException gone) {
                continue;
            }
            if (!a.isDirectory()) {
                out.add(rel);
                if (out.size() > MAX_NAMES) {
                    return false;
                }
                continue;
            }
            if (depth + 1 >= MAX_DEPTH) {
                return false;
            }
            SecureDirectoryStream<Path> sub;
            try {
                sub = dir.newDirectoryStream(n, LinkOption.NOFOLLOW_LINKS);
            } catch (java.nio.file.FileSystemException swapped) {
                continue; // replaced by a link or file between the two calls: not followed
            }
            try (sub) {
                if (!walk(sub, rel + "/", depth + 1, out)) {
                    return false;
                }
            }
        }
        return true;
    }
}
