package dev.airlock.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.k8s.ProjectApplier.AppliedProject;
import dev.airlock.policy.model.ProjectPolicy.Resources;
import dev.airlock.pool.warm.PoolListener;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Commands in a claimed agent pod through the real kube-apiserver's {@code pods/exec}: the API
 * server upgrades the request and relays it to the pod's node, where a {@link FakeKubelet} runs the
 * command. What the kubelet received (namespace, pod, container, argv) is checked on its side.
 */
@ExtendWith(ControlPlaneExtension.class)
class PodExecIT {

    @RegisterExtension
    static final FakeKubeletForClass kubelet = new FakeKubeletForClass();

    /** A claimed member of a one-pod pool, bound to the fake kubelet's node and Ready. */
    private static PodPool.Claim claimed(ControlPlane cp, String ns, KubernetesClient as, PodPool[] pool) throws Exception {
        AppliedProject applied = new ProjectApplier(cp.admin()).apply(Fixtures.manifests(ns));
        pool[0] = new PodPool(as, applied.agentPods(Fixtures.settings(ns), Resources.DEFAULT), 1, PoolListener.NONE, Clock.systemUTC());
        pool[0].start();
        PodPoolIT.await("a member", () -> pool[0].figures().warming() == 1);
        cp.bindAndMarkReady(ns, cp.registerNode(kubelet.get()));
        PodPoolIT.await("a Ready member", () -> pool[0].figures().ready() == 1);
        return pool[0].claimWarm("alk00000001").orElseThrow();
    }

    private record Ran(String stdout, String stderr, PodCommand.Exit exit) {
    }

    private static Ran run(PodCommand c, String stdin) throws Exception {
        CompletableFuture<String> out = read(c.stdout());
        CompletableFuture<String> err = c.stderr().map(PodExecIT::read).orElse(CompletableFuture.completedFuture(""));
        if (!stdin.isEmpty()) {
            c.stdin().write(stdin.getBytes(StandardCharsets.UTF_8));
            c.stdin().flush();
        }
        PodCommand.Exit exit = c.waitFor();
        return new Ran(out.get(), err.get(), exit);
    }

    private static CompletableFuture<String> read(InputStream in) {
        return CompletableFuture.supplyAsync(() -> {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            try {
                in.transferTo(b);
            } catch (IOException e) {
                // the exec ended
            }
            return b.toString(StandardCharsets.UTF_8);
        });
    }

    @Test
    void start_pipes_giveStdoutStderrAndTheExitCodeFromTheStatusChannel(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        PodPool[] pool = new PodPool[1];
        try {
            PodPool.Claim claim = claimed(cp, ns, cp.admin(), pool);
            int before = kubelet.get().execs().size();
            try (PodCommand c = new PodExec(cp.admin()).start(claim.pod(), List.of("sh", "-c", "echo out; echo err >&2; echo $GREETING; exit 7"),
                    Map.of("GREETING", "hello"), Optional.empty())) {
                Ran r = run(c, "");
                assertThat(r.stdout()).isEqualTo("out\nhello\n");
                assertThat(r.stderr()).isEqualTo("err\n");
                assertThat(r.exit()).isEqualTo(new PodCommand.Exit(7, Optional.empty()));
            }
            FakeKubelet.Exec seen = kubelet.get().execs().get(before);
            assertThat(seen.namespace()).isEqualTo(ns);
            assertThat(seen.pod()).isEqualTo(claim.pod().getMetadata().getName());
            assertThat(seen.container()).isEqualTo("agent");
            // piped: under the pod's stdin relay, which sets the variables
            assertThat(seen.command()).containsExactly(PodExec.RELAY, "GREETING=hello", "--", "sh", "-c", "echo out; echo err >&2; echo $GREETING; exit 7");
            assertThat(seen.tty()).isFalse();
            assertThat(seen.stdin()).isTrue();
        } finally {
            pool[0].close();
        }
    }

    @Test
    void start_stdin_reachesTheCommand_andASuccessIsZero(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        PodPool[] pool = new PodPool[1];
        try {
            PodPool.Claim claim = claimed(cp, ns, cp.admin(), pool);
            try (PodCommand c = new PodExec(cp.admin()).start(claim.pod(), List.of("sh", "-c", "read line; echo got:$line"), Map.of(),
                    Optional.empty())) {
                Ran r = run(c, "from-the-client\n");
                assertThat(r.stdout()).isEqualTo("got:from-the-client\n");
                assertThat(r.exit().code()).isZero();
            }
        } finally {
            pool[0].close();
        }
    }

    @Test
    @org.junit.jupiter.api.Timeout(180)
    void start_piped_endInputIsTheCommandsEndOfFile_afterEveryByte(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        PodPool[] pool = new PodPool[1];
        try {
            PodPool.Claim claim = claimed(cp, ns, cp.admin(), pool);
            try (PodCommand c = new PodExec(cp.admin()).start(claim.pod(), List.of("sh", "-c", "cat; echo after-eof; exit 5"), Map.of(),
                    Optional.empty())) {
                // threads of their own: the common pool may have one thread, and these block
                java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newCachedThreadPool();
                c.stdin().write("x\n".getBytes(StandardCharsets.UTF_8));
                c.stdin().flush();
                CompletableFuture<PodCommand.Exit> exit = CompletableFuture.supplyAsync(() -> {
                    try {
                        return c.waitFor();
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                }, threads);
                // Control: cat echoed the line and still waits for more, as it would without the end frame.
                // (read(byte[]), not readNBytes: fabric8's stream trips its own assertion on the latter)
                CompletableFuture<String> echoed = CompletableFuture.supplyAsync(() -> {
                    byte[] buf = new byte[64];
                    StringBuilder got = new StringBuilder();
                    try {
                        for (int n; got.length() < 2 && (n = c.stdout().read(buf)) > 0; ) {
                            got.append(new String(buf, 0, n, StandardCharsets.UTF_8));
                        }
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                    return got.toString();
                }, threads);
                assertThat(echoed.get(60, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo("x\n");
                assertThat(exit).isNotDone();
                CompletableFuture<String> out = read(c.stdout());
                c.endInput();
                assertThat(exit.get(60, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(new PodCommand.Exit(5, Optional.empty()));
                assertThat(out.get(60, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo("after-eof\n");
                threads.shutdown();
            }
        } finally {
            pool[0].close();
        }
    }

    @Test
    void agentPod_asTheApiServerKeepsIt_getsTheRelayFromALockedDownInitContainer(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        PodPool[] pool = new PodPool[1];
        try {
            PodPool.Claim claim = claimed(cp, ns, cp.admin(), pool);
            io.fabric8.kubernetes.api.model.PodSpec spec = cp.admin().pods().inNamespace(ns).withName(claim.pod().getMetadata().getName()).get().getSpec();
            assertThat(spec.getInitContainers()).singleElement().satisfies(init -> {
                assertThat(init.getImage()).isEqualTo(Fixtures.settings(ns).gatewayImage());
                assertThat(init.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
                assertThat(init.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
                assertThat(init.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
                assertThat(init.getSecurityContext().getCapabilities().getAdd()).isNullOrEmpty();
                assertThat(init.getVolumeMounts()).singleElement().satisfies(m -> assertThat(m.getMountPath()).isEqualTo(AgentPods.RELAY_DIR));
            });
            assertThat(spec.getSecurityContext().getRunAsNonRoot()).isTrue();
            assertThat(spec.getContainers().get(0).getVolumeMounts()).filteredOn(m -> m.getMountPath().equals(AgentPods.RELAY_DIR))
                    .singleElement().satisfies(m -> assertThat(m.getReadOnly()).isTrue());
        } finally {
            pool[0].close();
        }
    }

    @Test
    void start_withoutStdin_theCommandReadsEndOfFile(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        PodPool[] pool = new PodPool[1];
        try {
            PodPool.Claim claim = claimed(cp, ns, cp.admin(), pool);
            int before = kubelet.get().execs().size();
            try (PodCommand c = new PodExec(cp.admin()).start(claim.pod(), List.of("sh", "-c", "cat; echo after-eof"), Map.of(), false,
                    Optional.empty())) {
                Ran r = run(c, "");
                assertThat(r.stdout()).isEqualTo("after-eof\n");
                assertThat(r.exit().code()).isZero();
            }
            assertThat(kubelet.get().execs().get(before).stdin()).isFalse();
        } finally {
            pool[0].close();
        }
    }

    @Test
    void start_terminal_givesTheCommandATerminalAndSendsTheWindowSize(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        PodPool[] pool = new PodPool[1];
        try {
            PodPool.Claim claim = claimed(cp, ns, cp.admin(), pool);
            int before = kubelet.get().execs().size();
            try (PodCommand c = new PodExec(cp.admin()).start(claim.pod(), List.of("sh", "-c", "read x; test -t 0 && echo on-a-tty:$x; exit 3"),
                    Map.of(), Optional.of(new PodExec.Window(24, 80)))) {
                assertThat(c.stderr()).isEmpty();
                c.resize(new PodExec.Window(40, 100));
                Ran r = run(c, "typed\r");
                assertThat(r.stdout()).contains("on-a-tty:typed");
                assertThat(r.exit().code()).isEqualTo(3);
            }
            FakeKubelet.Exec seen = kubelet.get().execs().get(before);
            assertThat(seen.tty()).isTrue();
            assertThat(seen.command()).as("a terminal's input is keys, ^D its end: no relay").startsWith("env");
            assertThat(seen.resizes()).containsExactly("{\"Width\":80,\"Height\":24}", "{\"Width\":100,\"Height\":40}");
        } finally {
            pool[0].close();
        }
    }

    @Test
    void start_withoutThePodsExecRule_namesTheRuleAndTheFix_andWithItRuns(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient admin = cp.admin();
        // the restricted user gets everything but pods/exec, then (the control) pods/exec too
        var withoutExec = AccessCheck.NEEDED.stream().filter(g -> !g.resource().equals("pods/exec"))
                .map(g -> new PolicyRuleBuilder().withApiGroups(g.group()).withResources(g.resource()).withVerbs(g.verbs()).build()).toList();
        admin.resource(new RoleBuilder().withNewMetadata().withName("airlock").withNamespace(ns).endMetadata().withRules(withoutExec).build()).create();
        admin.resource(new RoleBindingBuilder().withNewMetadata().withName("airlock").withNamespace(ns).endMetadata()
                .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("Role").withName("airlock").endRoleRef()
                .addNewSubject().withKind("User").withApiGroup("rbac.authorization.k8s.io").withName(ControlPlane.RESTRICTED_USER).endSubject()
                .build()).create();
        PodPool[] pool = new PodPool[1];
        try (KubernetesClient restricted = KubeClients.connect(Optional.of(cp.restrictedKubeconfig()))) {
            assertThat(AccessCheck.missing(restricted, ns)).containsExactly("get pods/exec", "create pods/exec");
            PodPool.Claim claim = claimed(cp, ns, restricted, pool);
            int before = kubelet.get().execs().size();

            assertThatThrownBy(() -> new PodExec(restricted).start(claim.pod(), List.of("true"), Map.of(), Optional.empty()))
                    .isInstanceOf(KubeBackendException.class)
                    .hasMessageContaining("lacks the RBAC rule {apiGroups: [\"\"], resources: [pods/exec], verbs: [get, create]} in namespace " + ns)
                    .hasMessageContaining("Fix: add that rule to the daemon's Role (docs/kubernetes/rbac.yaml)");
            assertThat(kubelet.get().execs()).hasSize(before); // refused at the API server: the kubelet heard nothing

            admin.rbac().roles().inNamespace(ns).withName("airlock").edit(r -> {
                r.getRules().add(new PolicyRuleBuilder().withApiGroups("").withResources("pods/exec").withVerbs("get", "create").build());
                return r;
            });
            PodPoolIT.await("the rule in force", () -> {
                try {
                    return AccessCheck.missing(restricted, ns).isEmpty();
                } catch (KubeBackendException e) {
                    return false;
                }
            });
            try (PodCommand c = new PodExec(restricted).start(claim.pod(), List.of("sh", "-c", "echo allowed"), Map.of(), Optional.empty())) {
                Ran r = run(c, "");
                assertThat(r.stdout()).isEqualTo("allowed\n");
                assertThat(r.exit().code()).isZero();
            }
            assertThat(kubelet.get().execs()).hasSize(before + 1);
        } finally {
            if (pool[0] != null) {
                pool[0].close();
            }
        }
    }
}
