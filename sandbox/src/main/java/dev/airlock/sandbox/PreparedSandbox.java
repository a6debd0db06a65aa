package dev.airlock.sandbox;

import dev.airlock.policy.address.IpAddress;
import java.nio.file.Path;

/**
 * A sandbox whose kernel objects exist and whose command has not necessarily started. Every name
 * derives from {@code id} ({@code "alk"} + 8 hex digits): the network namespace is {@code id}, the
 * links {@code id + "h"} (host side) and {@code id + "s"} (inside the namespace), the nftables table
 * {@code inet alk_<hex>}, the cgroup {@code /sys/fs/cgroup/<id>}.
 *
 * <p>{@code cgroup} is the cgroup v2 directory. On a host whose memory, cpu and pids controllers are
 * bound to cgroup v1 hierarchies (see docs/sandbox.md) the sandbox has one directory of that name
 * per hierarchy, and {@code cgroup} is the one in the pids hierarchy.
 */
public record PreparedSandbox(String id, String netns, String hostVeth, String sandboxVeth,
        IpAddress hostAddress, IpAddress sandboxAddress, String nftTable, Path cgroup, Path workspace) {
}
