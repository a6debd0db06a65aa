package dev.airlock.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.policy.load.PolicyException;
import dev.airlock.pool.warm.PoolListener;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The daemon's projects, from policy files on disk, on a real API server. */
@ExtendWith(ControlPlaneExtension.class)
class KubernetesBackendIT {

    private static final String WEB = "version: 1\nproject: web\nnetwork:\n  allow: [registry.npmjs.org]\n";

    @Test
    void start_appliesEveryProjectAndKeepsItsPool_reloadRotatesOnChange_brokenFileKeepsThePolicy(ControlPlane cp, @TempDir Path dir)
            throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        Path payments = Files.writeString(dir.resolve("payments.yaml"), Fixtures.PROJECT_YAML);
        Path web = Files.writeString(dir.resolve("web.yaml"), WEB);
        Path org = Files.writeString(dir.resolve("org.yaml"), Fixtures.ORG_YAML);
        try (KubernetesBackend backend = KubernetesBackend.start(k, Fixtures.settings(ns), Optional.of(org),
                List.of(new KubernetesBackend.Project(payments, 2), new KubernetesBackend.Project(web, 1)), PoolListener.NONE, Clock.systemUTC())) {
            PodPoolIT.await("both pools made their members", () -> backend.status().get("payments").warming() == 2
                    && backend.status().get("web").warming() == 1);
            PodPoolIT.markAllReady(k, ns);
            PodPoolIT.await("ready", () -> backend.status().get("payments").ready() == 2 && backend.status().get("web").ready() == 1);
            assertThat(backend.status()).containsOnlyKeys("payments", "web");
            assertThat(k.configMaps().inNamespace(ns).withName("airlock-web-policy").get().getData()).containsEntry("airlock.yaml", WEB);
            assertThat(backend.claim("web", "c1", new java.util.concurrent.CompletableFuture<>()).warm()).isTrue();
            PodPoolIT.await("web refilled", () -> backend.status().get("web").warming() == 1 && backend.status().get("web").inUse() == 1);

            String changed = Fixtures.PROJECT_YAML.replace("    - github.com\n", "    - github.com\n    - pypi.org\n");
            Files.writeString(payments, changed);
            backend.reload("payments");
            assertThat(k.configMaps().inNamespace(ns).withName("airlock-payments-policy").get().getData()).containsEntry("airlock.yaml", changed);
            PodPoolIT.await("payments rotated", () -> backend.status().get("payments").warming() == 2
                    && k.pods().inNamespace(ns).withLabel("airlock.dev/project", "payments").list().getItems().size() == 2);

            Files.writeString(payments, changed + "  bogus: 1\n");
            assertThatThrownBy(() -> backend.reload("payments")).isInstanceOf(PolicyException.class).hasMessageContaining(payments.toString());
            assertThat(k.configMaps().inNamespace(ns).withName("airlock-payments-policy").get().getData()).containsEntry("airlock.yaml", changed);
        }
    }

    @Test
    void start_withAuditForwarding_makesOneTokenPerProject_andARestartKeepsIt(ControlPlane cp, @TempDir Path dir) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        Path payments = Files.writeString(dir.resolve("payments.yaml"), Fixtures.PROJECT_YAML);
        Path web = Files.writeString(dir.resolve("web.yaml"), WEB);
        String first;
        try (KubernetesBackend backend = KubernetesBackend.start(k, Fixtures.forwarding(ns), Optional.empty(),
                List.of(new KubernetesBackend.Project(payments, 0), new KubernetesBackend.Project(web, 0)), PoolListener.NONE, Clock.systemUTC())) {
            assertThat(backend.auditTokens()).containsOnlyKeys("payments", "web");
            first = backend.auditTokens().get("payments");
            assertThat(first).matches("[0-9a-f]{64}").isNotEqualTo(backend.auditTokens().get("web"));
            String stored = new String(java.util.Base64.getDecoder().decode(
                    k.secrets().inNamespace(ns).withName("airlock-payments-audit-token").get().getData().get("token")));
            assertThat(stored).isEqualTo(first);
        }
        try (KubernetesBackend restarted = KubernetesBackend.start(k, Fixtures.forwarding(ns), Optional.empty(),
                List.of(new KubernetesBackend.Project(payments, 0)), PoolListener.NONE, Clock.systemUTC())) {
            assertThat(restarted.auditTokens().get("payments")).isEqualTo(first); // running gateway pods keep working
        }
        // control: a backend that does not forward makes no Secret
        String other = cp.newNamespace();
        try (KubernetesBackend plain = KubernetesBackend.start(k, Fixtures.settings(other), Optional.empty(),
                List.of(new KubernetesBackend.Project(web, 0)), PoolListener.NONE, Clock.systemUTC())) {
            assertThat(plain.auditTokens()).isEmpty();
            assertThat(k.secrets().inNamespace(other).list().getItems()).noneMatch(s -> s.getMetadata().getName().startsWith("airlock-"));
        }
    }

    @Test
    void start_twoFilesNamingOneProject_appliesNothing(ControlPlane cp, @TempDir Path dir) throws Exception {
        String ns = cp.newNamespace();
        Path a = Files.writeString(dir.resolve("a.yaml"), WEB);
        Path b = Files.writeString(dir.resolve("b.yaml"), WEB);

        assertThatThrownBy(() -> KubernetesBackend.start(cp.admin(), Fixtures.settings(ns), Optional.empty(),
                List.of(new KubernetesBackend.Project(a, 1), new KubernetesBackend.Project(b, 1)), PoolListener.NONE, Clock.systemUTC()))
                .isInstanceOf(KubeBackendException.class)
                .hasMessageContaining(b + ": project web is also the project of " + a)
                .hasMessageContaining("Nothing was applied");
        assertThat(cp.admin().configMaps().inNamespace(ns).list().getItems()).noneMatch(c -> c.getMetadata().getName().startsWith("airlock-"));
    }
}
