package dev.airlock.server;

import dev.airlock.sandbox.Overlays;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The daemon never loads a policy, organisation policy or hosts file from a place a sandbox can
 * write: its members' workspaces ({@code <state>-workspaces/}), their overlays and upper
 * directories, the template staging trees, and a project's configured workspace. Otherwise a
 * sandbox could edit the policy the daemon loads at its next start.
 */
final class PolicyLocations {

    private PolicyLocations() {
    }

    /** Where sandboxes of the daemon with {@code config} write. */
    static List<Path> sandboxWritable(DaemonConfig config) {
        Path state = real(config.state());
        List<Path> out = new ArrayList<>(List.of(
                real(config.state().resolveSibling(config.state().getFileName() + "-workspaces")),
                state.resolve("overlays"), state.resolve("sandboxes"), state.resolve(Overlays.STAGING)));
        config.projects().forEach(p -> p.workspace().map(PolicyLocations::real).ifPresent(out::add));
        return out;
    }

    /** The first file the daemon would load from a sandbox-writable place, with the place. */
    static Optional<String> problem(DaemonConfig config) {
        List<Path> files = new ArrayList<>();
        config.projects().forEach(p -> files.add(p.policy()));
        config.org().ifPresent(files::add);
        config.hosts().ifPresent(files::add);
        return problem(config, files);
    }

    /**
     * As {@link #problem(DaemonConfig)} for {@code files} alone: checked again before every reload,
     * since a link re-pointed while the daemon runs could lead a policy into a workspace.
     */
    static Optional<String> problem(DaemonConfig config, List<Path> files) {
        List<Path> writable = sandboxWritable(config);
        for (Path f : files) {
            Path r = real(f);
            for (Path w : writable) {
                if (r.startsWith(w)) {
                    return Optional.of(config.file() + ": " + f + " lies in " + w + ", which sandboxes write; the daemon does not load a"
                            + " policy a sandbox could have changed. Fix: keep the daemon's policies outside every workspace (say, in"
                            + " /etc/airlock/projects/) and point `policy:` there.");
                }
            }
        }
        return Optional.empty();
    }

    /** The path with its links resolved as far as it exists (what a later open would reach). */
    private static Path real(Path p) {
        Path abs = p.toAbsolutePath().normalize();
        for (Path q = abs; q != null; q = q.getParent()) {
            try {
                return q.toRealPath().resolve(q.relativize(abs));
            } catch (IOException e) {
                // not there yet: try its parent
            }
        }
        return abs;
    }
}
