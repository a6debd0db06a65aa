package dev.airlock.pool.template;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A {@code workspace.source} that is a repository on this host (a path or a {@code file://} URL),
 * and the {@code upload-pack} command root's git reads it with.
 *
 * <p>A user's repository is usually not root's: git then refuses it ("detected dubious
 * ownership"). It is trusted for exactly that repository, by {@code -c safe.directory} on the
 * command line of the {@code upload-pack} that serves it (never global configuration: git clears
 * the caller's {@code -c} for a local transport's {@code upload-pack}, so it must go into that
 * command). upload-pack runs neither hooks nor the repository's {@code uploadpack.packObjectsHook}
 * (git honours that only from protected configuration), so the repository's own config hands root
 * no command.
 */
final class LocalSource {

    private LocalSource() {
    }

    /** The repository's path when {@code source} is local (git's rule: no {@code ://}, and no {@code host:} before the first slash). */
    static Optional<Path> path(String source) {
        if (source.startsWith("file://")) {
            return Optional.of(Path.of(source.substring("file://".length())).toAbsolutePath().normalize());
        }
        int colon = source.indexOf(':');
        int slash = source.indexOf('/');
        if (source.contains("://") || (colon >= 0 && (slash < 0 || colon < slash))) {
            return Optional.empty();
        }
        return Optional.of(Path.of(source).toAbsolutePath().normalize());
    }

    /**
     * {@code git -c safe.directory=… upload-pack} for {@code repo} (git's {@code --upload-pack}, run
     * by /bin/sh): the repository as a bare one and as a work tree's {@code .git}, by the path given
     * and by its real path, since git compares the directory it ended in.
     */
    static String uploadPack(Path git, Path repo) {
        Set<Path> dirs = new LinkedHashSet<>(List.of(repo));
        try {
            dirs.add(repo.toRealPath());
        } catch (IOException e) {
            // does not exist (yet): git says so itself
        }
        StringBuilder cmd = new StringBuilder(quote(git.toString()));
        for (Path d : dirs) {
            for (Path trusted : List.of(d, d.resolve(".git"))) {
                cmd.append(" -c ").append(quote("safe.directory=" + trusted));
            }
        }
        return cmd.append(" upload-pack").toString();
    }

    /** {@code s} as one word for /bin/sh. */
    static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }
}
