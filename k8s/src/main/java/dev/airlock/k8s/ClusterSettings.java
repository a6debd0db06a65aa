package dev.airlock.k8s;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Where and with what a project runs in a cluster: the namespace its objects live in, the image
 * that runs {@code airlock gateway}, the image of the agent pods (the devbox), and the cluster's
 * pod CIDR, from which the gateway answers DNS ({@code --dns-clients}); without it the gateway
 * answers no pod's DNS (it cannot know pod addresses one by one), so lookups fail closed.
 */
public record ClusterSettings(String namespace, String gatewayImage, String agentImage, java.util.Optional<String> podCidr,
        java.util.Optional<AuditForward> auditForward) {

    /** Without a pod CIDR: the agent pods' DNS lookups are refused. */
    public ClusterSettings(String namespace, String gatewayImage, String agentImage) {
        this(namespace, gatewayImage, agentImage, java.util.Optional.empty());
    }

    /** Without audit forwarding: each gateway pod's records stay in its own log. */
    public ClusterSettings(String namespace, String gatewayImage, String agentImage, java.util.Optional<String> podCidr) {
        this(namespace, gatewayImage, agentImage, podCidr, java.util.Optional.empty());
    }

    /**
     * The gateway pods forward their audit records to the daemon's chain: {@code url} is the
     * daemon's https ingest endpoint as the pods reach it (a Service), {@code daemonPort} the port the
     * daemon's pod takes them on (which the gateway's NetworkPolicy opens, towards the daemon's pods only),
     * and {@code caPem} the CA certificate (PEM, never a key) the gateway pods trust for it, and only it.
     */
    public record AuditForward(java.net.URI url, int daemonPort, String caPem) {
        public AuditForward {
            Objects.requireNonNull(url, "url");
            if (!"https".equals(url.getScheme())) {
                throw new IllegalArgumentException("the audit ingest URL " + url + " is not https: the token and records would cross the network in clear");
            }
            if (caPem == null || !caPem.contains("-----BEGIN CERTIFICATE-----") || caPem.contains("PRIVATE KEY")) {
                throw new IllegalArgumentException("the gateway pods' audit CA must be PEM certificates and nothing else (never a key)");
            }
            if (daemonPort < 1 || daemonPort > 65535) {
                throw new IllegalArgumentException("the daemon's audit port " + daemonPort + " is not 1-65535");
            }
        }
    }

    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

    public ClusterSettings {
        Objects.requireNonNull(gatewayImage, "gatewayImage");
        Objects.requireNonNull(agentImage, "agentImage");
        if (namespace == null || !LABEL.matcher(namespace).matches()) {
            throw new IllegalArgumentException("namespace \"" + namespace
                    + "\" is not an RFC 1123 label: use lower-case letters, digits and '-', at most 63 characters");
        }
        Objects.requireNonNull(podCidr, "podCidr");
        Objects.requireNonNull(auditForward, "auditForward");
        if (podCidr.isPresent() && dev.airlock.policy.address.Cidr.parse(podCidr.get()).isEmpty()) {
            throw new IllegalArgumentException("podCidr \"" + podCidr.get() + "\" is not a CIDR: write the cluster's pod network, such as 10.244.0.0/16");
        }
        if (gatewayImage.isBlank() || agentImage.isBlank()) {
            throw new IllegalArgumentException("the gateway and agent images must be named (for example registry.acme.dev/airlock:0.1.0)");
        }
    }
}
