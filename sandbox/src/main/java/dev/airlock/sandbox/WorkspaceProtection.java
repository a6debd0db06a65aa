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
     * file inside it; empty when it lies outside or is gone. Links above the workspace are followed
     * (the sandbox cannot change them); below it none is: a protected file reached through a
     * symbolic link inside the workspace is refused, because a read-only bind protects a link's
     * target, never its name, and the sandbox could point the name at a file of its own.
     */
    public static Optional<String> inside(Path ws, Path file) throws SandboxException {
        Path f = file.toAbsolutePath().normalize();
        Path cur = f.getRoot();
        for (Path c : f) {
            Path next = cur.resolve(c);
            if (cur.startsWith(ws)) {
                if (Files.isSymbolicLink(next)) {
                    throw new SandboxException(f + " is reached through the symbolic link " + next + " inside the workspace " + ws
                            + "; the sandbox could point it elsewhere, so it cannot be kept read-only. Fix: give the real path"
                            + " (" + realOr(f) + "), or replace the link with the file itself.");
                }
                cur = next;
            } else {
                try {
                    cur = next.toRealPath();
                } catch (IOException e) {
                    return Optional.empty(); // gone: nothing to protect
                }
            }
        }
        if (cur.startsWith(ws) && !cur.equals(ws) && Files.isRegularFile(cur, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.of(ws.relativize(cur).toString());
        }
        return Optional.empty();
    }

    private static String realOr(Path f) {
        try {
            return f.toRealPath().toString();
        } catch (IOException e) {
            return "it is gone";
        }
    }
}
