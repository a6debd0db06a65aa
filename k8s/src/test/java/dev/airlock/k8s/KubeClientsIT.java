package dev.airlock.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceQuotaBuilder;
import io.fabric8.kubernetes.api.model.ResourceQuotaStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Connecting to a real API server, and the errors when it is not there or refuses a write. */
@ExtendWith(ControlPlaneExtension.class)
class KubeClientsIT {

    @Test
    void connect_whenNothingListensAtTheServerAddress_saysSoWithTheFix(ControlPlane cp, @TempDir Path tmp) throws Exception {
        // Positive control: the same kubeconfig with the real port connects.
        try (KubernetesClient ok = KubeClients.connect(Optional.of(cp.kubeconfig()))) {
            assertThat(ok.getKubernetesVersion().getGitVersion()).startsWith("v1.");
        }
        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        String text = Files.readString(cp.kubeconfig()).replace(cp.url(), "https://127.0.0.1:" + closed);
        Path broken = Files.writeString(tmp.resolve("kubeconfig"), text);

        assertThatThrownBy(() -> KubeClients.connect(Optional.of(broken)))
                .isInstanceOf(KubeBackendException.class)
                .hasMessageContaining("https://127.0.0.1:" + closed)
                .hasMessageContaining("kubeconfig " + broken)
                .hasMessageContaining("nothing answers there")
                .hasMessageContaining("Fix: check that the cluster is running");
    }

    @Test
    void connect_withATokenTheServerDoesNotKnow_saysToRenewTheCredentials(ControlPlane cp, @TempDir Path tmp) throws Exception {
        String text = Files.readString(cp.kubeconfig()).replaceAll("token: \"[0-9a-f]+\"", "token: \"not-a-known-token\"");
        Path wrong = Files.writeString(tmp.resolve("kubeconfig"), text);

        assertThatThrownBy(() -> KubeClients.connect(Optional.of(wrong)))
                .isInstanceOf(KubeBackendException.class)
                .hasMessageContaining("did not accept the credentials")
                .hasMessageContaining("Fix: renew the token");
    }

    @Test
    void apply_whenTheApiServerRefusesAnObjectPartWay_deletesWhatItCreated(ControlPlane cp) throws Exception {
        KubernetesClient k = cp.admin();
        // Positive control: with a valid gateway image the project applies.
        String ok = cp.newNamespace();
        new ProjectApplier(k).apply(Fixtures.manifests(ok));
        assertThat(k.configMaps().inNamespace(ok).withName("airlock-payments-policy").get()).isNotNull();

        String ns = cp.newNamespace();
        // A quota of no Deployments: the API server refuses the gateway after the ConfigMap and ServiceAccount were applied.
        k.resourceQuotas().inNamespace(ns).resource(new ResourceQuotaBuilder().withNewMetadata().withName("no-deployments").endMetadata()
                .withNewSpec().addToHard("count/deployments.apps", new Quantity("0")).endSpec().build()).create();
        k.resourceQuotas().inNamespace(ns).withName("no-deployments").editStatus(q -> {
            q.setStatus(new ResourceQuotaStatusBuilder().addToHard("count/deployments.apps", new Quantity("0"))
                    .addToUsed("count/deployments.apps", new Quantity("0")).build());
            return q;
        });
        ProjectManifests m = Fixtures.manifests(ns);

        assertThatThrownBy(() -> new ProjectApplier(k).apply(m))
                .isInstanceOf(KubeBackendException.class)
                .hasMessageContaining("ResourceQuota")
                .hasMessageContaining("deleted again");
        assertThat(k.configMaps().inNamespace(ns).withName("airlock-payments-policy").get()).isNull();
        assertThat(k.serviceAccounts().inNamespace(ns).withName("airlock-payments").get()).isNull();
        assertThat(k.apps().deployments().inNamespace(ns).list().getItems()).isEmpty();
    }
}
