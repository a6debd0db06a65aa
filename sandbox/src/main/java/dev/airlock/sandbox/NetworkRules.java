package dev.airlock.sandbox;

import dev.airlock.policy.address.IpAddress;
import java.util.List;
import java.util.Objects;

/**
 * The network enforcement of one sandbox, exactly as the launcher applies it: the host-side
 * nftables table, the table inside the sandbox's namespace, and the shared TPROXY policy route.
 * {@link SandboxLauncher} builds its kernel operations from this record, and
 * {@code airlock policy export --format nftables} prints it, so the export cannot drift from what
 * is applied: both are the output of the same methods.
 *
 * <p>The rules do not depend on the project's policy: the policy is enforced by the gateway the
 * rules hand every connection to. They depend only on the sandbox's id, its link addresses and the
 * gateway's ports.
 */
public record NetworkRules(String sandboxId, IpAddress hostAddress, IpAddress sandboxAddress, GatewayPorts ports) {

    /** The sandbox id of {@link #example}: the exact {@code alk} shape, never generated (ids are random). */
    public static final String EXAMPLE_ID = "alk00000000";

    public NetworkRules {
        Objects.requireNonNull(hostAddress, "hostAddress");
        Objects.requireNonNull(sandboxAddress, "sandboxAddress");
        Objects.requireNonNull(ports, "ports");
        if (!Names.isId(sandboxId)) {
            throw new IllegalArgumentException("not a sandbox id (alk + 8 hex digits): " + sandboxId);
        }
    }

    /**
     * A documented example: sandbox {@value #EXAMPLE_ID} on the first link of the default range
     * ({@link LinkRange#DEFAULT} slot 0: host 100.96.0.1, sandbox 100.96.0.2).
     */
    public static NetworkRules example(GatewayPorts ports) {
        return new NetworkRules(EXAMPLE_ID, LinkRange.DEFAULT.hostAddress(0), LinkRange.DEFAULT.sandboxAddress(0), ports);
    }

    static NetworkRules of(SandboxRecord r, GatewayPorts ports) {
        return new NetworkRules(r.id(), r.hostAddress(), r.sandboxAddress(), ports);
    }

    /** The nftables table's name, the same on both sides of the link. */
    public String table() {
        return Names.nftTable(sandboxId);
    }

    public String netns() {
        return Names.netns(sandboxId);
    }

    public String hostLink() {
        return Names.hostLink(sandboxId);
    }

    public String sandboxLink() {
        return Names.sandboxLink(sandboxId);
    }

    /** The table applied in the host's namespace ({@code nft -f}). */
    public String hostRuleset() {
        return Rulesets.host(table(), hostLink(), hostAddress, ports);
    }

    /** The table applied inside the sandbox's namespace ({@code ip netns exec NETNS nft -f}). */
    public String sandboxRuleset() {
        return Rulesets.sandbox(table(), sandboxLink(), hostAddress, sandboxAddress);
    }

    /** The shared TPROXY policy route, as the {@code ip} commands the host runs (once for all sandboxes). */
    public static List<String> policyRouteCommands() {
        return List.of("ip " + PolicyRoute.routeCommand(), "ip " + String.join(" ", PolicyRoute.ruleArguments()));
    }
}
