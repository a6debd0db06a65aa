package dev.airlock.k8s;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Opens a client from a kubeconfig file, or from the pod's service account when Airlock itself runs
 * in the cluster, and proves the API server answers before anything is applied.
 */
public final class KubeClients {

    /** Short, so a wrong address fails in seconds instead of after the client's default retries. */
    private static final int CONNECT_TIMEOUT_MS = 5_000;
    private static final int REQUEST_TIMEOUT_MS = 15_000;

    private KubeClients() {
    }

    /**
     * A client that has answered {@code /version}. {@code kubeconfig} empty means in-cluster (the
     * service account's token and CA); a missing or broken file, or an API server that does not
     * answer, is an error that names the file, the server and the fix.
     */
    public static KubernetesClient connect(Optional<Path> kubeconfig) throws KubeBackendException {
        Config config = config(kubeconfig);
        config.setConnectionTimeout(CONNECT_TIMEOUT_MS);
        config.setRequestTimeout(REQUEST_TIMEOUT_MS);
        config.setRequestRetryBackoffLimit(0);
        KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build();
        try {
            client.getKubernetesVersion();
            return client;
        } catch (KubernetesClientException e) {
            client.close();
            String from = kubeconfig.map(p -> "kubeconfig " + p).orElse("the in-cluster service account");
            throw new KubeBackendException(KubeErrors.explain(e, "reach the Kubernetes API server at " + config.getMasterUrl() + " (from " + from + ")"), e);
        }
    }

    private static Config config(Optional<Path> kubeconfig) throws KubeBackendException {
        if (kubeconfig.isEmpty()) {
            if (!Files.isReadable(Path.of("/var/run/secrets/kubernetes.io/serviceaccount/token"))) {
                throw new KubeBackendException("no kubeconfig was given and this is not a pod with a service account: "
                        + "set kubernetes.kubeconfig in the daemon config (or run the daemon in the cluster with its service account)");
            }
            return Config.autoConfigure(null);
        }
        Path file = kubeconfig.get();
        try {
            Files.readString(file, StandardCharsets.UTF_8); // unreadable: our error, naming the setting, before the client's own
        } catch (IOException e) {
            throw new KubeBackendException(file + ": cannot read the kubeconfig (" + e.getMessage() + "): check kubernetes.kubeconfig in the daemon config");
        }
        try {
            return Config.fromKubeconfig(null, file.toAbsolutePath().toFile());
        } catch (RuntimeException e) {
            throw new KubeBackendException(file + ": not a usable kubeconfig (" + e.getMessage()
                    + "): give a file as `kubectl config view --raw` prints it, with a current-context", e);
        }
    }
}
