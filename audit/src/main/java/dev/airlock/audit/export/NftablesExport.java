package dev.airlock.audit.export;

import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.sandbox.GatewayPorts;
import dev.airlock.sandbox.NetworkRules;

/**
 * The nftables rules of a sandbox, rendered by the very methods the launcher applies
 * ({@link NetworkRules}), for a documented example sandbox: the first link of the default range.
 * The two tables live in different network namespaces and carry the same name, so they are two
 * sections, each loadable on its own with {@code nft -f} (the markers are {@link #HOST_MARK} and
 * {@link #SANDBOX_MARK}).
 */
final class NftablesExport {

    static final String HOST_MARK = "# ---- host namespace: load with `nft -f` ----";
    static final String SANDBOX_MARK = "# ---- sandbox namespace: load with `ip netns exec NETNS nft -f` ----";

    private NftablesExport() {
    }

    static String render(ProjectPolicy project, ExportSettings s) {
        NetworkRules rules = NetworkRules.example(new GatewayPorts(s.transparentPort(), s.dnsPort()));
        StringBuilder b = new StringBuilder();
        b.append("# Airlock nftables export for project ").append(project.project()).append(" (").append(project.file()).append(").\n");
        b.append("# These are the rules `airlock run` applies to every sandbox, rendered by the same code (see docs/exports.md).\n");
        b.append("# They do not depend on the policy: every TCP connection goes to the egress gateway, DNS to its\n");
        b.append("# responder, everything else (UDP, QUIC, ICMP, IPv6) is dropped, and the gateway decides by the policy.\n");
        b.append("#\n");
        b.append("# Example values: sandbox ").append(NetworkRules.EXAMPLE_ID).append(" on the first link of the default range 100.96.0.0/16:\n");
        b.append("#   host end ").append(rules.hostAddress()).append(" (link ").append(rules.hostLink()).append("), sandbox end ")
                .append(rules.sandboxAddress()).append(" (link ").append(rules.sandboxLink()).append(", network namespace ")
                .append(rules.netns()).append("),\n");
        b.append("#   gateway transparent TCP port ").append(s.transparentPort()).append(", DNS responder port ").append(s.dnsPort()).append(".\n");
        b.append("#   A real sandbox has a random id, the next free /30, and the ports its gateway listens on.\n");
        b.append("#\n");
        b.append("# Also applied on the host, once for all sandboxes (the TPROXY policy route):\n");
        NetworkRules.policyRouteCommands().forEach(c -> b.append("#   ").append(c).append('\n'));
        b.append("# and IPv6 is disabled on both ends of the link (net.ipv6.conf.*.disable_ipv6=1).\n");
        b.append('\n');
        b.append(HOST_MARK).append('\n');
        b.append(rules.hostRuleset());
        b.append('\n');
        b.append(SANDBOX_MARK.replace("NETNS", rules.netns())).append('\n');
        b.append(rules.sandboxRuleset());
        return b.toString();
    }
}
