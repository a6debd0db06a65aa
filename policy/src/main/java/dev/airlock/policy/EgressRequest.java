package dev.airlock.policy;

import dev.airlock.policy.address.IpAddress;
import java.util.List;

/**
 * One connection attempt, as the gateway sees it.
 *
 * @param host      the requested name or IP literal exactly as received (CONNECT authority, Host,
 *                  SNI, or the name this sandbox resolved); canonicalised by the engine
 * @param port      the destination port
 * @param addresses the candidate addresses the resolver returned; the gateway dials only these
 * @param aliases   every CNAME target met while resolving {@code host}, in order
 */
public record EgressRequest(String host, int port, List<IpAddress> addresses, List<String> aliases) {

    public EgressRequest {
        addresses = List.copyOf(addresses);
        aliases = List.copyOf(aliases);
    }

    public static EgressRequest of(String host, int port, List<IpAddress> addresses) {
        return new EgressRequest(host, port, addresses, List.of());
    }

    /** Before resolution: only the name gate can decide. */
    public static EgressRequest unresolved(String host, int port) {
        return new EgressRequest(host, port, List.of(), List.of());
    }
}
