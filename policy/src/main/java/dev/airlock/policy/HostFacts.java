package dev.airlock.policy;

import dev.airlock.policy.address.HostAddresses;
import java.util.function.Supplier;

/**
 * What only the running host knows and a policy file cannot say: the host's own addresses and
 * the addresses of the production names. {@code policy} stays pure: the gateway reads the
 * interfaces and resolves the names, and hands the engine suppliers of immutable snapshots that
 * it swaps as they change; every decision reads the current snapshot.
 */
public record HostFacts(Supplier<HostAddresses> hostAddresses, Supplier<ProductionAddresses> productionAddresses) {

    /** Nothing known (pure checks, tests): the built-in and written sets still hold. */
    public static final HostFacts NONE = new HostFacts(() -> HostAddresses.NONE, () -> ProductionAddresses.NONE);

    public static HostFacts of(HostAddresses host, ProductionAddresses production) {
        return new HostFacts(() -> host, () -> production);
    }
}
