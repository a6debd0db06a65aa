package dev.airlock.policy.address;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The one ordered address classifier.
 *
 * <p>Design: classification never asks {@code InetAddress}; it looks the address up in explicit
 * CIDR tables, after unwrapping every IPv4 address that an IPv6 address can carry (mapped,
 * compatible, both NAT64 prefixes, 6to4 and Teredo). If any view of the address is protected, the
 * address is protected: an attacker picks the encoding, so the strictest reading wins.
 *
 * <p>Thread-safe: the tables are built in the constructor and frozen.
 */
public final class AddressClassifier {

    /** The built-in protected set (DESIGN.md §1). Order does not matter: the longest prefix wins. */
    private static final Object[][] BUILT_IN = {
        // IPv4
        {"0.0.0.0/8", AddressClass.THIS_NETWORK},
        {"0.0.0.0/32", AddressClass.UNSPECIFIED},
        {"10.0.0.0/8", AddressClass.PRIVATE},
        {"100.64.0.0/10", AddressClass.CGNAT},
        {"127.0.0.0/8", AddressClass.LOOPBACK},
        {"169.254.0.0/16", AddressClass.LINK_LOCAL},
        {"169.254.169.254/32", AddressClass.METADATA},     // AWS, GCP, Azure IMDS, OpenStack
        {"169.254.170.2/32", AddressClass.METADATA},       // AWS ECS task metadata
        {"168.63.129.16/32", AddressClass.METADATA},       // Azure WireServer: public-looking, host-local
        {"172.16.0.0/12", AddressClass.PRIVATE},
        {"192.0.0.0/24", AddressClass.RESERVED},           // IETF protocol assignments
        {"192.168.0.0/16", AddressClass.PRIVATE},
        {"224.0.0.0/4", AddressClass.MULTICAST},
        {"240.0.0.0/4", AddressClass.RESERVED},
        {"255.255.255.255/32", AddressClass.BROADCAST},
        // IPv6
        {"::/128", AddressClass.UNSPECIFIED},
        {"::1/128", AddressClass.LOOPBACK},
        {"100::/64", AddressClass.RESERVED},               // discard-only prefix
        {"fc00::/7", AddressClass.ULA},
        {"fd00:ec2::254/128", AddressClass.METADATA},      // AWS IMDS over IPv6
        {"fe80::/10", AddressClass.LINK_LOCAL},
        {"fec0::/10", AddressClass.SITE_LOCAL},
        {"ff00::/8", AddressClass.MULTICAST},
    };

    private static final Cidr MAPPED = Cidr.of("::ffff:0.0.0.0/96");
    private static final Cidr COMPATIBLE = Cidr.of("::/96");
    private static final Cidr NAT64_WELL_KNOWN = Cidr.of("64:ff9b::/96");
    private static final Cidr NAT64_LOCAL_USE = Cidr.of("64:ff9b:1::/48");
    private static final Cidr SIX_TO_FOUR = Cidr.of("2002::/16");
    private static final Cidr TEREDO = Cidr.of("2001::/32");

    private final CidrTrie<AddressClass> table = new CidrTrie<>();
    private final CidrTrie<Boolean> links = new CidrTrie<>();
    private final Supplier<HostAddresses> host;

    /** @param airlockLinks the gateway's and every sandbox's link ranges: protected like loopback */
    public AddressClassifier(List<Cidr> airlockLinks) {
        this(airlockLinks, () -> HostAddresses.NONE);
    }

    /**
     * @param airlockLinks the gateway's and every sandbox's link ranges: never opened
     * @param host         the host's own addresses now (read on every classification, so a
     *                     snapshot swapped in by the gateway takes effect at once)
     */
    public AddressClassifier(List<Cidr> airlockLinks, Supplier<HostAddresses> host) {
        this.host = host;
        for (Object[] row : BUILT_IN) {
            table.put(Cidr.of((String) row[0]), (AddressClass) row[1]);
        }
        for (Cidr link : airlockLinks) {
            links.put(link, Boolean.TRUE);
        }
        table.freeze();
        links.freeze();
    }

    public AddressClassifier() {
        this(List.of());
    }

    /**
     * The built-in ranges no project rule can open (loopback, link-local and metadata, and the
     * rest that only an organisation exception opens), most specific last. For static checks.
     */
    public static List<java.util.Map.Entry<Cidr, AddressClass>> closedToProjects() {
        List<java.util.Map.Entry<Cidr, AddressClass>> out = new ArrayList<>();
        for (Object[] row : BUILT_IN) {
            AddressClass c = (AddressClass) row[1];
            if (!c.projectCanOpen()) {
                out.add(java.util.Map.entry(Cidr.of((String) row[0]), c));
            }
        }
        return out;
    }

    /** The strictest class among the address and every IPv4 address embedded in it. */
    public AddressClass classify(IpAddress a) {
        AddressClass direct = lookup(a);
        if (direct.protectedByDefault || a.isV4()) {
            return direct;
        }
        for (IpAddress embedded : embeddedV4(a)) {
            AddressClass c = lookup(embedded);
            if (c.protectedByDefault) {
                return c;
            }
        }
        return direct;
    }

    private AddressClass lookup(IpAddress a) {
        // Airlock's own links first: they may sit inside private space and must be named as ours.
        if (links.longestMatch(a) != null) {
            return AddressClass.AIRLOCK_LINK;
        }
        // The most specific match wins: 169.254.169.254 is METADATA, not merely LINK_LOCAL.
        AddressClass c = table.longestMatch(a);
        c = c == null ? AddressClass.PUBLIC : c;
        // The host's own address outranks any class a project could open (its LAN address is often
        // RFC 1918); loopback and link-local keep their names, which are closed already.
        return c.projectCanOpen() && host.get().contains(a) ? AddressClass.HOST_ADDRESS : c;
    }

    /** The address itself followed by every IPv4 address it embeds. Production checks use all. */
    public static List<IpAddress> views(IpAddress a) {
        if (a.isV4()) {
            return List.of(a);
        }
        List<IpAddress> embedded = embeddedV4(a);
        if (embedded.isEmpty()) {
            return List.of(a);
        }
        List<IpAddress> out = new ArrayList<>(1 + embedded.size());
        out.add(a);
        out.addAll(embedded);
        return out;
    }

    /** IPv4 addresses carried inside an IPv6 address, per the transition mechanism it belongs to. */
    public static List<IpAddress> embeddedV4(IpAddress a) {
        if (a.isV4()) {
            return List.of();
        }
        int low32 = (int) a.lo();
        if (MAPPED.contains(a) || NAT64_WELL_KNOWN.contains(a) || NAT64_LOCAL_USE.contains(a)) {
            // Local-use NAT64 (RFC 8215) is read as its /96 form: the IPv4 address in the last 32 bits.
            return List.of(IpAddress.ipv4(low32));
        }
        if (COMPATIBLE.contains(a)) {
            // :: and ::1 are themselves (unspecified, loopback); the rest of ::/96 is IPv4-compatible.
            return (a.lo() & 0xFFFF_FFFFL) <= 1 ? List.of() : List.of(IpAddress.ipv4(low32));
        }
        if (SIX_TO_FOUR.contains(a)) {
            return List.of(IpAddress.ipv4((int) (a.hi() >>> 16)));
        }
        if (TEREDO.contains(a)) {
            // Teredo: the server in bits 32-63, the client (obfuscated by inversion) in the last 32.
            return List.of(IpAddress.ipv4((int) a.hi()), IpAddress.ipv4(~low32));
        }
        return List.of();
    }
}
