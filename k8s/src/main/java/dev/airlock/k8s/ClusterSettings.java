package dev.airlock.k8s;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Where and with what a project runs in a cluster: the namespace its objects live in, the image
 * that runs {@code airlock gateway}, and the image of the agent pods (the devbox).
 */
public record ClusterSettings(String namespace, String gatewayImage, String agentImage) {

    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

    public ClusterSettings {
        Objects.requireNonNull(gatewayImage, "gatewayImage");
        Objects.requireNonNull(agentImage, "agentImage");
        if (namespace == null || !LABEL.matcher(namespace).matches()) {
            throw new IllegalArgumentException("namespace \"" + namespace
                    + "\" is not an RFC 1123 label: use lower-case letters, digits and '-', at most 63 characters");
        }
        if (gatewayImage.isBlank() || agentImage.isBlank()) {
            throw new IllegalArgumentException("the gateway and agent images must be named (for example registry.acme.dev/airlock:0.1.0)");
        }
    }
}
