package dev.airlock.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.k8s.ProjectApplier.AppliedProject;
import dev.airlock.policy.model.ProjectPolicy.Resources;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A project's objects applied to a real kube-apiserver, read back from it. */
@ExtendWith(ControlPlaneExtension.class)
class ProjectApplierIT {

    @Test
    void apply_withAuditForwarding_tokenSecretAndCaAreMountedIntoTheGatewayOnly_andItsPolicyOpensTheDaemonPort(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        AppliedProject applied = new ProjectApplier(k).apply(Fixtures.forwardingManifests(ns));

        io.fabric8.kubernetes.api.model.Secret secret = k.secrets().inNamespace(ns).withName("airlock-payments-audit-token").get();
        ConfigMap policy = k.configMaps().inNamespace(ns).withName("airlock-payments-policy").get();
        assertThat(secret.getMetadata().getLabels()).containsEntry("app.kubernetes.io/managed-by", "airlock").containsEntry("airlock.dev/project", "payments");
        assertThat(secret.getMetadata().getOwnerReferences()).singleElement().satisfies(r -> assertThat(r.getUid()).isEqualTo(policy.getMetadata().getUid()));
        assertThat(new String(java.util.Base64.getDecoder().decode(secret.getData().get("token")))).isEqualTo(Fixtures.AUDIT_TOKEN);

        io.fabric8.kubernetes.api.model.PodSpec gw = k.apps().deployments().inNamespace(ns).withName("airlock-payments-gateway").get()
                .getSpec().getTemplate().getSpec();
        Container g = gw.getContainers().get(0);
        assertThat(g.getArgs()).containsSubsequence("--audit-forward", Fixtures.AUDIT_URL, "--audit-token-file", "/var/run/airlock/audit-token/token",
                "--audit-ca-file", "/var/run/airlock/audit-ca/ca.crt", "--audit-source", "$(POD_NAME)");
        assertThat(Fixtures.AUDIT_URL).startsWith("https://");

        // The CA the gateway trusts for the ingest: its certificate alone, in a ConfigMap owned like the rest, mounted read-only.
        ConfigMap ca = k.configMaps().inNamespace(ns).withName("airlock-payments-audit-ca").get();
        assertThat(ca.getData()).containsOnlyKeys("ca.crt").containsEntry("ca.crt", Fixtures.AUDIT_CA_PEM);
        assertThat(ca.getData().get("ca.crt")).doesNotContain("PRIVATE KEY");
        assertThat(ca.getMetadata().getOwnerReferences()).singleElement().satisfies(r -> assertThat(r.getUid()).isEqualTo(policy.getMetadata().getUid()));
        assertThat(gw.getVolumes()).filteredOn(v -> v.getConfigMap() != null && v.getConfigMap().getName().equals("airlock-payments-audit-ca")).hasSize(1);
        assertThat(g.getVolumeMounts()).anySatisfy(m -> {
            assertThat(m.getName()).isEqualTo("audit-ca");
            assertThat(m.getMountPath()).isEqualTo("/var/run/airlock/audit-ca");
            assertThat(m.getReadOnly()).isTrue();
            assertThat(m.getSubPath()).isNull();
        });
        assertThat(g.getEnv()).singleElement().satisfies(e -> {
            assertThat(e.getName()).isEqualTo("POD_NAME");
            assertThat(e.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("metadata.name");
        });
        assertThat(gw.getVolumes()).filteredOn(v -> v.getSecret() != null).singleElement().satisfies(v -> {
            assertThat(v.getSecret().getSecretName()).isEqualTo("airlock-payments-audit-token");
            assertThat(v.getSecret().getDefaultMode()).isEqualTo(0440);
        });
        assertThat(g.getVolumeMounts()).anySatisfy(m -> {
            assertThat(m.getMountPath()).isEqualTo("/var/run/airlock/audit-token");
            assertThat(m.getReadOnly()).isTrue();
        });
        assertThat(gw.getSecurityContext().getFsGroup()).isEqualTo(65532L);

        // An agent pod mounts no Secret and names no token (its own NetworkPolicy keeps it off the daemon, below).
        Pod agent = applied.agentPods(Fixtures.forwarding(ns), Resources.DEFAULT).newMember();
        assertThat(agent.getSpec().getVolumes()).noneMatch(v -> v.getSecret() != null || v.getProjected() != null);
        assertThat(k.getKubernetesSerialization().asJson(agent)).doesNotContain("audit-token").doesNotContain(Fixtures.AUDIT_TOKEN)
                .doesNotContain("audit-ca");

        List<NetworkPolicy> policies = k.network().v1().networkPolicies().inNamespace(ns).list().getItems();
        NetworkPolicy gatewayPolicy = policies.stream().filter(p -> p.getMetadata().getName().endsWith("-gateway")).findFirst().orElseThrow();
        assertThat(gatewayPolicy.getSpec().getEgress()).hasSize(2).last().satisfies(r -> {
            assertThat(r.getTo()).singleElement().satisfies(peer -> {
                assertThat(peer.getPodSelector().getMatchLabels()).isEqualTo(Map.of("app.kubernetes.io/name", "airlock-daemon"));
                assertThat(peer.getIpBlock()).isNull();
            });
            assertThat(r.getPorts()).extracting(p -> p.getProtocol() + "/" + p.getPort().getIntVal()).containsExactly("TCP/7071");
        });
        // control: without forwarding the gateway's policy is the exporter's alone, and the agents' policy is the same either way
        ProjectManifests plain = Fixtures.manifests(ns);
        NetworkPolicy plainGateway = plain.networkPolicies().stream().filter(p -> p.getMetadata().getName().endsWith("-gateway")).findFirst().orElseThrow();
        assertThat(plainGateway.getSpec().getEgress()).hasSize(1);
        assertThat(plain.auditToken()).isEmpty();
        assertThat(plain.auditCa()).isEmpty();
        assertThat(plain.gateway().getSpec().getTemplate().getSpec().getContainers().get(0).getArgs()).doesNotContain("--audit-ca-file");
        NetworkPolicy agents = policies.stream().filter(p -> p.getMetadata().getName().endsWith("-agents")).findFirst().orElseThrow();
        NetworkPolicy plainAgents = plain.networkPolicies().stream().filter(p -> p.getMetadata().getName().endsWith("-agents")).findFirst().orElseThrow();
        assertThat(agents.getSpec()).isEqualTo(plainAgents.getSpec());
    }

    @Test
    void apply_createsManagedOwnedObjectsWithExpectedSpecs(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        AppliedProject applied = new ProjectApplier(k).apply(Fixtures.manifests(ns));

        ConfigMap policy = k.configMaps().inNamespace(ns).withName("airlock-payments-policy").get();
        assertThat(policy.getData()).containsEntry("airlock.yaml", Fixtures.PROJECT_YAML).containsEntry("org.yaml", Fixtures.ORG_YAML);
        Deployment gateway = k.apps().deployments().inNamespace(ns).withName("airlock-payments-gateway").get();
        Service service = k.services().inNamespace(ns).withName("airlock-payments-gateway").get();
        List<NetworkPolicy> policies = k.network().v1().networkPolicies().inNamespace(ns).list().getItems();
        assertThat(policies).extracting(p -> p.getMetadata().getName())
                .containsExactlyInAnyOrder("airlock-payments-agents", "airlock-payments-gateway");

        for (HasMetadata o : List.of(policy, gateway, service, policies.get(0), policies.get(1))) {
            assertThat(o.getMetadata().getLabels()).as(o.getKind())
                    .containsEntry("app.kubernetes.io/managed-by", "airlock").containsEntry("airlock.dev/project", "payments");
            assertThat(o.getMetadata().getManagedFields()).as(o.getKind()).anyMatch(f -> f.getManager().equals("airlock")
                    && f.getOperation().equals("Apply"));
        }
        for (HasMetadata o : List.of(gateway, service, policies.get(0), policies.get(1))) {
            assertThat(o.getMetadata().getOwnerReferences()).as(o.getKind())
                    .singleElement().satisfies(r -> {
                        assertThat(r.getKind()).isEqualTo("ConfigMap");
                        assertThat(r.getUid()).isEqualTo(policy.getMetadata().getUid());
                    });
        }
        Container g = gateway.getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(g.getArgs()).containsSubsequence("gateway", "--policy", "/etc/airlock/airlock.yaml", "--org", "/etc/airlock/org.yaml",
                "--listen", "0.0.0.0:3128", "--dns", "0.0.0.0:5353");
        assertThat(gateway.getSpec().getTemplate().getSpec().getAutomountServiceAccountToken()).isFalse();
        assertThat(g.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(g.getSecurityContext().getCapabilities().getAdd()).isNullOrEmpty();
        assertThat(g.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(service.getSpec().getClusterIP()).isEqualTo(applied.gatewayIp()).startsWith("10.96.0.");
        assertThat(service.getSpec().getSelector()).containsEntry("app", "airlock-gateway").containsEntry("airlock.dev/project", "payments");
        assertThat(service.getSpec().getPorts()).extracting(p -> p.getProtocol() + "/" + p.getPort() + "->" + p.getTargetPort().getIntVal())
                .containsExactlyInAnyOrder("TCP/3128->3128", "UDP/53->5353", "TCP/53->5353");

        NetworkPolicy agents = policies.stream().filter(p -> p.getMetadata().getName().endsWith("-agents")).findFirst().orElseThrow();
        assertThat(agents.getSpec().getPolicyTypes()).containsExactly("Ingress", "Egress");
        assertThat(agents.getSpec().getPodSelector().getMatchLabels()).isEqualTo(Map.of("app", "airlock-agent", "airlock.dev/project", "payments"));
        assertThat(agents.getSpec().getEgress()).singleElement().satisfies(r -> {
            assertThat(r.getTo()).singleElement()
                    .satisfies(peer -> assertThat(peer.getPodSelector().getMatchLabels()).containsEntry("app", "airlock-gateway"));
            // NetworkPolicy sees the gateway pod's ports, after the Service's translation.
            assertThat(r.getPorts()).extracting(p -> p.getProtocol() + "/" + p.getPort().getIntVal())
                    .containsExactlyInAnyOrder("TCP/3128", "TCP/15001", "UDP/5353", "TCP/5353");
        });
        NetworkPolicy gw = policies.stream().filter(p -> p.getMetadata().getName().endsWith("-gateway")).findFirst().orElseThrow();
        assertThat(gw.getSpec().getEgress().get(0).getTo()).anySatisfy(peer -> assertThat(peer.getIpBlock().getExcept()).contains(Fixtures.PRODUCTION_CIDR));
    }

    @Test
    void agentPod_asStored_hasNoTokenNoRootNoCapabilitiesAndTheGatewayAsDns(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        AppliedProject applied = new ProjectApplier(k).apply(Fixtures.manifests(ns));
        Pod pod = k.pods().inNamespace(ns).resource(applied.agentPods(Fixtures.settings(ns), Resources.DEFAULT).newMember()).create();

        Pod stored = k.pods().inNamespace(ns).withName(pod.getMetadata().getName()).get();
        var spec = stored.getSpec();
        assertThat(spec.getAutomountServiceAccountToken()).isFalse();
        assertThat(spec.getServiceAccountName()).isEqualTo("airlock-payments");
        assertThat(k.serviceAccounts().inNamespace(ns).withName("airlock-payments").get().getAutomountServiceAccountToken()).isFalse();
        assertThat(spec.getVolumes()).noneMatch(v -> v.getProjected() != null || v.getSecret() != null);
        assertThat(spec.getDnsPolicy()).isEqualTo("None");
        assertThat(spec.getDnsConfig().getNameservers()).containsExactly(applied.gatewayIp());
        assertThat(spec.getSecurityContext().getRunAsNonRoot()).isTrue();
        Container c = spec.getContainers().get(0);
        assertThat(c.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(c.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
        assertThat(c.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(c.getSecurityContext().getCapabilities().getAdd()).isNullOrEmpty();
        assertThat(c.getEnv().stream().collect(Collectors.toMap(e -> e.getName(), e -> e.getValue())))
                .containsEntry("HTTPS_PROXY", "http://" + applied.gatewayIp() + ":3128");
        assertThat(c.getVolumeMounts()).anyMatch(m -> m.getMountPath().equals("/workspace"));
        assertThat(stored.getMetadata().getOwnerReferences()).singleElement().satisfies(r -> assertThat(r.getName()).isEqualTo("airlock-payments-policy"));
        assertThat(stored.getMetadata().getLabels()).containsEntry("airlock.dev/state", "ready").containsKey("airlock.dev/template");
    }

    @Test
    void apply_again_isIdempotent(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        ProjectApplier applier = new ProjectApplier(k);
        ProjectManifests m = Fixtures.manifests(ns);
        AppliedProject first = applier.apply(m);
        Map<String, String> versions = versions(k, m);

        AppliedProject second = applier.apply(Fixtures.manifests(ns));

        assertThat(versions(k, m)).isEqualTo(versions);
        assertThat(second.owner()).isEqualTo(first.owner());
        assertThat(second.gatewayIp()).isEqualTo(first.gatewayIp());
    }

    @Test
    void apply_whenAnObjectOfTheSameNameIsNotAirlocks_failsNamingItAndAppliesNothing(ControlPlane cp) throws Exception {
        KubernetesClient k = cp.admin();
        // Positive control: in a namespace without the user's Service, the same project applies.
        String clean = cp.newNamespace();
        new ProjectApplier(k).apply(Fixtures.manifests(clean));
        assertThat(k.apps().deployments().inNamespace(clean).withName("airlock-payments-gateway").get()).isNotNull();

        String ns = cp.newNamespace();
        Service users = k.services().inNamespace(ns).resource(new ServiceBuilder().withNewMetadata().withName("airlock-payments-gateway")
                .addToLabels("team", "web").endMetadata().withNewSpec().addNewPort().withPort(80).endPort().endSpec().build()).create();

        assertThatThrownBy(() -> new ProjectApplier(k).apply(Fixtures.manifests(ns)))
                .isInstanceOf(KubeBackendException.class)
                .hasMessageContaining("Service " + ns + "/airlock-payments-gateway")
                .hasMessageContaining("not managed by Airlock")
                .hasMessageContaining("Nothing was applied")
                .hasMessageContaining("Fix:");
        assertThat(k.configMaps().inNamespace(ns).withName("airlock-payments-policy").get()).isNull();
        assertThat(k.apps().deployments().inNamespace(ns).list().getItems()).isEmpty();
        assertThat(k.network().v1().networkPolicies().inNamespace(ns).list().getItems()).isEmpty();
        Service after = k.services().inNamespace(ns).withName("airlock-payments-gateway").get();
        assertThat(after.getMetadata().getResourceVersion()).isEqualTo(users.getMetadata().getResourceVersion());
        assertThat(after.getMetadata().getLabels()).doesNotContainKey("app.kubernetes.io/managed-by");
    }

    @Test
    void apply_withoutPermission_failsListingWhatIsMissingAndAppliesNothing(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        try (KubernetesClient restricted = KubeClients.connect(Optional.of(cp.restrictedKubeconfig()))) {
            assertThatThrownBy(() -> new ProjectApplier(restricted).apply(Fixtures.manifests(ns)))
                    .isInstanceOf(KubeBackendException.class)
                    .hasMessageContaining("lacks")
                    .hasMessageContaining("create configmaps")
                    .hasMessageContaining("create networking.k8s.io/networkpolicies")
                    .hasMessageContaining("Nothing was applied")
                    .hasMessageContaining("kind: Role");
        }
        assertThat(cp.admin().configMaps().inNamespace(ns).list().getItems()).noneMatch(c -> c.getMetadata().getName().startsWith("airlock-"));
        // Positive control: the admin account applies the same project in the same namespace.
        new ProjectApplier(cp.admin()).apply(Fixtures.manifests(ns));
        assertThat(cp.admin().configMaps().inNamespace(ns).withName("airlock-payments-policy").get()).isNotNull();
    }

    private static Map<String, String> versions(KubernetesClient k, ProjectManifests m) {
        return m.all().stream().collect(Collectors.toMap(o -> o.getKind() + "/" + o.getMetadata().getName(),
                o -> k.resource(o).get().getMetadata().getResourceVersion()));
    }
}
