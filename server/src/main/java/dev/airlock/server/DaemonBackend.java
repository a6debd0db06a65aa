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
     * account ({@code inCluster: true}); every project's objects live in {@code namespace}. A claim
     * with no Ready pod waits up to {@code coldStartTimeout} for the pod it starts.
     */
    record Kubernetes(Optional<Path> kubeconfig, String namespace, String gatewayImage, String agentImage, Optional<String> podCidr,
            Optional<AuditIngest> auditIngest, java.time.Duration coldStartTimeout) implements DaemonBackend {

        /** {@code kubernetes.coldStartTimeout} when it is not given. */
        public static final java.time.Duration COLD_START_TIMEOUT = dev.airlock.k8s.PodPool.COLD_START_TIMEOUT;

        /** Cold claims wait {@link #COLD_START_TIMEOUT}. */
        public Kubernetes(Optional<Path> kubeconfig, String namespace, String gatewayImage, String agentImage, Optional<String> podCidr,
                Optional<AuditIngest> auditIngest) {
            this(kubeconfig, namespace, gatewayImage, agentImage, podCidr, auditIngest, COLD_START_TIMEOUT);
        }

        /** Without a pod CIDR: the gateway answers no pod's DNS. */
        public Kubernetes(Optional<Path> kubeconfig, String namespace, String gatewayImage, String agentImage) {
            this(kubeconfig, namespace, gatewayImage, agentImage, Optional.empty());
        }

        /** Without audit ingest: the gateway pods' records stay in their pods. */
        public Kubernetes(Optional<Path> kubeconfig, String namespace, String gatewayImage, String agentImage, Optional<String> podCidr) {
            this(kubeconfig, namespace, gatewayImage, agentImage, podCidr, Optional.empty());
        }

        public Kubernetes {
            Objects.requireNonNull(auditIngest, "auditIngest");
            Objects.requireNonNull(podCidr, "podCidr");
            Objects.requireNonNull(kubeconfig, "kubeconfig");
            Objects.requireNonNull(namespace, "namespace");
            Objects.requireNonNull(gatewayImage, "gatewayImage");
            Objects.requireNonNull(agentImage, "agentImage");
            Objects.requireNonNull(coldStartTimeout, "coldStartTimeout");
            if (coldStartTimeout.isNegative() || coldStartTimeout.isZero()) {
                throw new IllegalArgumentException("coldStartTimeout " + coldStartTimeout + " is not positive");
            }
        }

        public boolean inCluster() {
            return kubeconfig.isEmpty();
        }
    }

    /**
     * Where the daemon takes the gateway pods' audit records ({@code kubernetes.auditListen}), the
     * https URL the gateway pods send them to ({@code kubernetes.auditUrl}: a Service in front of
     * it), and the {@code kubernetes.io/tls} Secret whose certificate the daemon serves there
     * ({@code kubernetes.auditTls.secret}); without one the daemon makes its own CA ({@link IngestTls}).
     */
    record AuditIngest(java.net.InetSocketAddress listen, java.net.URI url, Optional<String> tlsSecret) {
        public AuditIngest {
            Objects.requireNonNull(listen, "listen");
            Objects.requireNonNull(url, "url");
            Objects.requireNonNull(tlsSecret, "tlsSecret");
        }

        /** With the daemon's own CA. */
        public AuditIngest(java.net.InetSocketAddress listen, java.net.URI url) {
            this(listen, url, Optional.empty());
        }
    }

    DaemonBackend LOCAL = new Local();
}
