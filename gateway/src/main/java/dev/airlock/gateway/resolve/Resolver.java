package dev.airlock.gateway.resolve;

/**
 * Resolves a canonical name. Injected everywhere the gateway needs addresses, so tests use a
 * hosts map or a fake and never the system DNS. Implementations must not throw: every problem is
 * a {@link Resolution.Failure}.
 */
@FunctionalInterface
public interface Resolver {

    Resolution resolve(String canonicalName);
}
