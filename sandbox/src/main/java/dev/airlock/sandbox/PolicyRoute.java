package dev.airlock.sandbox;

/**
 * The constants of the TPROXY policy route shared by every sandbox: TPROXY marks a sandbox's TCP
 * packet, and the rule sends marked packets to a table whose only route delivers everything locally,
 * to the gateway's transparent socket.
 */
final class PolicyRoute {

    /**
     * "AL" in ASCII in the high half: clear of the bits kube-proxy (0x4000, 0x8000), Tailscale
     * (0xff0000 masked 0x40000/0x80000) and the kernel tests (0x616cXXXX) use. Calico's default mark
     * mask (0xffff0000) overlaps it: on a Calico node, pick another mark.
     */
    static final int MARK = 0x414c_0000;
    /** The same number as the mark, so that {@code ip rule} lines are easy to recognise. */
    static final int TABLE = 0x414c_0000;
    /**
     * Early: the rule only matches our mark, so it cannot disturb anyone else's routing, and a later
     * rule that routes everything (Tailscale's 5270, for one) must not take the marked packet first.
     */
    static final int PRIORITY = 100;

    static String markHex() {
        return "0x" + Integer.toHexString(MARK);
    }

    static String table() {
        return Integer.toUnsignedString(TABLE);
    }

    /** The {@code ip} arguments (one string) of the route that delivers every marked packet locally. */
    static String routeCommand() {
        return "route replace local 0.0.0.0/0 dev lo table " + table();
    }

    /** The {@code ip} arguments of the rule that sends marked packets to {@link #TABLE}. */
    static java.util.List<String> ruleArguments() {
        return java.util.List.of("rule", "add", "fwmark", markHex(), "lookup", table(), "pref", Integer.toString(PRIORITY));
    }

    private PolicyRoute() {
    }
}
