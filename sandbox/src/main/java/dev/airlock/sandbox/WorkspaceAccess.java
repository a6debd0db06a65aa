package dev.airlock.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Whether the sandbox user can write a plain workspace, judged by its owner and mode (the bits a
 * sandbox, which has no capabilities, is held to), so that a run can say so before its command
 * starts: a root-owned checkout looks like an ordinary directory inside, until npm or git fails.
 */
public final class WorkspaceAccess {

    private WorkspaceAccess() {
    }

    /** What the caller should hear about {@code workspace} before {@code user}'s command runs in it; empty when it can write there. */
    public static Optional<String> problem(Path workspace, SandboxUser user) {
        try {
            int uid = (Integer) Files.getAttribute(workspace, "unix:uid", LinkOption.NOFOLLOW_LINKS);
            int gid = (Integer) Files.getAttribute(workspace, "unix:gid", LinkOption.NOFOLLOW_LINKS);
            int mode = (Integer) Files.getAttribute(workspace, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
            return problem(workspace, uid, gid, mode, user);
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return Optional.empty(); // cannot tell: the launcher says what is wrong with the workspace itself
        }
    }

    static Optional<String> problem(Path workspace, int ownerUid, int ownerGid, int mode, SandboxUser user) {
        int bits = ownerUid == user.uid() ? mode >> 6 : ownerGid == user.gid() ? mode >> 3 : mode;
        // Writing a file needs w and x on the directory.
        if ((bits & 03) == 03) {
            return Optional.empty();
        }
        String who = user.uid() == SandboxUser.NOBODY ? "nobody, as no SUDO_UID says who called sudo" : "the caller of sudo";
        return Optional.of("the sandbox runs as uid " + user.uid() + " (" + who + "), which cannot write the workspace " + workspace
                + " (owner " + ownerUid + ":" + ownerGid + ", mode " + String.format("%o", mode) + "): the command can read it but not"
                + " create files there (npm's cache in /workspace/.npm, git's index, builds)"
                + (user.uid() == SandboxUser.NOBODY ? "; inside, ls -l shows it as airlock's, because an owner outside the sandbox's"
                        + " user namespace shows as 65534" : "")
                + ". Fix: run airlock through sudo as the"
                + " directory's owner, or give the directory to uid " + user.uid() + " (chown -R " + user.uid() + ":" + user.gid() + " "
                + workspace + "), or pass --workspace with a directory it owns.");
    }
}
