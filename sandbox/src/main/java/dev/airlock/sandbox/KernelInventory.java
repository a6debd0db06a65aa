package dev.airlock.sandbox;

import java.nio.file.Path;
import java.util.Set;

/**
 * What the kernel holds, read without privilege changes, for the reaper: the names of network
 * namespaces, host links and host {@code inet} nftables tables, the directories under the cgroup
 * roots, whether the shared TPROXY rule ({@code fwmark 0x414c0000}) is present, and the mount
 * points of every overlayfs mount ({@code /proc/self/mountinfo}).
 * Names are unfiltered; the reaper keeps only the exact {@code alk} shapes.
 */
record KernelInventory(Set<String> netns, Set<String> links, Set<String> nftTables, Set<Path> cgroups,
        boolean policyRule, Set<Path> overlays) {

    public KernelInventory {
        overlays = Set.copyOf(overlays);
        netns = Set.copyOf(netns);
        links = Set.copyOf(links);
        nftTables = Set.copyOf(nftTables);
        cgroups = Set.copyOf(cgroups);
    }

    /** Without overlay mounts (a kernel view that has none). */
    public KernelInventory(Set<String> netns, Set<String> links, Set<String> nftTables, Set<Path> cgroups, boolean policyRule) {
        this(netns, links, nftTables, cgroups, policyRule, Set.of());
    }
}
