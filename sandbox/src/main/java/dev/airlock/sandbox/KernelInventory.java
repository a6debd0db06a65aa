package dev.airlock.sandbox;

import java.nio.file.Path;
import java.util.Set;

/**
 * What the kernel holds, read without privilege changes, for the reaper: the names of network
 * namespaces, host links and host {@code inet} nftables tables, the directories under the cgroup
 * roots, and whether the shared TPROXY rule ({@code fwmark 0x414c0000}) is present.
 * Names are unfiltered; the reaper keeps only the exact {@code alk} shapes.
 */
public record KernelInventory(Set<String> netns, Set<String> links, Set<String> nftTables, Set<Path> cgroups,
        boolean policyRule) {

    public KernelInventory {
        netns = Set.copyOf(netns);
        links = Set.copyOf(links);
        nftTables = Set.copyOf(nftTables);
        cgroups = Set.copyOf(cgroups);
    }
}
