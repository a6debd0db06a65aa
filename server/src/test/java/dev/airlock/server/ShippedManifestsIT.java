package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.k8s.ControlPlane;
import dev.airlock.k8s.ControlPlaneExtension;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The install manifests docs/kubernetes.md ships (rbac.yaml, daemon.yaml) are accepted by a real
 * kube-apiserver, hang together (the Deployment runs as the Role's account and mounts the ConfigMap
 * its --config names), and the ConfigMap's daemon.yaml is a configuration the daemon itself loads.
 */
@ExtendWith(ControlPlaneExtension.class)
class ShippedManifestsIT {

    private static final Path DOCS = Path.of("../docs/kubernetes");

    @Test
    void shippedManifests_areAcceptedByTheApiServerAndTheirConfigLoads(ControlPlane cp, @TempDir Path dir) throws Exception {
        KubernetesClient k = cp.admin();
        String ns = cp.newNamespace();
        List<HasMetadata> objects = new ArrayList<>();
        objects.addAll(load(k, DOCS.resolve("rbac.yaml"), ns));
        objects.addAll(load(k, DOCS.resolve("daemon.yaml"), ns));
        assertThat(objects).extracting(HasMetadata::getKind)
                .containsExactlyInAnyOrder("ServiceAccount", "Role", "RoleBinding", "ConfigMap", "Deployment", "Service", "NetworkPolicy");

        // Control: the API server does validate what this test sends; a Deployment whose selector misses its pods is refused.
        Deployment shipped = (Deployment) objects.stream().filter(o -> o instanceof Deployment).findFirst().orElseThrow();
        Deployment broken = k.getKubernetesSerialization().clone(shipped);
        broken.getSpec().getSelector().setMatchLabels(Map.of("app.kubernetes.io/name", "something-else"));
        assertThatThrownBy(() -> k.resource(broken).create()).isInstanceOf(KubernetesClientException.class)
                .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(422));

        for (HasMetadata o : objects) {
            k.resource(o).create();
        }

        Deployment d = k.apps().deployments().inNamespace(ns).withName("airlock-daemon").get();
        PodSpec pod = d.getSpec().getTemplate().getSpec();
        ServiceAccount account = k.serviceAccounts().inNamespace(ns).withName(pod.getServiceAccountName()).get();
        assertThat(account).as("the Deployment's account is rbac.yaml's").isNotNull();
        RoleBinding binding = k.rbac().roleBindings().inNamespace(ns).withName("airlock").get();
        assertThat(binding.getSubjects()).anySatisfy(s -> assertThat(s.getName()).isEqualTo(pod.getServiceAccountName()));
        assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();

        // --config names a file of the mounted ConfigMap
        List<String> args = pod.getContainers().get(0).getArgs();
        assertThat(args).containsSubsequence("daemon", "--config");
        Path configArg = Path.of(args.get(args.indexOf("--config") + 1));
        String mount = pod.getContainers().get(0).getVolumeMounts().stream().filter(m -> m.getName().equals("config")).findFirst()
                .orElseThrow().getMountPath();
        String mapName = pod.getVolumes().stream().filter(v -> v.getName().equals("config")).findFirst().orElseThrow().getConfigMap().getName();
        ConfigMap config = k.configMaps().inNamespace(ns).withName(mapName).get();
        assertThat(configArg.getParent()).isEqualTo(Path.of(mount));
        assertThat(config.getData()).containsKey(configArg.getFileName().toString());

        DaemonConfig daemon = loadMounted(config, mount, configArg.getFileName().toString(), dir);
        assertThat(daemon.backend()).isInstanceOfSatisfying(DaemonBackend.Kubernetes.class,
                b -> assertThat(b.kubeconfig()).as("inCluster: the pod's service account").isEmpty());
        // the daemon runs the image scripts/build-oci-image.sh tags with this version, and its gateways run the same one
        String daemonImage = pod.getContainers().get(0).getImage();
        assertThat(daemonImage).endsWith(":" + AirlockVersion.current());
        assertThat(((DaemonBackend.Kubernetes) daemon.backend()).gatewayImage()).as("kubernetes.image tagged with the version").isEqualTo(daemonImage);
        assertThat(daemon.org()).hasValueSatisfying(org -> assertThat(org).exists());
        assertThat(daemon.projects()).isNotEmpty().allSatisfy(p -> assertThat(p.policy()).as("each policy is a key of the ConfigMap").exists());

        // The gateway pods' audit records: auditUrl names the shipped Service, whose port leads to auditListen's port on the daemon's pod,
        // and the daemon's NetworkPolicy lets gateway pods (and nothing else) in on that port.
        DaemonBackend.AuditIngest ingest = ((DaemonBackend.Kubernetes) daemon.backend()).auditIngest().orElseThrow();
        io.fabric8.kubernetes.api.model.Service svc = k.services().inNamespace(ns).withName("airlock-daemon").get();
        assertThat(ingest.url().getHost()).isEqualTo(svc.getMetadata().getName() + ".airlock.svc");
        assertThat(svc.getSpec().getSelector()).isEqualTo(d.getSpec().getTemplate().getMetadata().getLabels());
        assertThat(svc.getSpec().getPorts()).singleElement().satisfies(p -> {
            assertThat(p.getPort()).isEqualTo(ingest.url().getPort());
            assertThat(p.getTargetPort().getIntVal()).isEqualTo(ingest.listen().getPort());
        });
        assertThat(pod.getContainers().get(0).getPorts()).extracting(io.fabric8.kubernetes.api.model.ContainerPort::getContainerPort)
                .containsExactly(ingest.listen().getPort());
        io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy np = k.network().v1().networkPolicies().inNamespace(ns).withName("airlock-daemon").get();
        assertThat(np.getSpec().getPodSelector().getMatchLabels()).isEqualTo(dev.airlock.k8s.ProjectManifests.DAEMON_POD_LABELS);
        assertThat(np.getSpec().getIngress()).singleElement().satisfies(r -> {
            assertThat(r.getFrom()).singleElement().satisfies(peer -> assertThat(peer.getPodSelector().getMatchLabels()).isEqualTo(Map.of("app", "airlock-gateway")));
            assertThat(r.getPorts()).singleElement().satisfies(p -> assertThat(p.getPort().getIntVal()).isEqualTo(ingest.listen().getPort()));
        });
    }

    @Test
    void exampleOverlay_kustomizeMovesEverythingToItsNamespaceAndRegistry_andTheApiServerAcceptsIt(ControlPlane cp, @TempDir Path dir)
            throws Exception {
        KubernetesClient k = cp.admin();
        String kubectl = kubectl();
        // the base renders the plain files unchanged (the control for what the overlay changes)
        List<HasMetadata> base = k.load(new java.io.ByteArrayInputStream(run(kubectl, "kustomize", DOCS.toString()))).items();
        assertThat(base).extracting(o -> o.getMetadata().getNamespace()).containsOnly("airlock");
        assertThat(deployment(base).getSpec().getTemplate().getSpec().getContainers().get(0).getImage())
                .isEqualTo("registry.example/airlock:" + AirlockVersion.current());

        List<HasMetadata> objects = k.load(new java.io.ByteArrayInputStream(run(kubectl, "kustomize", OVERLAY.toString()))).items();
        assertThat(objects).extracting(HasMetadata::getKind)
                .containsExactlyInAnyOrder("ServiceAccount", "Role", "RoleBinding", "ConfigMap", "Deployment", "Service", "NetworkPolicy");
        assertThat(objects).extracting(o -> o.getMetadata().getNamespace()).containsOnly("team-a");
        RoleBinding binding = (RoleBinding) objects.stream().filter(o -> o instanceof RoleBinding).findFirst().orElseThrow();
        assertThat(binding.getSubjects()).allSatisfy(sub -> assertThat(sub.getNamespace()).isEqualTo("team-a"));
        Deployment d = deployment(objects);
        String image = d.getSpec().getTemplate().getSpec().getContainers().get(0).getImage();
        assertThat(image).isEqualTo("registry.acme.dev/airlock:" + AirlockVersion.current());

        // the daemon configuration inside the ConfigMap agrees with what kustomize changed around it
        ConfigMap config = (ConfigMap) objects.stream().filter(o -> o instanceof ConfigMap).findFirst().orElseThrow();
        DaemonBackend.Kubernetes cluster = (DaemonBackend.Kubernetes) loadMounted(config, "/etc/airlock", "daemon.yaml", dir).backend();
        assertThat(cluster.namespace()).as("kubernetes.namespace").isEqualTo("team-a");
        assertThat(cluster.gatewayImage()).as("the gateways' image").isEqualTo(image);
        assertThat(cluster.auditIngest()).as("the gateways send their records to the daemon's Service in the overlay's namespace")
                .hasValueSatisfying(i -> assertThat(i.url().getHost()).isEqualTo("airlock-daemon.team-a.svc"));

        k.namespaces().resource(new io.fabric8.kubernetes.api.model.NamespaceBuilder().withNewMetadata().withName("team-a").endMetadata().build())
                .create();
        for (HasMetadata o : objects) {
            k.resource(o).create();
        }
        assertThat(k.apps().deployments().inNamespace("team-a").withName("airlock-daemon").get().getSpec().getTemplate().getSpec()
                .getContainers().get(0).getImage()).isEqualTo(image);
    }

    private static final Path OVERLAY = Path.of("../examples/kubernetes");

    private static Deployment deployment(List<HasMetadata> objects) {
        return (Deployment) objects.stream().filter(o -> o instanceof Deployment).findFirst().orElseThrow();
    }

    /** The daemon's own parser over the ConfigMap as it is mounted at {@code mount} (paths moved under {@code dir}). */
    private static DaemonConfig loadMounted(ConfigMap config, String mount, String configKey, Path dir) throws Exception {
        for (Map.Entry<String, String> file : config.getData().entrySet()) {
            Files.writeString(dir.resolve(file.getKey()), file.getValue().replace(mount + "/", dir + "/").replace("/var/lib/airlock", dir + "/state"));
        }
        return DaemonConfig.load(dir.resolve(configKey));
    }

    /** kubectl (KUBECTL or PATH; Debian's kubernetes-client has kustomize built in): skipped without it, a failure when CI=true. */
    private static String kubectl() {
        String env = System.getenv("KUBECTL");
        if (env != null && !env.isBlank()) {
            return env;
        }
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, "kubectl"))) {
                return Path.of(d, "kubectl").toString();
            }
        }
        String why = "kubectl is not installed (KUBECTL or PATH); it renders the kustomize overlay. Fix: apt-get install kubernetes-client";
        if ("true".equals(System.getenv("CI"))) {
            org.junit.jupiter.api.Assertions.fail(why);
        }
        org.junit.jupiter.api.Assumptions.abort(why);
        return null;
    }

    private static byte[] run(String... argv) throws Exception {
        Process p = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor()).as(String.join(" ", argv)).isZero();
        return out;
    }

    private static List<HasMetadata> load(KubernetesClient k, Path file, String ns) throws Exception {
        try (InputStream in = Files.newInputStream(file)) {
            List<HasMetadata> items = k.load(in).items();
            for (HasMetadata o : items) {
                o.getMetadata().setNamespace(ns);
                if (o instanceof RoleBinding b) {
                    b.getSubjects().forEach(s -> s.setNamespace(ns));
                }
            }
            return items;
        }
    }
}
