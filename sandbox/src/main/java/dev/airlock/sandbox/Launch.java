package dev.airlock.sandbox;

import java.nio.file.Path;
import java.util.List;

/**
 * The one privileged start, {@link KernelOps#start}: join {@code cgroups}, enter the network
 * namespace {@code netns}, become {@code uid}/{@code gid} (never 0), then run bubblewrap with
 * {@code bwrapArgs} followed by {@code command}. stdio as given. With {@code ownSession}, all of it
 * runs in a session of its own (setsid), away from the caller's terminal: a daemon started by hand
 * in a terminal stops its sandboxes itself at Ctrl-C, which the terminal would otherwise send to
 * every one of them too, before the daemon's orderly stop.
 */
record Launch(List<Path> cgroups, String netns, int uid, int gid, List<String> bwrapArgs,
        List<String> command, ProcessBuilder.Redirect in, ProcessBuilder.Redirect out, ProcessBuilder.Redirect err, boolean ownSession) {

    public Launch {
        cgroups = List.copyOf(cgroups);
        bwrapArgs = List.copyOf(bwrapArgs);
        command = List.copyOf(command);
    }
}
