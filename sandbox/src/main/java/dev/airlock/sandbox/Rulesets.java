package dev.airlock.sandbox;

import dev.airlock.policy.address.IpAddress;

/**
 * The nftables rulesets of one sandbox, as text for {@code nft -f}. Pure: the same inputs give the
 * same text, which the unit tests compare line by line.
 *
 * <p>Design: two tables, one on each side of the link, each enough on its own.
 * <ul>
 *   <li><b>Host</b> ({@link #host}): everything arriving on the sandbox's host link is decided in
 *       prerouting, before routing can forward or deliver it. DNS to the host link address passes
 *       (the nat chain redirects it to the gateway's responder); every other TCP packet is handed by
 *       TPROXY to the gateway's transparent listener and marked, so that the policy route delivers
 *       it locally whatever its destination; everything else (UDP including QUIC, ICMP, other
 *       protocols, all of IPv6) is dropped. The input chain then admits from that link only the
 *       marked TCP and the redirected DNS, so no other host service (daemon, metrics, databases) is
 *       reachable, and the forward chain drops anything in or out of the link: the host never
 *       routes a sandbox's packets, whatever {@code ip_forward} says. If the gateway is not
 *       listening, TPROXY finds no socket, the packet falls through to the drop: fail closed.
 *   <li><b>Sandbox</b> ({@link #sandbox}), inside its namespace (defense in depth, should the host
 *       table be missing): IPv6 dropped; output only on loopback, or on the link from the sandbox's
 *       address as TCP (any destination: the host intercepts it) or DNS to the host address; input
 *       only on loopback or for connections the sandbox opened.
 * </ul>
 */
final class Rulesets {

    private Rulesets() {
    }

    static String host(String table, String hostLink, IpAddress hostAddress, GatewayPorts ports) {
        String in = "\t\tiifname \"" + hostLink + "\" ";
        String h = hostAddress.toString();
        return "table inet " + table + " {\n"
                + "\tchain prerouting {\n"
                + "\t\ttype filter hook prerouting priority mangle; policy accept;\n"
                + in + "ip daddr " + h + " udp dport 53 accept\n"
                + in + "ip daddr " + h + " tcp dport 53 accept\n"
                + in + "meta nfproto ipv4 meta l4proto tcp tproxy ip to :" + ports.transparentTcp()
                        + " meta mark set " + PolicyRoute.markHex() + " accept\n"
                + in + "drop\n"
                + "\t}\n"
                + "\tchain dns {\n"
                + "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
                + in + "ip daddr " + h + " udp dport 53 redirect to :" + ports.dns() + "\n"
                + in + "ip daddr " + h + " tcp dport 53 redirect to :" + ports.dns() + "\n"
                + "\t}\n"
                + "\tchain input {\n"
                + "\t\ttype filter hook input priority filter; policy accept;\n"
                + in + "meta nfproto ipv4 meta l4proto tcp meta mark " + PolicyRoute.markHex() + " accept\n"
                + in + "ip daddr " + h + " udp dport " + ports.dns() + " ct status dnat accept\n"
                + in + "ip daddr " + h + " tcp dport " + ports.dns() + " ct status dnat accept\n"
                + in + "drop\n"
                + "\t}\n"
                + "\tchain forward {\n"
                + "\t\ttype filter hook forward priority filter; policy accept;\n"
                + in + "drop\n"
                + "\t\toifname \"" + hostLink + "\" drop\n"
                + "\t}\n"
                + "}\n";
    }

    static String sandbox(String table, String sandboxLink, IpAddress hostAddress, IpAddress sandboxAddress) {
        String out = "\t\toifname \"" + sandboxLink + "\" ip saddr " + sandboxAddress + " ";
        return "table inet " + table + " {\n"
                + "\tchain output {\n"
                + "\t\ttype filter hook output priority filter; policy drop;\n"
                + "\t\tmeta nfproto ipv6 drop\n"
                + "\t\toifname \"lo\" accept\n"
                + out + "meta l4proto tcp accept\n"
                + out + "ip daddr " + hostAddress + " udp dport 53 accept\n"
                + "\t}\n"
                + "\tchain input {\n"
                + "\t\ttype filter hook input priority filter; policy drop;\n"
                + "\t\tmeta nfproto ipv6 drop\n"
                + "\t\tiifname \"lo\" accept\n"
                + "\t\tiifname \"" + sandboxLink + "\" ct state established,related accept\n"
                + "\t}\n"
                + "\tchain forward {\n"
                + "\t\ttype filter hook forward priority filter; policy drop;\n"
                + "\t}\n"
                + "}\n";
    }
}
