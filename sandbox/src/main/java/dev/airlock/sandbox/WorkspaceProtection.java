package dev.airlock.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * What of a workspace stays read-only inside the sandbox, although the workspace is its to write.
 *
 * @param gitMetadata the repository's {@code .git/hooks} and {@code .git/config} (and those of its
 *     submodules' git directories, and {@code config.worktree}): both run code on the host the next
 *     time the user runs git there. The {@code .git} entry itself is pinned (a mount point can be
 *     neither renamed nor replaced), so the sandbox cannot swap in a repository of its own. Off only
 *     with {@code workspace: {writableGitConfig: true}} in airlock.yaml.
 * @param files host files (the policy, organisation policy and hosts file a run loaded): those that
 *     lie inside the workspace are mounted read-only over themselves, so the sandbox cannot change
 *     the policy the next run will load.
 */
public record WorkspaceProtection(boolean gitMetadata, List<Path> files) {

    /** Git metadata read-only, no extra files. */
    public static final WorkspaceProtection DEFAULT = new WorkspaceProtection(true, List.of());

    public WorkspaceProtection {
        files = List.copyOf(files);
    }

    /**
     * {@code file}'s path relative to the workspace {@code ws} (a real path) when it is a regular
     * file inside it, links resolved; empty otherwise.
     */
    public static Optional<String> inside(Path ws, Path file) {
        try {
            Path real = file.toRealPath();
            if (real.startsWith(ws) && !real.equals(ws) && Files.isRegularFile(real, LinkOption.NOFOLLOW_LINKS)) {
                return Optional.of(ws.relativize(real).toString());
            }
        } catch (IOException e) {
            // gone: nothing to protect
        }
        return Optional.empty();
    }
}
