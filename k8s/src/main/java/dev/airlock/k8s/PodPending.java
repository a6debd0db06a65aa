package dev.airlock.k8s;

import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.ContainerStateWaiting;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * What a pod that is not Ready waits on, read from its status as {@code kubectl describe} shows it,
 * with the fix: one sentence for a cold claim's timeout. The checks go in the order a pod gets
 * ready (scheduled, images pulled, containers started, probes passed), so the first blocker is the
 * one named.
 */
final class PodPending {

    /** Waiting reasons that mean the image cannot be had (kubelet's names). */
    private static final Set<String> IMAGE_REASONS = Set.of("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
            "RegistryUnavailable");

    private PodPending() {
    }

    /** Why {@code pod} is not Ready; {@code null} (gone) says the pod no longer exists. */
    static String explain(Pod pod) {
        if (pod == null) {
            return "the pod is gone (deleted by someone else)";
        }
        if (pod.getMetadata().getDeletionTimestamp() != null) {
            return "the pod is being deleted";
        }
        if (pod.getStatus() == null) {
            return notScheduled();
        }
        Optional<PodCondition> scheduled = condition(pod, "PodScheduled");
        if (scheduled.isPresent() && "False".equals(scheduled.get().getStatus())) {
            return "no node can take it (" + reasonAndMessage(scheduled.get().getReason(), scheduled.get().getMessage())
                    + "). Fix: free or add nodes for the pod's requests, or lower `resources:` in airlock.yaml";
        }
        if (isBlank(pod.getSpec() == null ? null : pod.getSpec().getNodeName()) && scheduled.isEmpty()) {
            return notScheduled();
        }
        List<ContainerStatus> containers = new ArrayList<>();
        if (pod.getStatus().getInitContainerStatuses() != null) {
            containers.addAll(pod.getStatus().getInitContainerStatuses());
        }
        if (pod.getStatus().getContainerStatuses() != null) {
            containers.addAll(pod.getStatus().getContainerStatuses());
        }
        for (ContainerStatus c : containers) {
            ContainerStateWaiting waiting = c.getState() == null ? null : c.getState().getWaiting();
            if (waiting != null && IMAGE_REASONS.contains(waiting.getReason())) {
                return "container " + c.getName() + " cannot pull its image " + c.getImage() + " (" + reasonAndMessage(waiting.getReason(),
                        waiting.getMessage()) + "). Fix: check kubernetes.agentImage in the daemon's configuration, that the image was pushed, "
                        + "and the namespace's pull secret";
            }
            if (waiting != null && !"ContainerCreating".equals(waiting.getReason()) && !"PodInitializing".equals(waiting.getReason())
                    && !isBlank(waiting.getReason())) {
                return "container " + c.getName() + " waits: " + reasonAndMessage(waiting.getReason(), waiting.getMessage())
                        + ". Fix: see `kubectl describe pod " + pod.getMetadata().getName() + "` for its events";
            }
            ContainerStateTerminated ended = c.getState() == null ? null : c.getState().getTerminated();
            if (ended != null && !(isInit(pod, c) && Integer.valueOf(0).equals(ended.getExitCode()))) {
                return "container " + c.getName() + " ended with exit code " + ended.getExitCode()
                        + (isBlank(ended.getReason()) ? "" : " (" + reasonAndMessage(ended.getReason(), ended.getMessage()) + ")")
                        + ". Fix: see `kubectl logs " + pod.getMetadata().getName() + " -c " + c.getName() + "`";
            }
        }
        Optional<PodCondition> ready = condition(pod, "Ready");
        String phase = pod.getStatus().getPhase() == null ? "no phase yet" : "phase " + pod.getStatus().getPhase();
        String node = isBlank(pod.getSpec() == null ? null : pod.getSpec().getNodeName()) ? "" : " on node " + pod.getSpec().getNodeName();
        if (ready.isPresent() && !isBlank(ready.get().getReason())) {
            return "it is scheduled" + node + " (" + phase + ") but not Ready (" + reasonAndMessage(ready.get().getReason(), ready.get().getMessage())
                    + "). Fix: see `kubectl describe pod " + pod.getMetadata().getName() + "` for its events";
        }
        return "it is scheduled" + node + " (" + phase + ") and its containers are still being created (images pulling, volumes mounting)."
                + " Fix: wait longer (raise kubernetes.coldStartTimeout) or keep pods warm (pool.min), and see `kubectl describe pod "
                + pod.getMetadata().getName() + "`";
    }

    private static String notScheduled() {
        return "it is not scheduled: no node has taken it yet. Fix: check that the cluster's scheduler runs and that nodes are Ready"
                + " (`kubectl get nodes`), or raise kubernetes.coldStartTimeout";
    }

    private static boolean isInit(Pod pod, ContainerStatus c) {
        return pod.getStatus().getInitContainerStatuses() != null && pod.getStatus().getInitContainerStatuses().contains(c);
    }

    private static Optional<PodCondition> condition(Pod pod, String type) {
        if (pod.getStatus() == null || pod.getStatus().getConditions() == null) {
            return Optional.empty();
        }
        return pod.getStatus().getConditions().stream().filter(c -> type.equals(c.getType())).findFirst();
    }

    private static String reasonAndMessage(String reason, String message) {
        if (isBlank(message)) {
            return isBlank(reason) ? "no reason given" : reason;
        }
        return isBlank(reason) ? message : reason + ": " + message;
    }

    private static boolean isBlank(String s) {
        return s == null || s.isBlank();
    }
}
