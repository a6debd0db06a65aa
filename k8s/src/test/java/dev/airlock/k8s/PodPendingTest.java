package dev.airlock.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** What a cold claim's timeout says about a pod that is not Ready: the first blocker in the order a pod gets ready, and its fix. */
class PodPendingTest {

    static Stream<Arguments> pods() {
        return Stream.of(
                Arguments.of("just created: no status at all", pod().build(),
                        "it is not scheduled: no node has taken it yet. Fix: check that the cluster's scheduler runs"),
                Arguments.of("Pending with no node and no scheduler verdict", pod().withNewStatus().withPhase("Pending").endStatus().build(),
                        "it is not scheduled"),
                Arguments.of("the scheduler found no node", pod().withNewStatus().withPhase("Pending").addToConditions(new PodConditionBuilder()
                        .withType("PodScheduled").withStatus("False").withReason("Unschedulable").withMessage("0/3 nodes are available").build())
                        .endStatus().build(), "no node can take it (Unschedulable: 0/3 nodes are available). Fix: free or add nodes"),
                Arguments.of("the image cannot be pulled", scheduled().withNewStatus().withPhase("Pending").addToContainerStatuses(new ContainerStatusBuilder()
                        .withName("agent").withImage("registry.test/devbox:1").withNewState().withNewWaiting().withReason("ImagePullBackOff")
                        .withMessage("Back-off pulling image").endWaiting().endState().build()).endStatus().build(),
                        "container agent cannot pull its image registry.test/devbox:1 (ImagePullBackOff: Back-off pulling image). Fix: check"
                                + " kubernetes.agentImage"),
                Arguments.of("an init container waits on its image first", scheduled().withNewStatus().withPhase("Pending")
                        .addToInitContainerStatuses(new ContainerStatusBuilder().withName("intercept").withImage("registry.test/airlock:1")
                                .withNewState().withNewWaiting().withReason("ErrImagePull").endWaiting().endState().build())
                        .addToContainerStatuses(new ContainerStatusBuilder().withName("agent").withNewState().withNewWaiting()
                                .withReason("PodInitializing").endWaiting().endState().build()).endStatus().build(),
                        "container intercept cannot pull its image registry.test/airlock:1 (ErrImagePull)"),
                Arguments.of("a finished init container is no blocker; the agent's config error is", scheduled().withNewStatus().withPhase("Pending")
                        .addToInitContainerStatuses(new ContainerStatusBuilder().withName("intercept").withNewState().withNewTerminated()
                                .withExitCode(0).withReason("Completed").endTerminated().endState().build())
                        .addToContainerStatuses(new ContainerStatusBuilder().withName("agent").withNewState().withNewWaiting()
                                .withReason("CreateContainerConfigError").withMessage("secret \"x\" not found").endWaiting().endState().build())
                        .endStatus().build(), "container agent waits: CreateContainerConfigError: secret \"x\" not found. Fix: see `kubectl describe pod p-1`"),
                Arguments.of("a container that exited", scheduled().withNewStatus().withPhase("Failed").addToContainerStatuses(new ContainerStatusBuilder()
                        .withName("agent").withNewState().withNewTerminated().withExitCode(127).withReason("Error").endTerminated().endState().build())
                        .endStatus().build(), "container agent ended with exit code 127 (Error). Fix: see `kubectl logs p-1 -c agent`"),
                Arguments.of("scheduled, containers still being created", scheduled().withNewStatus().withPhase("Pending")
                        .addToContainerStatuses(new ContainerStatusBuilder().withName("agent").withNewState().withNewWaiting()
                                .withReason("ContainerCreating").endWaiting().endState().build()).endStatus().build(),
                        "it is scheduled on node n1 (phase Pending) and its containers are still being created"),
                Arguments.of("running but the Ready condition says why not", scheduled().withNewStatus().withPhase("Running")
                        .addToConditions(new PodConditionBuilder().withType("PodScheduled").withStatus("True").build(),
                                new PodConditionBuilder().withType("Ready").withStatus("False").withReason("ContainersNotReady")
                                        .withMessage("containers with unready status: [agent]").build()).endStatus().build(),
                        "but not Ready (ContainersNotReady: containers with unready status: [agent])"),
                Arguments.of("deleted meanwhile", null, "the pod is gone"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("pods")
    void explain_namesTheFirstBlockerAndItsFix(String row, Pod pod, String expected) {
        assertThat(PodPending.explain(pod)).contains(expected);
        if (pod != null) {
            assertThat(PodPending.explain(pod)).contains("Fix: ");
        }
    }

    private static PodBuilder pod() {
        return new PodBuilder().withNewMetadata().withName("p-1").endMetadata().withNewSpec().endSpec();
    }

    private static PodBuilder scheduled() {
        return new PodBuilder().withNewMetadata().withName("p-1").endMetadata().withNewSpec().withNodeName("n1").endSpec();
    }
}
