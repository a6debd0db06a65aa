package dev.airlock.audit.export;

import java.util.Locale;

/** The forms {@code airlock policy export} writes. */
public enum ExportFormat {
    /** The nftables rules Airlock applies to a sandbox, exactly. */
    NFTABLES,
    /** networking.k8s.io/v1 NetworkPolicies for agent pods and the egress gateway. */
    K8S,
    /** A cilium.io/v2 CiliumNetworkPolicy with toFQDNs allows and production CIDRs denied. */
    CILIUM;

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static ExportFormat parse(String s) {
        for (ExportFormat f : values()) {
            if (f.label().equals(s)) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown format \"" + s + "\": use nftables, k8s or cilium");
    }
}
