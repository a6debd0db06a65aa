package dev.airlock.policy.address;

/** What an address is, as far as egress is concerned. Only {@link #PUBLIC} is open by default. */
public enum AddressClass {
    PUBLIC("public", false, "a public address"),
    UNSPECIFIED("unspecified", true, "the unspecified address"),
    THIS_NETWORK("this-network", true, "in 0.0.0.0/8, which means this host"),
    LOOPBACK("loopback", true, "loopback"),
    PRIVATE("private", true, "a private (RFC 1918) address"),
    CGNAT("cgnat", true, "carrier-grade NAT space (RFC 6598)"),
    LINK_LOCAL("link-local", true, "link-local"),
    METADATA("metadata", true, "a cloud metadata service"),
    ULA("ula", true, "an IPv6 unique local address (RFC 4193)"),
    SITE_LOCAL("site-local", true, "an IPv6 site-local address (deprecated, still routed inside sites)"),
    MULTICAST("multicast", true, "multicast"),
    BROADCAST("broadcast", true, "the limited broadcast address"),
    RESERVED("reserved", true, "reserved address space"),
    AIRLOCK_LINK("airlock-link", true, "an Airlock gateway or sandbox link address");

    /** Bounded label for metrics and audit records. */
    public final String label;
    /** Protected classes are denied unless a CIDR allow rule names the address. */
    public final boolean protectedByDefault;
    public final String description;

    AddressClass(String label, boolean protectedByDefault, String description) {
        this.label = label;
        this.protectedByDefault = protectedByDefault;
        this.description = description;
    }
}
