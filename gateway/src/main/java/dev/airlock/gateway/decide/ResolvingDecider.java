package dev.airlock.gateway.decide;

import dev.airlock.gateway.resolve.Resolution;
import dev.airlock.gateway.resolve.Resolver;
import dev.airlock.policy.Decision;
import dev.airlock.policy.EgressRequest;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.Reason;
import java.util.Optional;

/**
 * The gateway's decision path, in the order Smokescreen taught: check the name gate, resolve only
 * if it passes, then decide again with every answer. {@code airlock policy explain} runs exactly
 * this, so what it prints is what the gateway would do.
 */
public final class ResolvingDecider {

    /** A decision, and the resolution behind it when the name was resolved. */
    public record Outcome(Decision decision, Optional<Resolution> resolution) {
    }

    private final PolicyEngine engine;
    private final Resolver resolver;

    public ResolvingDecider(PolicyEngine engine, Resolver resolver) {
        this.engine = engine;
        this.resolver = resolver;
    }

    public Outcome decide(String host, int port) {
        return switch (engine.screen(host, port)) {
            case PolicyEngine.Screening.Final f -> new Outcome(f.decision(), Optional.empty());
            case PolicyEngine.Screening.Resolve r -> {
                Resolution res = resolver.resolve(r.name());
                yield new Outcome(decide(engine, r.name(), port, res), Optional.of(res));
            }
        };
    }

    /** The address gate on one resolution: a failure denies as dns-failure. */
    public static Decision decide(PolicyEngine engine, String name, int port, Resolution res) {
        return switch (res) {
            case Resolution.Answer a -> engine.decide(new EgressRequest(name, port, a.addresses(), a.aliases()));
            case Resolution.Failure f -> Decision.denied(Reason.DNS_FAILURE, name, port,
                    name + ": " + f.kind().description + " (" + f.detail() + ")");
        };
    }
}
