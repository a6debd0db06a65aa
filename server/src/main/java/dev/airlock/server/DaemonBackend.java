package dev.airlock.server;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * Where the daemon's sandboxes run ({@code backend:} in the daemon's configuration): on this host
 * (bubblewrap, netns, nftables), or as pods of a Kubernetes cluster (docs/kubernetes.md).
 */
public sealed interface DaemonBackend {

    /** This host's kernel: the default. */
    record Local() implements DaemonBackend {
    }

    /**
     * A cluster: reached through {@code kubeconfig}, or, when it is empty, the pod's own service
     * account ({@code inCluster: true}); every project's objects live in {@code namespace}.
     */
    record Kubernetes(Optional<Path> kubeconfig, String namespace, String gatewayImage, String agentImage, Optional<String> podCidr)
            implements DaemonBackend {

        /** Without a pod CIDR: the gateway answers no pod's DNS. */
        public Kubernetes(Optional<Path> kubeconfig, String namespace, String gatewayImage, String agentImage) {
            this(kubeconfig, namespace, gatewayImage, agentImage, Optional.empty());
        }

        public Kubernetes {
            Objects.requireNonNull(podCidr, "podCidr");
            Objects.requireNonNull(kubeconfig, "kubeconfig");
            Objects.requireNonNull(namespace, "namespace");
            Objects.requireNonNull(gatewayImage, "gatewayImage");
            Objects.requireNonNull(agentImage, "agentImage");
        }

        public boolean inCluster() {
            return kubeconfig.isEmpty();
        }
    }

    DaemonBackend LOCAL = new Local();
}
