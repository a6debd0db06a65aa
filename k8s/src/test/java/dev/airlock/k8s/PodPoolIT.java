package dev.airlock.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.k8s.ProjectApplier.AppliedProject;
import dev.airlock.policy.model.ProjectPolicy.Resources;
import dev.airlock.pool.warm.PoolListener;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The warm pool as a controller against a real API server. No kubelet runs, so the test plays it:
 * it marks members Ready through the status subresource.
 */
@ExtendWith(ControlPlaneExtension.class)
class PodPoolIT {

    @Test
    void claimWarm_twentyConcurrentClaimsOnEightMembers_neverShareAPodAndThePoolRefills(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        AppliedProject applied = new ProjectApplier(k).apply(Fixtures.manifests(ns));
        Counting listener = new Counting();
        try (PodPool pool = new PodPool(k, applied.agentPods(Fixtures.settings(ns), Resources.DEFAULT), 8, listener, Clock.systemUTC())) {
            pool.start();
            await("8 members created", () -> pool.figures().warming() == 8);
            markAllReady(k, ns);
            await("8 members ready", () -> pool.figures().ready() == 8);
            assertThat(pool.figures()).isEqualTo(new PodPool.Figures(8, 8, 0, 0));

            ExecutorService threads = Executors.newFixedThreadPool(20);
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Optional<PodPool.Claim>>> results = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                String id = "claim-" + i;
                results.add(threads.submit((Callable<Optional<PodPool.Claim>>) () -> {
                    go.await();
                    return pool.claimWarm(id);
                }));
            }
            go.countDown();
            List<PodPool.Claim> won = new ArrayList<>();
            for (Future<Optional<PodPool.Claim>> f : results) {
                f.get().ifPresent(won::add);
            }
            threads.shutdown();

            Set<String> pods = won.stream().map(c -> c.pod().getMetadata().getName()).collect(Collectors.toSet());
            assertThat(won).hasSize(8);
            assertThat(pods).hasSize(8);
            // As the API server holds them: each claimed pod carries the label of exactly the claim that won it.
            List<Pod> claimed = k.pods().inNamespace(ns).withLabel(ProjectNames.STATE, "claimed").list().getItems();
            assertThat(claimed).extracting(p -> p.getMetadata().getName()).containsExactlyInAnyOrderElementsOf(pods);
            assertThat(claimed.stream().map(p -> p.getMetadata().getLabels().get(ProjectNames.CLAIM)).collect(Collectors.toSet()))
                    .isEqualTo(won.stream().map(c -> c.pod().getMetadata().getLabels().get(ProjectNames.CLAIM)).collect(Collectors.toSet()))
                    .hasSize(8);
            assertThat(listener.warm.get()).isEqualTo(8);

            await("the pool refilled to 8 while 8 are in use", () -> pool.figures().warming() == 8 && pool.figures().inUse() == 8);
            markAllReady(k, ns);
            await("the refill ready", () -> pool.figures().ready() == 8);
            assertThat(k.pods().inNamespace(ns).list().getItems()).hasSize(16);
        }
    }

    @Test
    void deletedMember_isReplaced(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        AppliedProject applied = new ProjectApplier(k).apply(Fixtures.manifests(ns));
        try (PodPool pool = new PodPool(k, applied.agentPods(Fixtures.settings(ns), Resources.DEFAULT), 3, new Counting(), Clock.systemUTC())) {
            pool.start();
            await("3 members", () -> pool.figures().warming() == 3);
            markAllReady(k, ns);
            await("3 ready", () -> pool.figures().ready() == 3);
            Set<String> before = names(k, ns);
            String victim = before.iterator().next();

            k.pods().inNamespace(ns).withName(victim).delete();

            await("a replacement", () -> names(k, ns).size() == 3 && !names(k, ns).contains(victim));
            Set<String> after = names(k, ns);
            after.removeAll(before);
            assertThat(after).hasSize(1);
            assertThat(pool.figures()).isEqualTo(new PodPool.Figures(3, 2, 1, 0));
        }
    }

    @Test
    void desiredSize_followsItsSupplier_growsAndShrinks_neverTouchingClaimedMembers(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        AppliedProject applied = new ProjectApplier(k).apply(Fixtures.manifests(ns));
        AtomicInteger desired = new AtomicInteger(2);
        try (PodPool pool = new PodPool(k, applied.agentPods(Fixtures.settings(ns), Resources.DEFAULT), desired::get, new Counting(), Clock.systemUTC())) {
            pool.start();
            await("2 members", () -> pool.figures().warming() == 2);
            markAllReady(k, ns);
            await("2 ready", () -> pool.figures().ready() == 2);
            assertThat(pool.claim("keep-me").warm()).isTrue();
            await("refilled to 2", () -> pool.figures().warming() == 1 && pool.figures().ready() == 1);

            desired.set(4);
            pool.refill();
            await("grown to 4", () -> pool.figures().ready() + pool.figures().warming() == 4);
            assertThat(pool.figures().desired()).isEqualTo(4);

            desired.set(1);
            pool.refill();
            await("shrunk to 1", () -> liveReadyState(k, ns) == 1);
            assertThat(pool.figures().inUse()).as("the claimed member stays").isEqualTo(1);
            assertThat(k.pods().inNamespace(ns).withLabel(ProjectNames.CLAIM, "keep-me").list().getItems()).singleElement()
                    .satisfies(p -> assertThat(p.getMetadata().getDeletionTimestamp()).isNull());
        }
    }

    /** Members in state ready that are not being deleted. */
    private static long liveReadyState(KubernetesClient k, String ns) {
        return k.pods().inNamespace(ns).withLabel(ProjectNames.STATE, "ready").list().getItems().stream()
                .filter(p -> p.getMetadata().getDeletionTimestamp() == null).count();
    }

    @Test
    void policyChange_updatesTheConfigMapAndRotatesThePool(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        ProjectApplier applier = new ProjectApplier(k);
        AppliedProject first = applier.apply(Fixtures.manifests(ns));
        try (PodPool pool = new PodPool(k, first.agentPods(Fixtures.settings(ns), Resources.DEFAULT), 2, new Counting(), Clock.systemUTC())) {
            pool.start();
            await("2 members", () -> pool.figures().warming() == 2);
            markAllReady(k, ns);
            await("2 ready", () -> pool.figures().ready() == 2);
            Set<String> old = names(k, ns);

            String changed = Fixtures.PROJECT_YAML.replace("    - github.com\n", "    - github.com\n    - registry.npmjs.org\n");
            AppliedProject second = applier.apply(Fixtures.manifests(ns, changed));
            pool.rotate(second.agentPods(Fixtures.settings(ns), Resources.DEFAULT));

            assertThat(k.configMaps().inNamespace(ns).withName("airlock-payments-policy").get().getData()).containsEntry("airlock.yaml", changed);
            await("old members replaced", () -> {
                Set<String> now = names(k, ns);
                return now.size() == 2 && now.stream().noneMatch(old::contains);
            });
            String newHash = second.agentPods(Fixtures.settings(ns), Resources.DEFAULT).templateHash();
            assertThat(newHash).isNotEqualTo(first.agentPods(Fixtures.settings(ns), Resources.DEFAULT).templateHash());
            assertThat(k.pods().inNamespace(ns).list().getItems()).allSatisfy(p ->
                    assertThat(p.getMetadata().getLabels()).containsEntry(ProjectNames.TEMPLATE, newHash));
        }
    }

    @Test
    void start_aClaimedPodNoClaimOfThisDaemonHolds_isDeleted(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        AgentPods template = new ProjectApplier(k).apply(Fixtures.manifests(ns)).agentPods(Fixtures.settings(ns), Resources.DEFAULT);
        String left;
        // a daemon claims a pod and dies (its pool closes without releasing)
        try (PodPool earlier = new PodPool(k, template, 1, new Counting(), Clock.systemUTC())) {
            earlier.start();
            await("1 member", () -> earlier.figures().warming() == 1);
            markAllReady(k, ns);
            await("1 ready", () -> earlier.figures().ready() == 1);
            left = earlier.claimWarm("earlier").orElseThrow().pod().getMetadata().getName();
            await("refilled", () -> earlier.figures().warming() == 1);
            markAllReady(k, ns);
            await("refill ready", () -> earlier.figures().ready() == 1);
            // control: while the claim is held, reconciles (the refill's) leave its pod alone
            assertThat(k.pods().inNamespace(ns).withName(left).get()).isNotNull();
            assertThat(earlier.figures().inUse()).isEqualTo(1);
        }
        assertThat(k.pods().inNamespace(ns).withName(left).get()).as("closing a pool deletes nothing").isNotNull();

        // the next daemon's pool holds no such claim: the pod would count as in use forever, so it goes
        try (PodPool next = new PodPool(k, template, 1, new Counting(), Clock.systemUTC())) {
            next.start();
            await("the earlier daemon's claimed pod deleted", () -> k.pods().inNamespace(ns).withName(left).get() == null);
            await("nothing in use", () -> next.figures().inUse() == 0 && next.figures().ready() == 1);
        }
    }

    /** Plays the kubelet: every pod of the namespace that is not Ready becomes Running and Ready. */
    static void markAllReady(KubernetesClient k, String ns) {
        String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        for (Pod p : k.pods().inNamespace(ns).list().getItems()) {
            if (p.getStatus() != null && "Running".equals(p.getStatus().getPhase())) {
                continue;
            }
            k.pods().inNamespace(ns).withName(p.getMetadata().getName()).editStatus(x -> {
                PodStatus s = x.getStatus() == null ? new PodStatus() : x.getStatus();
                s.setPhase("Running");
                s.setConditions(List.of(new PodConditionBuilder().withType("Ready").withStatus("True").withLastTransitionTime(now).build()));
                x.setStatus(s);
                return x;
            });
        }
    }

    private static Set<String> names(KubernetesClient k, String ns) {
        return k.pods().inNamespace(ns).list().getItems().stream().map(p -> p.getMetadata().getName()).collect(Collectors.toCollection(HashSet::new));
    }

    /** Waits for a condition the controller reaches through informer events; a deadline, not a performance claim. */
    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("not within 30 s: " + what);
            }
            Thread.sleep(50);
        }
    }

    private static final class Counting implements PoolListener {
        final AtomicInteger warm = new AtomicInteger();

        @Override
        public void claimed(String project, Result result, Duration took, Duration age, Duration built) {
            if (result == Result.WARM) {
                warm.incrementAndGet();
            }
        }

        @Override
        public void refilled(String project, Duration took) {
        }

        @Override
        public void refillFailed(String project, Throwable error) {
            error.printStackTrace();
        }
    }
}
