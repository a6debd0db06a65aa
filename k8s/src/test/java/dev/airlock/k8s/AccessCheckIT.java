package dev.airlock.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.k8s.ProjectApplier.AppliedProject;
import dev.airlock.policy.model.ProjectPolicy.Resources;
import dev.airlock.pool.warm.PoolListener;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.SubjectBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The documented Role is enough: an account bound to it and nothing else applies a project and runs its pool. */
@ExtendWith(ControlPlaneExtension.class)
class AccessCheckIT {

    @Test
    void anAccountBoundToTheShippedRole_appliesAProjectAndRunsItsPool(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient admin = cp.admin();
        try (KubernetesClient restricted = KubeClients.connect(Optional.of(cp.restrictedKubeconfig()))) {
            // Control: without the binding the account may do nothing of it.
            assertThat(AccessCheck.missing(restricted, ns)).contains("create configmaps", "watch pods");

            List<HasMetadata> shipped;
            try (InputStream in = Files.newInputStream(Path.of("../docs/kubernetes/rbac.yaml"))) {
                shipped = admin.load(in).items();
            }
            for (HasMetadata o : shipped) {
                o.getMetadata().setNamespace(ns);
                if (o instanceof RoleBinding b) {
                    b.setSubjects(List.of(new SubjectBuilder().withKind("User").withApiGroup("rbac.authorization.k8s.io")
                            .withName(ControlPlane.RESTRICTED_USER).build()));
                }
                admin.resource(o).create();
            }

            assertThat(AccessCheck.missing(restricted, ns)).isEmpty();
            AppliedProject applied = new ProjectApplier(restricted).apply(Fixtures.manifests(ns));
            try (PodPool pool = new PodPool(restricted, applied.agentPods(Fixtures.settings(ns), Resources.DEFAULT), 2, PoolListener.NONE,
                    Clock.systemUTC())) {
                pool.start();
                PodPoolIT.await("2 members made by the restricted account", () -> pool.figures().warming() == 2);
            }
        }
    }
}
