package dev.airlock.k8s;

import dev.airlock.policy.model.ProjectPolicy.Resources;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The agent pod a project's pool keeps warm. It reaches nothing but its gateway: no service-account
 * token, non-root, read-only root, every capability dropped, no privilege escalation, DNS only from
 * the gateway's responder ({@code dnsPolicy: None}), and {@code HTTP(S)_PROXY} naming the gateway.
 * The NetworkPolicies make the gateway its only exit for code that ignores the proxy variables.
 * The workspace is an emptyDir. The template hash label lets the pool rotate members made from an
 * older template.
 *
 * <p>Piped commands need the stdin relay ({@link PodExec#RELAY}) whatever the agent image is: an
 * init container from {@code relayImage} (Airlock's own image, {@code kubernetes.image}) copies its
 * static {@code /usr/lib/airlock/airlock-exec} into an emptyDir that the agent container mounts
 * read-only at {@link #RELAY_DIR}. The init container is as locked down as the agent (non-root, no
 * capabilities, read-only root); an Airlock image without the relay fails it with the fix as its
 * termination message, so the pod never becomes Ready.
 */
public record AgentPods(ProjectNames names, String namespace, String image, String relayImage, String gatewayIp, Resources resources,
        OwnerReference owner, String policyHash) {

    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();
    static final long AGENT_UID = 65532L;
    /** Where the agent container finds the relay (read-only). */
    public static final String RELAY_DIR = "/airlock/bin";
    /** Where Airlock's image (its Debian package) has it. */
    static final String RELAY_IN_IMAGE = "/usr/lib/airlock/airlock-exec";
    /** The init container's script; $1 is the image, named in the error. */
    static final String INSTALL_RELAY = "if [ ! -x " + RELAY_IN_IMAGE + " ]; then echo \"airlock: the image $1 has no " + RELAY_IN_IMAGE
            + ", the stdin relay of piped commands (docs/kubernetes.md, The end of stdin). Fix: set kubernetes.image (or gatewayImage) to an image built by"
            + " scripts/build-oci-image.sh of this Airlock release\" >&2; exit 1; fi; cp " + RELAY_IN_IMAGE + " " + RELAY_DIR + "/airlock-exec";

    /** A new pool member, named by the API server from {@code generateName}, in state {@code ready}. */
    public Pod newMember() {
        Pod p = template();
        p.getMetadata().getLabels().put(ProjectNames.TEMPLATE, templateHash());
        return p;
    }

    /** The hash of everything that makes a member, the policy in force included: a change here rotates the pool. */
    public String templateHash() {
        return ProjectManifests.sha256(policyHash + "\u0000" + SERIALIZATION.asJson(template().getSpec())).substring(0, 16);
    }

    /**
     * Why a member's init container failed, as its termination message says (an image without the
     * relay names the fix there); empty when none failed. The pool deletes such a member at once,
     * so this is where its reason survives.
     */
    public static java.util.Optional<String> initFailure(Pod p) {
        if (p.getStatus() == null || p.getStatus().getInitContainerStatuses() == null) {
            return java.util.Optional.empty();
        }
        return p.getStatus().getInitContainerStatuses().stream()
                .map(c -> c.getState() == null ? null : c.getState().getTerminated())
                .filter(t -> t != null && t.getExitCode() != null && t.getExitCode() != 0)
                .map(t -> "init container exited " + t.getExitCode() + (t.getMessage() == null || t.getMessage().isBlank() ? "" : ": " + t.getMessage().strip()))
                .findFirst();
    }

    /** The labels that select this project's pool members. */
    public java.util.Map<String, String> selector() {
        return names.agentPods().labels();
    }

    private Pod template() {
        Map<String, String> labels = new LinkedHashMap<>(names.common());
        labels.putAll(names.agentPods().labels());
        labels.put(ProjectNames.STATE, "ready");
        String proxy = "http://" + gatewayIp + ":" + ProjectManifests.PROXY_PORT;
        List<EnvVar> env = new ArrayList<>();
        for (String k : List.of("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")) {
            env.add(new EnvVar(k, proxy, null));
        }
        return new PodBuilder()
                .withNewMetadata().withGenerateName(names.agentPodPrefix()).withNamespace(namespace).withLabels(labels)
                .addToAnnotations("airlock.dev/policy-sha256", policyHash)
                .withOwnerReferences(owner).endMetadata()
                .withNewSpec()
                .withServiceAccountName(names.agentAccount())
                .withAutomountServiceAccountToken(false)
                .withEnableServiceLinks(false)
                .withRestartPolicy("Never")
                .withDnsPolicy("None")
                .withNewDnsConfig().withNameservers(gatewayIp).addNewOption().withName("ndots").withValue("1").endOption().endDnsConfig()
                .withNewSecurityContext().withRunAsNonRoot(true).withRunAsUser(AGENT_UID).withRunAsGroup(AGENT_UID).withFsGroup(AGENT_UID)
                .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile().endSecurityContext()
                .addNewInitContainer()
                .withName("airlock-exec").withImage(relayImage)
                .withCommand("sh", "-c", INSTALL_RELAY, "airlock-exec-install", relayImage)
                .withTerminationMessagePolicy("FallbackToLogsOnError")
                .withNewSecurityContext().withAllowPrivilegeEscalation(false).withReadOnlyRootFilesystem(true).withPrivileged(false)
                .withNewCapabilities().withDrop("ALL").endCapabilities().endSecurityContext()
                .withNewResources()
                .addToLimits("memory", new Quantity("32Mi")).addToLimits("cpu", new Quantity("100m"))
                .endResources()
                .addNewVolumeMount().withName("airlock-bin").withMountPath(RELAY_DIR).endVolumeMount()
                .endInitContainer()
                .addNewContainer()
                .withName("agent").withImage(image)
                // A member idles until claimed; the claim runs the agent's command in it.
                .withCommand("sleep", "infinity")
                .withEnv(env)
                .withNewSecurityContext().withAllowPrivilegeEscalation(false).withReadOnlyRootFilesystem(true).withPrivileged(false)
                .withNewCapabilities().withDrop("ALL").endCapabilities().endSecurityContext()
                .withNewResources()
                .addToLimits("memory", new Quantity(Long.toString(resources.memoryBytes())))
                .addToLimits("cpu", new Quantity(Long.toString(Math.round(resources.cpus() * 1000)) + "m"))
                .endResources()
                .addNewVolumeMount().withName("workspace").withMountPath("/workspace").endVolumeMount()
                .addNewVolumeMount().withName("tmp").withMountPath("/tmp").endVolumeMount()
                .addNewVolumeMount().withName("airlock-bin").withMountPath(RELAY_DIR).withReadOnly(true).endVolumeMount()
                .endContainer()
                .addNewVolume().withName("workspace").withNewEmptyDir().endEmptyDir().endVolume()
                .addNewVolume().withName("tmp").withNewEmptyDir().endEmptyDir().endVolume()
                .addNewVolume().withName("airlock-bin").withNewEmptyDir().withSizeLimit(new Quantity("16Mi")).endEmptyDir().endVolume()
                .endSpec()
                .build();
    }
}
