package dev.airlock.policy.address;

/**
 * What an address is, as far as egress is concerned. Only {@link #PUBLIC} is open by default, and
 * each class says who may open it (DESIGN.md §1): a project's {@code cidr:} rule opens only public
 * and private space (RFC 1918, CGNAT, ULA); everything the host alone should reach (its loopback,
 * link-local and metadata, its own addresses, and the odd ranges) opens only through an exception
 * in the organisation policy; Airlock's own links never open.
 */
public enum AddressClass {
    PUBLIC("public", false, Opener.PROJECT, "a public address"),
    UNSPECIFIED("unspecified", true, Opener.ORGANISATION, "the unspecified address"),
    THIS_NETWORK("this-network", true, Opener.ORGANISATION, "in 0.0.0.0/8, which means this host"),
    LOOPBACK("loopback", true, Opener.ORGANISATION, "loopback"),
    PRIVATE("private", true, Opener.PROJECT, "a private (RFC 1918) address"),
    CGNAT("cgnat", true, Opener.PROJECT, "carrier-grade NAT space (RFC 6598)"),
    LINK_LOCAL("link-local", true, Opener.ORGANISATION, "link-local"),
    METADATA("metadata", true, Opener.ORGANISATION, "a cloud metadata service"),
    ULA("ula", true, Opener.PROJECT, "an IPv6 unique local address (RFC 4193)"),
    SITE_LOCAL("site-local", true, Opener.ORGANISATION, "an IPv6 site-local address (deprecated, still routed inside sites)"),
    MULTICAST("multicast", true, Opener.ORGANISATION, "multicast"),
    BROADCAST("broadcast", true, Opener.ORGANISATION, "the limited broadcast address"),
    RESERVED("reserved", true, Opener.ORGANISATION, "reserved address space"),
    HOST_ADDRESS("host-address", true, Opener.ORGANISATION, "one of the host's own addresses (assigned to one of its interfaces)"),
    AIRLOCK_LINK("airlock-link", true, Opener.NOBODY, "an Airlock gateway or sandbox link address");

    /** Who may open a class of addresses. */
    public enum Opener {
        /** A project's {@code cidr:} allow rule. */
        PROJECT,
        /** Only an entry of {@code exceptions:} in the organisation policy, naming the project. */
        ORGANISATION,
        /** Nobody: the gateway and the other sandboxes stay out of reach. */
        NOBODY
    }

    /** Bounded label for metrics and audit records. */
    public final String label;
    /** Protected classes are denied unless a rule that may open them names the address. */
    public final boolean protectedByDefault;
    public final Opener opener;
    public final String description;

    AddressClass(String label, boolean protectedByDefault, Opener opener, String description) {
        this.label = label;
        this.protectedByDefault = protectedByDefault;
        this.opener = opener;
        this.description = description;
    }

    /** Whether a project's own {@code cidr:} rule can open this class. */
    public boolean projectCanOpen() {
        return opener == Opener.PROJECT;
    }
}
