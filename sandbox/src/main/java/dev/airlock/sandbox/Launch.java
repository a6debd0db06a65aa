package dev.airlock.sandbox;

import java.nio.file.Path;
import java.util.List;

/**
 * The one privileged start, {@link KernelOps#start}: join {@code cgroups}, enter the network
 * namespace {@code netns}, become {@code uid}/{@code gid} (never 0), then run bubblewrap with
 * {@code bwrapArgs} followed by {@code command}. stdio as given.
 */
record Launch(List<Path> cgroups, String netns, int uid, int gid, List<String> bwrapArgs,
        List<String> command, ProcessBuilder.Redirect in, ProcessBuilder.Redirect out, ProcessBuilder.Redirect err) {

    public Launch {
        cgroups = List.copyOf(cgroups);
        bwrapArgs = List.copyOf(bwrapArgs);
        command = List.copyOf(command);
    }
}
