package dev.airlock.sandbox;

import dev.airlock.policy.address.IpAddress;
import java.nio.file.Path;
import java.util.List;

/**
 * The closed set of privileged operations the launcher asks of the kernel. Every kernel object a
 * sandbox has is created and removed through one of these records, and {@link KernelOps#execute}
 * handles them in one switch with no default (the compiler checks the switch is exhaustive), where
 * each operation's preconditions are checked again before anything runs.
 *
 * <p>A {@code netns} of {@code null} means the host's namespace. The records carry values only; they
 * check nothing themselves, so that a wrong value reaches the privileged point and is refused there.
 * Objects made inside a sandbox's namespace (its addresses, route, sysctls and nftables table)
 * have no delete operation: they die with the namespace.
 *
 * <p>There is no "move link" operation: {@link CreateVethPair} creates the sandbox end directly in
 * the sandbox's namespace, so it never sits in the host's.
 */
public sealed interface KernelOp {

    /** {@code ip netns add name}. */
    record CreateNetns(String name) implements KernelOp {
    }

    /** {@code ip netns del name}; nothing when it does not exist. */
    record DeleteNetns(String name) implements KernelOp {
    }

    /** {@code ip link add host type veth peer name peer netns peerNetns}. */
    record CreateVethPair(String host, String peer, String peerNetns) implements KernelOp {
    }

    /** {@code ip link del name} in the host namespace (both ends of a veth go); nothing when absent. */
    record DeleteLink(String name) implements KernelOp {
    }

    /** Sets each of {@code keys} to {@code value}, in {@code netns} (null: the host, per-link keys only). */
    record Sysctl(String netns, List<String> keys, String value) implements KernelOp {
    }

    /** {@code ip addr add address/prefixLength dev link}. */
    record AddAddress(String netns, String link, IpAddress address, int prefixLength) implements KernelOp {
    }

    /** {@code ip link set link up}. */
    record SetLinkUp(String netns, String link) implements KernelOp {
    }

    /** {@code ip route add default via via} inside a sandbox namespace (never the host's). */
    record AddDefaultRoute(String netns, IpAddress via) implements KernelOp {
    }

    /**
     * Replaces table {@code inet table} with {@code ruleset} in one {@code nft -f} transaction:
     * the ruleset defines exactly that table and nothing else.
     */
    record ApplyNftRuleset(String netns, String table, String ruleset) implements KernelOp {
    }

    /** Deletes table {@code inet table} from the host namespace; nothing when absent. */
    record DeleteNftTable(String table) implements KernelOp {
    }

    /**
     * The TPROXY policy route shared by every sandbox: {@code ip rule add fwmark mark lookup table
     * pref priority} and {@code ip route replace local 0.0.0.0/0 dev lo table table}.
     */
    record AddPolicyRule(int mark, int table, int priority) implements KernelOp {
    }

    /** Removes every copy of the rule {@code fwmark mark lookup table} and flushes {@code table}. */
    record DeletePolicyRule(int mark, int table) implements KernelOp {
    }

    /** Adds missing {@code controllers} to {@code root/cgroup.subtree_control} (cgroup v2 root only). */
    record EnableControllers(Path root, List<String> controllers) implements KernelOp {
    }

    /** {@code mkdir dir}: a sandbox cgroup directly under a cgroup root. */
    record CreateCgroup(Path dir) implements KernelOp {
    }

    /** Writes {@code value} to the limit file {@code dir/file}. */
    record SetCgroupLimit(Path dir, String file, String value) implements KernelOp {
    }

    /** Ends every process in {@code dir} and waits until it is empty; nothing when absent. */
    record KillCgroup(Path dir) implements KernelOp {
    }

    /** {@code rmdir dir}; nothing when absent. */
    record DeleteCgroup(Path dir) implements KernelOp {
    }

    /**
     * Mounts sandbox {@code id}'s copy-on-write workspace: overlayfs with {@code lowerdir=lower} (a
     * template tree under {@code state/templates/<project>/}), its upper and work directories
     * created under {@code state/sandboxes/id} (the upper one owned by {@code uid:gid}, the root of
     * the workspace), mounted {@code nosuid,nodev} at {@code state/overlays/id}. The privileged
     * point derives those paths itself from {@code state} and {@code id} ({@link Overlays}).
     */
    record MountOverlay(Path state, String id, Path lower, int uid, int gid) implements KernelOp {
    }

    /**
     * Unmounts {@code state/overlays/id} when an overlay is mounted there, removes the mount point
     * and the sandbox's upper and work directories (without following links); nothing when absent.
     * Sandbox {@code id}'s root mounts ({@link MountSetupRoot}, {@link MountStackedRoot}) come off
     * with it, their mount points removed (the layer's directories stay: they are the template's).
     */
    record UnmountOverlay(Path state, String id) implements KernelOp {
    }

    /**
     * Mounts the writable root of setup sandbox {@code id} (docs/images.md, "Setup as root"):
     * overlayfs, {@code nosuid,nodev}, with {@code lowerdir=image} (an unpacked image of the store,
     * {@link ImageStore#isImageRoot}) and the upper and work directories of layer {@code layer} of
     * {@code project} ({@link RootLayers}), at {@code state/setup-roots/id}. The first mount of a
     * layer prepares its upper directory for {@code uid:gid} (never 0: the sandbox user, who is root
     * of the step's namespace; {@link RootLayerFiles#prepare}). The privileged point derives every
     * path itself from {@code state}, {@code project}, {@code layer} and {@code id}.
     */
    record MountSetupRoot(Path state, String id, String project, String layer, Path image, int uid, int gid) implements KernelOp {
    }

    /**
     * Mounts the read-only root of sandbox {@code id}: the sealed layer {@code layer} of
     * {@code project} over the unpacked {@code image} ({@code lowerdir=layer:image}, {@code ro,nosuid,nodev})
     * at {@code state/roots/id}.
     */
    record MountStackedRoot(Path state, String id, String project, String layer, Path image) implements KernelOp {
    }

    /**
     * Seals layer {@code layer} of {@code project} after its last root step: refused while an
     * overlay uses it; then its upper directory is made root's and inert and becomes the read-only
     * layer ({@link RootLayerFiles#seal}), its work directory removed.
     */
    record SealRootLayer(Path state, String project, String layer) implements KernelOp {
    }
    /**
     * Removes {@code dir} and everything in it as root ({@link LinkSafeFiles}): no link followed,
     * no other file system entered. {@code dir} lies strictly below one of the areas of the state
     * directory {@code state} that root removes trees in ({@link StateAreas}), is reached without
     * links, and, in the member workspace area, is a member workspace by shape (in the audits' area,
     * an audit's work directory or below one: {@link AuditWorkDirs}). A member workspace
     * keeps a mount point below it (left in place, named in the failure: the rest goes); anywhere
     * else a mount at or below {@code dir} refuses the whole tree. Nothing when absent.
     */
    record DeleteTree(Path state, Path dir) implements KernelOp {
    }

    /**
     * Gives {@code dir} and everything in it to {@code uid:gid} (never 0), as root
     * ({@link LinkSafeFiles#chownTree}): no link followed, a hard-linked file refused. {@code dir}
     * lies strictly below an area of {@code state} ({@link StateAreas}; in the audits' area, at or
     * below an audit's work directory), is reached without links, and has no mount point at or below it.
     */
    record ChownTree(Path state, Path dir, int uid, int gid) implements KernelOp {
    }

    /**
     * Creates the directory {@code dir} (its parent must exist), mode 0700, owned by {@code uid:gid}
     * (never 0): a workspace a sandbox runs in. A name that exists already, whatever it is (a link,
     * another sandbox's directory), is refused, never re-owned. {@code dir} is a member workspace of
     * {@code state} by shape ({@link MemberWorkspaces}), its parent reached without links.
     */
    record CreateWorkspace(Path state, Path dir, int uid, int gid) implements KernelOp {
    }
}
