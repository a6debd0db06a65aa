package dev.airlock.k8s;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KubeClientsTest {

    @Test
    void connect_missingKubeconfig_namesTheFileAndTheSetting(@TempDir Path tmp) {
        Path missing = tmp.resolve("nope.kubeconfig");
        assertThatThrownBy(() -> KubeClients.connect(Optional.of(missing)))
                .isInstanceOf(KubeBackendException.class)
                .hasMessageStartingWith(missing + ": cannot read the kubeconfig")
                .hasMessageContaining("kubernetes.kubeconfig");
    }

    @Test
    void connect_kubeconfigThatIsNotOne_saysHowToWriteIt(@TempDir Path tmp) throws Exception {
        Path garbage = Files.writeString(tmp.resolve("kubeconfig"), "clusters: [unclosed\n");
        assertThatThrownBy(() -> KubeClients.connect(Optional.of(garbage)))
                .isInstanceOf(KubeBackendException.class)
                .hasMessageStartingWith(garbage + ": not a usable kubeconfig")
                .hasMessageContaining("kubectl config view --raw");
    }
}
