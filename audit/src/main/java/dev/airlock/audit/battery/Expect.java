package dev.airlock.audit.battery;

/** What a probe must observe for the audit to pass. */
enum Expect {
    /** The target must not answer: no byte, no datagram, no HTTP response from it, no DNS answer, no file. */
    BLOCKED("blocked"),
    /** An allowed entry: it should answer; when it cannot here, the probe is "not reachable here", never a pass. */
    REACHABLE("reachable"),
    /** A privileged command (route, address, nftables, namespaces) must fail. */
    COMMAND_FAILS("command fails");

    public final String code;

    Expect(String code) {
        this.code = code;
    }
}
