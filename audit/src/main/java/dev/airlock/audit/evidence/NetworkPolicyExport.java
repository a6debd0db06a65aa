package dev.airlock.audit.evidence;

import java.nio.file.Path;
import java.util.Optional;

/**
 * The hook for {@code airlock policy export}'s formats (nftables, k8s, cilium): the evidence bundle
 * includes every export it is given, one file per project and format. The export classes live in
 * {@code dev.airlock.audit.export}; the command line passes them in. Without any, the bundle still
 * holds the nftables ruleset as applied, from the project's latest audit.
 */
interface NetworkPolicyExport {

    /** {@code nftables}, {@code k8s}, {@code cilium}. */
    String format();

    /** The file name in the bundle, e.g. {@code networkpolicy.yaml}. */
    String fileName();

    /** The export of one project's policy under the org policy. */
    String render(Path policy, Optional<Path> org) throws Exception;
}
