package dev.airlock.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.policy.model.ProjectPolicy.Resources;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The agent pod's stdin relay: the init container that puts it there, and its script run on this host. */
class AgentPodsTest {

    private static AgentPods pods(String relayImage) {
        return new AgentPods(new ProjectNames("payments"), "ns", "registry.test/devbox:1", relayImage, "10.96.0.10", Resources.DEFAULT,
                new OwnerReferenceBuilder().withApiVersion("v1").withKind("ConfigMap").withName("airlock-payments-policy").withUid("u").build(),
                "policyhash");
    }

    @Test
    void newMember_getsTheRelayFromALockedDownInitContainer_mountedReadOnlyInTheAgent() {
        PodSpec spec = pods("registry.test/airlock:0.1.0").newMember().getSpec();
        Container init = spec.getInitContainers().getFirst();
        assertThat(spec.getInitContainers()).hasSize(1);
        assertThat(init.getImage()).isEqualTo("registry.test/airlock:0.1.0");
        assertThat(init.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(init.getSecurityContext().getCapabilities().getAdd()).isNullOrEmpty();
        assertThat(init.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
        assertThat(init.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(init.getSecurityContext().getRunAsUser()).as("the pod's non-root user applies").isNull();
        assertThat(spec.getSecurityContext().getRunAsNonRoot()).isTrue();
        assertThat(init.getVolumeMounts()).singleElement().satisfies(m -> {
            assertThat(m.getMountPath()).isEqualTo(AgentPods.RELAY_DIR);
            assertThat(m.getReadOnly()).isNotEqualTo(Boolean.TRUE);
        });
        Container agent = spec.getContainers().getFirst();
        assertThat(agent.getVolumeMounts()).filteredOn(m -> m.getMountPath().equals(AgentPods.RELAY_DIR))
                .singleElement().satisfies(m -> assertThat(m.getReadOnly()).isTrue());
    }

    @Test
    void templateHash_changesWithTheRelayImage_soThePoolRotates() {
        assertThat(pods("registry.test/airlock:0.1.0").templateHash()).isNotEqualTo(pods("registry.test/airlock:0.2.0").templateHash());
    }

    @Test
    void installScript_copiesTheRelay_andWithoutItFailsNamingTheImageAndTheFix(@TempDir Path dir) throws Exception {
        Path relay = AirlockExecBinary.path();
        Path mounted = Files.createDirectories(dir.resolve("airlock-bin"));
        // the init container's script, with this host's paths for the image's file and the emptyDir
        String script = AgentPods.INSTALL_RELAY.replace(AgentPods.RELAY_IN_IMAGE, relay.toString()).replace(AgentPods.RELAY_DIR, mounted.toString());
        Ran ok = sh(script, "registry.test/airlock:0.1.0");
        assertThat(ok.code()).as(ok.err()).isZero();
        assertThat(mounted.resolve("airlock-exec")).isExecutable().hasSameBinaryContentAs(relay);

        Path empty = Files.createDirectories(dir.resolve("empty"));
        String lacking = AgentPods.INSTALL_RELAY.replace(AgentPods.RELAY_IN_IMAGE, dir.resolve("missing/airlock-exec").toString())
                .replace(AgentPods.RELAY_DIR, empty.toString());
        Ran refused = sh(lacking, "registry.test/airlock:old");
        assertThat(refused.code()).isEqualTo(1);
        assertThat(refused.err()).contains("airlock: the image registry.test/airlock:old has no ").contains("Fix: set kubernetes.image");
        assertThat(empty).isEmptyDirectory();
    }

    @Test
    void initFailure_isTheFailedInitContainersMessage_andEmptyOtherwise() {
        io.fabric8.kubernetes.api.model.Pod failed = new io.fabric8.kubernetes.api.model.PodBuilder().withNewStatus().withPhase("Failed")
                .addNewInitContainerStatus().withName("airlock-exec").withNewState().withNewTerminated().withExitCode(1)
                .withMessage("airlock: the image X has no /usr/lib/airlock/airlock-exec ... Fix: set kubernetes.image\n").endTerminated().endState()
                .endInitContainerStatus().endStatus().build();
        assertThat(AgentPods.initFailure(failed)).contains("init container exited 1: airlock: the image X has no /usr/lib/airlock/airlock-exec ... Fix: set kubernetes.image");
        io.fabric8.kubernetes.api.model.Pod fine = new io.fabric8.kubernetes.api.model.PodBuilder().withNewStatus().withPhase("Running")
                .addNewInitContainerStatus().withName("airlock-exec").withNewState().withNewTerminated().withExitCode(0).endTerminated().endState()
                .endInitContainerStatus().endStatus().build();
        assertThat(AgentPods.initFailure(fine)).isEmpty();
        assertThat(AgentPods.initFailure(new io.fabric8.kubernetes.api.model.Pod())).isEmpty();
    }

    private record Ran(int code, String err) {
    }

    private static Ran sh(String script, String image) throws Exception {
        List<String> argv = new ArrayList<>(List.of("sh", "-c", script, "airlock-exec-install", image));
        Process p = new ProcessBuilder(argv).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Ran(p.waitFor(), err);
    }
}
