package dev.airlock.pool.template;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Catch-up at claim: a workspace whose template is behind the branch's HEAD (same environment
 * hash) is brought to HEAD before the claimed command starts.
 *
 * <p>Design: who runs git where. Airlock (root) runs git only in the project's mirror, which it
 * owns: it writes a bundle of the missing commits ({@code git bundle create}: HEAD, minus what the
 * template has). The bundle goes into the workspace as a new file, created with
 * {@code O_CREAT|O_EXCL|O_NOFOLLOW} directly in the mount point's root (a path Airlock controls),
 * owned by the sandbox user, read-only. The fetch and checkout then run <em>inside the sandbox</em>,
 * as the sandbox user, as a prefix of the claimed command: the workspace's {@code .git} came out of
 * a setup that ran arbitrary commands, and git follows {@code .git/config} (hooks,
 * {@code core.fsmonitor}, …), so root on the host must never run git there, and neither may the
 * sandbox user outside the sandbox (it would run with the host's network). The sandbox user never
 * sees the mirror, only the bundle. If the catch-up fails (say, a setup artefact is in the way),
 * the command still starts, on the template's commit, with a line on stderr.
 */
public final class CatchUp {

    /** The wrapper: fetch the bundle, check out HEAD, remove the bundle, then exec the claimed command. */
    static final String SCRIPT = "b=$1; c=$2; r=$3; shift 3; "
            + "if git fetch -q \"$b\" \"+refs/heads/$r:refs/remotes/origin/$r\" && git checkout -q -B \"$r\" \"$c\"; then :; "
            + "else echo \"airlock: could not catch up to $c; the workspace stays at its template's commit\" >&2; fi; "
            + "rm -f -- \"$b\"; exec \"$@\"";
    private static final SecureRandom RANDOM = new SecureRandom();

    /**
     * What a claim learns: {@code behind} is how many commits the template is behind HEAD
     * ({@code git rev-list --count template..HEAD}); with {@code caughtUp}, {@code command} checks
     * out HEAD before it runs the claimed command, so the workspace starts 0 behind.
     */
    public record Result(int behind, String head, boolean caughtUp, List<String> command) {
        public Result {
            command = List.copyOf(command);
        }

        /** Commits behind HEAD when the claimed command starts: the goal is 0. */
        public int behindAtStart() {
            return caughtUp ? 0 : behind;
        }
    }

    /** Whether the environment hash at a commit is the template's. */
    interface SameEnvironment {
        boolean at(String commit) throws TemplateException;
    }

    private final Git git;
    private final int uid;
    private final int gid;

    CatchUp(Git git, int uid, int gid) {
        this.git = git;
        this.uid = uid;
        this.gid = gid;
    }

    Result prepare(Template t, Path mirror, Path workspace, List<String> command, SameEnvironment sameEnv) throws TemplateException {
        String head = git.head(mirror, t.ref());
        if (head.equals(t.id().commit())) {
            return new Result(0, head, false, command);
        }
        int behind = git.behind(mirror, t.id().commit(), head);
        if (behind == 0 || !sameEnv.at(head)) {
            // Not a fast-forward of the template (a force push), or the environment changed: a rebuild's job.
            return new Result(behind, head, false, command);
        }
        String name = ".airlock-catchup-" + HexFormat.of().toHexDigits(RANDOM.nextLong()) + ".bundle";
        Path tmp = mirror.resolveSibling("catchup-" + HexFormat.of().toHexDigits(RANDOM.nextLong()) + ".bundle");
        try {
            git.ok(null, "--git-dir=" + mirror, "bundle", "create", "--quiet", tmp.toString(), "refs/heads/" + t.ref(), "^" + t.id().commit());
            Path target = workspace.resolve(name);
            try (var in = Files.newInputStream(tmp);
                    var out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                in.transferTo(out);
            }
            Files.setAttribute(target, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(target, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(target, "unix:mode", 0444, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            throw new TemplateException("cannot hand the catch-up bundle to workspace " + workspace + ": " + e
                    + ". Fix: catch up on a fresh workspace (before its claim), or rebuild the template.", e);
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException e) {
                // left in the project's 0700 directory; harmless
            }
        }
        List<String> wrapped = new ArrayList<>(List.of("/bin/sh", "-c", SCRIPT, "airlock-catchup", "./" + name, head, t.ref()));
        wrapped.addAll(command);
        return new Result(behind, head, true, wrapped);
    }
}
