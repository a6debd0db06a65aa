package dev.airlock.sandbox;

/**
 * Ports on the host side that the sandbox's traffic is sent to. The gateway listens on
 * {@code 0.0.0.0:transparentTcp} with {@code IP_TRANSPARENT} (every TCP connection of the sandbox
 * is TPROXY'd there) and on {@code 0.0.0.0:dns}, UDP and TCP (the sandbox's port 53 on the host
 * link address is redirected there).
 */
public record GatewayPorts(int transparentTcp, int dns) {

    public GatewayPorts {
        if (transparentTcp < 1 || transparentTcp > 65535 || dns < 1 || dns > 65535) {
            throw new IllegalArgumentException("gateway ports must be 1-65535: transparentTcp=" + transparentTcp + " dns=" + dns);
        }
        if (transparentTcp == dns) {
            // DNS over TCP arrives on the dns port too: one port cannot be both listeners.
            throw new IllegalArgumentException("the transparent TCP port and the DNS port must differ: " + dns);
        }
    }
}
