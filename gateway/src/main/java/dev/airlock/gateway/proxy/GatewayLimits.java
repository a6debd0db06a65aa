package dev.airlock.gateway.proxy;

import java.time.Duration;

/**
 * The gateway's limits (egress-cases F). Every one is finite: a sandbox cannot hold the gateway's
 * memory, sockets or threads hostage.
 *
 * @param tunnelsPerSandbox open connections one sandbox may hold (a runaway loop stops here)
 * @param tunnelsTotal      open connections across all sandboxes (file descriptors are finite)
 * @param headerReadTimeout time to send a complete request head (slowloris)
 * @param idleTimeout       a tunnel with no bytes either way for this long is closed
 * @param connectTimeout    upstream connect; a black hole answers 504 after this
 * @param maxHeaderBytes    request head size (initial line and headers each)
 * @param maxResolutions    concurrent name resolutions (bounded DNS concurrency)
 */
public record GatewayLimits(int tunnelsPerSandbox, int tunnelsTotal, Duration headerReadTimeout, Duration idleTimeout,
        Duration connectTimeout, int maxHeaderBytes, int maxResolutions) {

    public static final GatewayLimits DEFAULT = new GatewayLimits(
            512,                       // generous for parallel package installs, far below fd limits
            20_000,                    // well under a 64k-fd process limit, leaves room for upstreams
            Duration.ofSeconds(10),    // real clients send a head in milliseconds
            Duration.ofMinutes(10),    // long builds stream logs; idle ssh sessions are the edge
            Duration.ofSeconds(10),    // same order as curl's default connect timeout
            8 * 1024,                  // egress-cases F: a header over 8 KiB is refused
            64);                       // DNS is I/O-bound; 64 in flight saturates a resolver

    public GatewayLimits {
        if (tunnelsPerSandbox < 1 || tunnelsTotal < 1 || maxHeaderBytes < 1024 || maxResolutions < 1) {
            throw new IllegalArgumentException("limits must be positive");
        }
    }
}
