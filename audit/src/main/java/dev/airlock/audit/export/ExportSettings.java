package dev.airlock.audit.export;

import dev.airlock.audit.k8s.PodLabels;
import java.util.Objects;

/**
 * Where the exported rules apply: the agent pods and the egress gateway pods (Kubernetes forms), and
 * the gateway's ports. The nftables form uses only the two gateway ports, as the example values a
 * real sandbox replaces with the ports its gateway listens on.
 */
public record ExportSettings(String namespace, PodLabels pods, String gatewayNamespace, PodLabels gatewayPods, int proxyPort,
        int transparentPort, int dnsPort) {

    public static final String DEFAULT_NAMESPACE = "default";
    public static final String DEFAULT_PODS = "app=airlock-agent";
    public static final String DEFAULT_GATEWAY_PODS = "app=airlock-gateway";
    /** The explicit proxy port HTTP_PROXY names, as `airlock run` sets it. */
    public static final int DEFAULT_PROXY_PORT = 3128;
    /** Example transparent (TPROXY) listener port; `airlock run` picks a free one at start. */
    public static final int DEFAULT_TRANSPARENT_PORT = 15001;
    /** Example DNS responder port on the host; the sandbox's port 53 is redirected there. */
    public static final int DEFAULT_HOST_DNS_PORT = 15053;
    /** In a cluster the gateway pods serve DNS on the standard port. */
    public static final int DEFAULT_POD_DNS_PORT = 53;

    public ExportSettings {
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(pods, "pods");
        Objects.requireNonNull(gatewayNamespace, "gatewayNamespace");
        Objects.requireNonNull(gatewayPods, "gatewayPods");
        for (int p : new int[] {proxyPort, transparentPort, dnsPort}) {
            if (p < 1 || p > 65535) {
                throw new IllegalArgumentException("port " + p + " is not 1-65535");
            }
        }
        if (!K8sNames.isLabel(namespace) || !K8sNames.isLabel(gatewayNamespace)) {
            throw new IllegalArgumentException("a namespace is an RFC 1123 label (lower-case letters, digits and '-', at most 63): "
                    + (K8sNames.isLabel(namespace) ? gatewayNamespace : namespace));
        }
    }

    /** The defaults for {@code format}; only the DNS port differs (host responder against pod port 53). */
    public static ExportSettings defaults(ExportFormat format) {
        return new ExportSettings(DEFAULT_NAMESPACE, PodLabels.parse(DEFAULT_PODS), DEFAULT_NAMESPACE, PodLabels.parse(DEFAULT_GATEWAY_PODS),
                DEFAULT_PROXY_PORT, DEFAULT_TRANSPARENT_PORT, format == ExportFormat.NFTABLES ? DEFAULT_HOST_DNS_PORT : DEFAULT_POD_DNS_PORT);
    }
}
