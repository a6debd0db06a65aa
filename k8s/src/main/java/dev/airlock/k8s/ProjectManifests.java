package dev.airlock.k8s;

import dev.airlock.audit.export.ExportFormat;
import dev.airlock.audit.export.ExportSettings;
import dev.airlock.audit.export.PolicyExport;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyEgressRuleBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What Airlock creates for one project, built without touching a cluster: the policy ConfigMap
 * (the owner of the rest, so deleting it garbage-collects the project), the pods' ServiceAccount
 * (no token), the gateway Deployment and Service, and the NetworkPolicies exactly as {@code airlock policy export --format k8s} writes them
 * (parsed from the exporter's YAML, so the local export and the cluster cannot drift).
 */
public record ProjectManifests(ProjectNames names, ClusterSettings settings, ConfigMap policy, ServiceAccount agentAccount,
        Optional<Secret> auditToken, Optional<ConfigMap> auditCa, Deployment gateway, Service gatewayService, List<NetworkPolicy> networkPolicies, String policyHash) {

    public static final int PROXY_PORT = ExportSettings.DEFAULT_PROXY_PORT;
    /** The port agents send DNS to: the Service's, since resolv.conf cannot name another. */
    public static final int DNS_PORT = ExportSettings.DEFAULT_POD_DNS_PORT;
    /**
     * The port the gateway container answers DNS on. A non-root process cannot bind 53 (an added
     * NET_BIND_SERVICE is not effective for a non-root user without file capabilities), so the
     * Service maps 53 to it, and the NetworkPolicies, which see the pod's port, name this one.
     */
    public static final int GATEWAY_DNS_PORT = 5353;
    static final String POLICY_DIR = "/etc/airlock";
    /** Where the gateway container finds the project's audit ingest token (the Secret's key {@link #TOKEN_KEY}). */
    static final String TOKEN_DIR = "/var/run/airlock/audit-token";
    /** The token's key in the Secret. */
    public static final String TOKEN_KEY = "token";
    /** Where the gateway container finds the CA certificate it trusts for the daemon's audit ingest (key {@link #CA_KEY}). */
    static final String CA_DIR = "/var/run/airlock/audit-ca";
    /** The CA certificate's key in its ConfigMap. */
    public static final String CA_KEY = "ca.crt";
    /** The labels of the daemon's pods (docs/kubernetes/daemon.yaml): the gateway's NetworkPolicy opens the audit port towards them. */
    public static final Map<String, String> DAEMON_POD_LABELS = Map.of("app.kubernetes.io/name", "airlock-daemon");
    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

    public ProjectManifests {
        networkPolicies = List.copyOf(networkPolicies);
    }

    /** Without audit forwarding ({@code s} must not ask for it). */
    public static ProjectManifests of(ProjectPolicy project, OrgPolicy org, String projectYaml, Optional<String> orgYaml, ClusterSettings s)
            throws PolicyException {
        return of(project, org, projectYaml, orgYaml, s, Optional.empty());
    }

    /**
     * Builds a project's objects. {@code projectYaml} and {@code orgYaml} are the files' text as the
     * gateway in the cluster reads them; {@code project} and {@code org} are the same files parsed.
     * {@code auditToken} is the project's audit ingest token, needed exactly when {@code s} forwards
     * audit records: it goes into a Secret that only the gateway pods mount.
     */
    public static ProjectManifests of(ProjectPolicy project, OrgPolicy org, String projectYaml, Optional<String> orgYaml, ClusterSettings s,
            Optional<String> auditToken) throws PolicyException {
        if (s.auditForward().isPresent() != auditToken.isPresent()) {
            throw new IllegalArgumentException("an audit ingest token is needed exactly when the gateway pods forward their audit records");
        }
        ProjectNames names = new ProjectNames(project.project());
        Map<String, String> data = new LinkedHashMap<>();
        data.put("airlock.yaml", projectYaml);
        orgYaml.ifPresent(o -> data.put("org.yaml", o));
        String hash = sha256(String.join("\u0000", data.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList()));
        ConfigMap policy = new ConfigMapBuilder()
                .withNewMetadata().withName(names.policyConfigMap()).withNamespace(s.namespace()).withLabels(names.common())
                .addToAnnotations("airlock.dev/policy-sha256", hash).endMetadata()
                .withData(data)
                .build();
        // The pods' own account, never the namespace's default one, and it mounts no token.
        ServiceAccount account = new ServiceAccountBuilder()
                .withNewMetadata().withName(names.agentAccount()).withNamespace(s.namespace()).withLabels(names.common()).endMetadata()
                .withAutomountServiceAccountToken(false)
                .build();
        Optional<Secret> secret = auditToken.map(t -> new SecretBuilder()
                .withNewMetadata().withName(names.auditToken()).withNamespace(s.namespace()).withLabels(names.common()).endMetadata()
                .withType("Opaque")
                .withData(Map.of(TOKEN_KEY, Base64.getEncoder().encodeToString(t.getBytes(StandardCharsets.US_ASCII))))
                .build());
        // The CA's certificate only: public, so a ConfigMap; its key stays in the daemon's Secret.
        Optional<ConfigMap> ca = s.auditForward().map(f -> new ConfigMapBuilder()
                .withNewMetadata().withName(names.auditCa()).withNamespace(s.namespace()).withLabels(names.common()).endMetadata()
                .withData(Map.of(CA_KEY, f.caPem()))
                .build());
        return new ProjectManifests(names, s, policy, account, secret, ca, gateway(names, s, orgYaml.isPresent()), service(names, s),
                networkPolicies(project, org, names, s), hash);
    }

    /** Every object, owner first: the order apply creates them in. */
    public List<HasMetadata> all() {
        List<HasMetadata> out = new ArrayList<>();
        out.add(policy);
        out.add(agentAccount);
        auditToken.ifPresent(out::add);
        auditCa.ifPresent(out::add);
        out.add(gateway);
        out.add(gatewayService);
        out.addAll(networkPolicies);
        return out;
    }

    private static Deployment gateway(ProjectNames names, ClusterSettings s, boolean withOrg) {
        Map<String, String> podLabels = new LinkedHashMap<>(names.common());
        podLabels.putAll(names.gatewayPods().labels());
        List<String> args = new ArrayList<>(List.of("gateway", "--policy", POLICY_DIR + "/airlock.yaml"));
        if (withOrg) {
            args.addAll(List.of("--org", POLICY_DIR + "/org.yaml"));
        }
        args.addAll(List.of("--listen", "0.0.0.0:" + PROXY_PORT, "--dns", "0.0.0.0:" + GATEWAY_DNS_PORT, "--audit-log", "/var/lib/airlock/audit.log"));
        // pods have no addresses the gateway knows in advance: their DNS is answered by range (the NetworkPolicies decide who reaches it)
        s.podCidr().ifPresent(c -> args.addAll(List.of("--dns-clients", c)));
        // Each record also goes to the daemon's chain, named by this pod (the kubelet expands $(POD_NAME) from the env below).
        s.auditForward().ifPresent(f -> args.addAll(List.of("--audit-forward", f.url().toString(),
                "--audit-token-file", TOKEN_DIR + "/" + TOKEN_KEY, "--audit-ca-file", CA_DIR + "/" + CA_KEY, "--audit-source", "$(POD_NAME)")));
        DeploymentBuilder d = new DeploymentBuilder()
                .withNewMetadata().withName(names.gateway()).withNamespace(s.namespace()).withLabels(names.common()).endMetadata()
                .withNewSpec()
                .withReplicas(1)
                .withNewSelector().withMatchLabels(names.gatewayPods().labels()).endSelector()
                .withNewTemplate()
                .withNewMetadata().withLabels(podLabels).endMetadata()
                .withNewSpec()
                .withServiceAccountName(names.agentAccount())
                .withAutomountServiceAccountToken(false)
                .withEnableServiceLinks(false)
                .withNewSecurityContext().withRunAsNonRoot(true).withRunAsUser(65532L).withRunAsGroup(65532L)
                .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile().endSecurityContext()
                .addNewContainer()
                .withName("gateway").withImage(s.gatewayImage()).withArgs(args)
                .addNewPort().withName("proxy").withContainerPort(PROXY_PORT).withProtocol("TCP").endPort()
                .addNewPort().withName("dns-udp").withContainerPort(GATEWAY_DNS_PORT).withProtocol("UDP").endPort()
                .addNewPort().withName("dns-tcp").withContainerPort(GATEWAY_DNS_PORT).withProtocol("TCP").endPort()
                .withNewSecurityContext().withAllowPrivilegeEscalation(false).withReadOnlyRootFilesystem(true)
                .withNewCapabilities().withDrop("ALL").endCapabilities().endSecurityContext()
                .addNewVolumeMount().withName("policy").withMountPath(POLICY_DIR).withReadOnly(true).endVolumeMount()
                .addNewVolumeMount().withName("audit").withMountPath("/var/lib/airlock").endVolumeMount()
                .addNewVolumeMount().withName("tmp").withMountPath("/tmp").endVolumeMount()
                .endContainer()
                // Mounted as a directory (no subPath), so a ConfigMap change reaches the running gateway, which reloads it.
                .addNewVolume().withName("policy").withNewConfigMap().withName(names.policyConfigMap()).endConfigMap().endVolume()
                .addNewVolume().withName("audit").withNewEmptyDir().endEmptyDir().endVolume()
                .addNewVolume().withName("tmp").withNewEmptyDir().endEmptyDir().endVolume()
                .endSpec()
                .endTemplate()
                .endSpec();
        Deployment built = d.build();
        if (s.auditForward().isPresent()) {
            PodSpec pod = built.getSpec().getTemplate().getSpec();
            // The token file is the group's (fsGroup) and unreadable to others; no agent pod mounts this Secret.
            pod.getSecurityContext().setFsGroup(65532L);
            pod.getVolumes().add(new VolumeBuilder().withName("audit-token")
                    .withNewSecret().withSecretName(names.auditToken()).withDefaultMode(0440).endSecret().build());
            // Mounted as a directory (no subPath), so a new CA reaches the running gateway, which reads it at every send.
            pod.getVolumes().add(new VolumeBuilder().withName("audit-ca")
                    .withNewConfigMap().withName(names.auditCa()).endConfigMap().build());
            Container c = pod.getContainers().get(0);
            c.getVolumeMounts().add(new VolumeMountBuilder().withName("audit-token").withMountPath(TOKEN_DIR).withReadOnly(true).build());
            c.getVolumeMounts().add(new VolumeMountBuilder().withName("audit-ca").withMountPath(CA_DIR).withReadOnly(true).build());
            c.setEnv(new ArrayList<>(List.of(new EnvVarBuilder().withName("POD_NAME")
                    .withNewValueFrom().withNewFieldRef().withFieldPath("metadata.name").endFieldRef().endValueFrom().build())));
        }
        return built;
    }

    private static Service service(ProjectNames names, ClusterSettings s) {
        return new ServiceBuilder()
                .withNewMetadata().withName(names.gateway()).withNamespace(s.namespace()).withLabels(names.common()).endMetadata()
                .withNewSpec()
                .withType("ClusterIP")
                .withSelector(names.gatewayPods().labels())
                .addNewPort().withName("proxy").withProtocol("TCP").withPort(PROXY_PORT).withTargetPort(new IntOrString(PROXY_PORT)).endPort()
                .addNewPort().withName("dns-udp").withProtocol("UDP").withPort(DNS_PORT).withTargetPort(new IntOrString(GATEWAY_DNS_PORT)).endPort()
                .addNewPort().withName("dns-tcp").withProtocol("TCP").withPort(DNS_PORT).withTargetPort(new IntOrString(GATEWAY_DNS_PORT)).endPort()
                .endSpec()
                .build();
    }

    /** The exporter's documents, parsed into the client's model; their labels gain the project's. */
    private static List<NetworkPolicy> networkPolicies(ProjectPolicy project, OrgPolicy org, ProjectNames names, ClusterSettings s)
            throws PolicyException {
        ExportSettings exportSettings = new ExportSettings(s.namespace(), names.agentPods(), s.namespace(), names.gatewayPods(),
                PROXY_PORT, ExportSettings.DEFAULT_TRANSPARENT_PORT, GATEWAY_DNS_PORT);
        String yaml = PolicyExport.render(ExportFormat.K8S, project, org, exportSettings);
        List<NetworkPolicy> out = new ArrayList<>();
        String[] docs = yaml.split("(?m)^---$");
        for (int i = 1; i < docs.length; i++) {
            NetworkPolicy p = SERIALIZATION.unmarshal(docs[i], NetworkPolicy.class);
            p.getMetadata().getLabels().putAll(names.common());
            if (s.auditForward().isPresent() && p.getSpec().getPodSelector().getMatchLabels() != null
                    && p.getSpec().getPodSelector().getMatchLabels().equals(names.gatewayPods().labels())) {
                // The one flow forwarding adds: gateway pods to the daemon's pods, on the daemon's audit port, TCP.
                p.getSpec().getEgress().add(new NetworkPolicyEgressRuleBuilder()
                        .addNewTo().withNewPodSelector().withMatchLabels(DAEMON_POD_LABELS).endPodSelector().endTo()
                        .addNewPort().withProtocol("TCP").withPort(new IntOrString(s.auditForward().get().daemonPort())).endPort()
                        .build());
            }
            out.add(p);
        }
        return out;
    }

    static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
