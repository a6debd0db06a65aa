package dev.airlock.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Cold claims against a real API server: with no Ready member, a claim starts a pod of its own and
 * waits for it, as the local pool builds a sandbox on demand. No kubelet runs, so the test plays it
 * (marks pods Ready through the status subresource); a pod the test leaves alone never becomes Ready,
 * which is how the timeout and the give-up paths are reached.
 */
@ExtendWith(ControlPlaneExtension.class)
class PodPoolColdIT {

    @Test
    void claim_emptyPool_startsAPodForTheClaimAndReturnsItOnceReady_countedCold(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        AgentPods template = template(k, ns);
        Counting listener = new Counting();
        ExecutorService claimer = Executors.newSingleThreadExecutor();
        try (PodPool pool = new PodPool(k, template, () -> 0, Duration.ofSeconds(60), listener, Clock.systemUTC())) {
            pool.start();
            Future<PodPool.Claim> claim = claimer.submit(() -> pool.claim("cold-1"));

            PodPoolIT.await("the claim's pod exists", () -> !claimedBy(k, ns, "cold-1").isEmpty());
            Pod started = claimedBy(k, ns, "cold-1").get(0);
            // claimed from the start: the controller never counts it as a member nor hands it out
            assertThat(started.getMetadata().getLabels()).containsEntry(ProjectNames.STATE, "claimed")
                    .containsEntry(ProjectNames.TEMPLATE, template.templateHash()).containsAllEntriesOf(template.selector());
            // the same spec, hardening and all, as a pool member
            assertThat(started.getSpec().getContainers().get(0).getSecurityContext()).isEqualTo(template.newMember().getSpec().getContainers().get(0)
                    .getSecurityContext());
            assertThat(started.getSpec().getAutomountServiceAccountToken()).isFalse();
            PodPoolIT.await("shown as warming while it starts", () -> pool.figures().equals(new PodPool.Figures(0, 0, 1, 0)));
            assertThat(claim.isDone()).as("no Ready pod yet, so the claim still waits").isFalse();

            markReady(k, ns, started.getMetadata().getName());

            PodPool.Claim won = claim.get(30, TimeUnit.SECONDS);
            assertThat(won.warm()).isFalse();
            assertThat(won.pod().getMetadata().getName()).isEqualTo(started.getMetadata().getName());
            assertThat(listener.counts()).isEqualTo(Map.of(PoolListener.Result.COLD, 1));
            assertThat(listener.coldTook.get(0)).isPositive();
            assertThat(listener.coldBuilt).isEqualTo(listener.coldTook);
            assertThat(pool.figures()).isEqualTo(new PodPool.Figures(0, 0, 0, 1));
            assertThat(k.pods().inNamespace(ns).list().getItems()).hasSize(1);
        } finally {
            claimer.shutdownNow();
        }
    }

    @Test
    void claim_podNotReadyInTime_failsSayingWhatItWaitsOnAndDeletesIt_whileAReadyOneIsClaimed(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        Counting listener = new Counting();
        ExecutorService claimer = Executors.newSingleThreadExecutor();
        try (PodPool pool = new PodPool(k, template(k, ns), () -> 0, Duration.ofSeconds(5), listener, Clock.systemUTC())) {
            pool.start();
            Future<PodPool.Claim> claim = claimer.submit(() -> pool.claim("too-slow"));
            PodPoolIT.await("the claim's pod exists", () -> !claimedBy(k, ns, "too-slow").isEmpty());
            String name = claimedBy(k, ns, "too-slow").get(0).getMetadata().getName();
            // what a scheduler writes when no node fits
            setStatus(k, ns, name, "Pending", "PodScheduled", "False", "Unschedulable", "0/3 nodes are available: 3 Insufficient memory.");

            assertThatThrownBy(() -> unwrap(claim)).isInstanceOf(KubeBackendException.class)
                    .hasMessageContaining("no Ready pod of payments to claim, and the pod " + name + " started for this claim was not Ready within 5 s")
                    .hasMessageContaining("no node can take it (Unschedulable: 0/3 nodes are available: 3 Insufficient memory.)")
                    .hasMessageContaining("The pod was deleted.")
                    .hasMessageContaining("Fix: free or add nodes");
            PodPoolIT.await("the pod is gone", () -> k.pods().inNamespace(ns).withName(name).get() == null);
            assertThat(listener.counts()).isEqualTo(Map.of(PoolListener.Result.FAILED, 1));

            // control: the same claim whose pod becomes Ready in time succeeds
            Future<PodPool.Claim> again = claimer.submit(() -> pool.claim("in-time"));
            PodPoolIT.await("the second claim's pod exists", () -> !claimedBy(k, ns, "in-time").isEmpty());
            markReady(k, ns, claimedBy(k, ns, "in-time").get(0).getMetadata().getName());
            assertThat(again.get(30, TimeUnit.SECONDS).warm()).isFalse();
            assertThat(listener.counts()).isEqualTo(Map.of(PoolListener.Result.FAILED, 1, PoolListener.Result.COLD, 1));
        } finally {
            claimer.shutdownNow();
        }
    }

    @Test
    void claim_podThatEndsOrIsDeletedBeforeReady_failsAtOnceSayingSo_notAtTheTimeout(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        Counting listener = new Counting();
        ExecutorService claimer = Executors.newSingleThreadExecutor();
        // a timeout far beyond the test's waits: only the pod's own fate can end these claims in time
        try (PodPool pool = new PodPool(k, template(k, ns), () -> 0, Duration.ofMinutes(10), listener, Clock.systemUTC())) {
            pool.start();
            Future<PodPool.Claim> ended = claimer.submit(() -> pool.claim("ends"));
            PodPoolIT.await("the claim's pod exists", () -> !claimedBy(k, ns, "ends").isEmpty());
            String name = claimedBy(k, ns, "ends").get(0).getMetadata().getName();
            setStatus(k, ns, name, "Failed", "Ready", "False", "PodFailed", null);

            assertThatThrownBy(() -> unwrap(ended)).isInstanceOf(KubeBackendException.class)
                    .hasMessageContaining("the pod " + name + " started for this claim ended in phase Failed before it became Ready")
                    .hasMessageContaining("The pod was deleted.");
            PodPoolIT.await("the pod is gone", () -> k.pods().inNamespace(ns).withName(name).get() == null);

            Future<PodPool.Claim> deleted = claimer.submit(() -> pool.claim("deleted"));
            PodPoolIT.await("the second claim's pod exists", () -> !claimedBy(k, ns, "deleted").isEmpty());
            k.pods().inNamespace(ns).withName(claimedBy(k, ns, "deleted").get(0).getMetadata().getName()).delete();

            assertThatThrownBy(() -> unwrap(deleted)).isInstanceOf(KubeBackendException.class)
                    .hasMessageContaining("was deleted by someone else before it became Ready").hasMessageContaining("Fix: retry");
            assertThat(listener.counts()).isEqualTo(Map.of(PoolListener.Result.FAILED, 2));
        } finally {
            claimer.shutdownNow();
        }
    }

    @Test
    void claim_clientGoneWhileThePodStarts_givesUpAndDeletesThePod(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        Counting listener = new Counting();
        ExecutorService claimer = Executors.newSingleThreadExecutor();
        try (PodPool pool = new PodPool(k, template(k, ns), () -> 0, Duration.ofSeconds(60), listener, Clock.systemUTC())) {
            pool.start();
            CompletableFuture<Void> clientGone = new CompletableFuture<>();
            Future<PodPool.Claim> claim = claimer.submit(() -> pool.claim("left", clientGone));
            PodPoolIT.await("the claim's pod exists", () -> !claimedBy(k, ns, "left").isEmpty());
            String name = claimedBy(k, ns, "left").get(0).getMetadata().getName();

            clientGone.complete(null);

            assertThatThrownBy(() -> unwrap(claim)).isInstanceOf(KubeBackendException.class)
                    .hasMessageContaining("the pod " + name + " started for this claim was given up: the client went away");
            PodPoolIT.await("the pod is gone", () -> k.pods().inNamespace(ns).list().getItems().isEmpty());
            assertThat(listener.counts()).isEqualTo(Map.of(PoolListener.Result.FAILED, 1));
        } finally {
            claimer.shutdownNow();
        }
    }

    @Test
    void close_whileAColdClaimWaits_failsItAndDeletesItsPod(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        ExecutorService claimer = Executors.newSingleThreadExecutor();
        PodPool pool = new PodPool(k, template(k, ns), () -> 0, Duration.ofSeconds(60), new Counting(), Clock.systemUTC());
        try {
            pool.start();
            Future<PodPool.Claim> claim = claimer.submit(() -> pool.claim("at-shutdown"));
            PodPoolIT.await("the claim's pod exists", () -> !claimedBy(k, ns, "at-shutdown").isEmpty());

            pool.close();

            // deleted by close itself, before the daemon closes its client
            assertThat(k.pods().inNamespace(ns).list().getItems()).allSatisfy(p -> assertThat(p.getMetadata().getDeletionTimestamp()).isNotNull());
            assertThatThrownBy(() -> unwrap(claim)).isInstanceOf(KubeBackendException.class)
                    .hasMessageContaining("was still starting when the daemon shut down");
            PodPoolIT.await("the pod is gone", () -> k.pods().inNamespace(ns).list().getItems().isEmpty());
            assertThatThrownBy(() -> pool.claim("after-close")).isInstanceOf(KubeBackendException.class)
                    .hasMessageContaining("the daemon is shutting down");
            assertThat(k.pods().inNamespace(ns).list().getItems()).as("nothing created after close").isEmpty();
        } finally {
            pool.close();
            claimer.shutdownNow();
        }
    }

    @Test
    void claim_twentyConcurrentOnAPoolOfTwo_twoWarmAndEighteenCold_allDistinctPods(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        Counting listener = new Counting();
        ExecutorService threads = Executors.newFixedThreadPool(20);
        // 2 members + 20 claimed pods: exactly at the hard limit, so none is refused
        try (PodPool pool = new PodPool(k, template(k, ns), () -> 2, Duration.ofSeconds(60), 22, listener, Clock.systemUTC())) {
            pool.start();
            PodPoolIT.await("2 members", () -> pool.figures().warming() == 2);
            PodPoolIT.markAllReady(k, ns);
            PodPoolIT.await("2 ready", () -> pool.figures().ready() == 2);

            CountDownLatch go = new CountDownLatch(1);
            List<Future<PodPool.Claim>> results = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                String id = "c" + i;
                results.add(threads.submit(() -> {
                    go.await();
                    return pool.claim(id);
                }));
            }
            go.countDown();
            // plays the kubelet for the claims' own pods only: refilled members stay unready, so no late claim finds one warm
            Instant deadline = Instant.now().plusSeconds(60);
            while (!results.stream().allMatch(Future::isDone)) {
                assertThat(Instant.now()).as("all 20 claims served within 60 s").isBefore(deadline);
                for (Pod p : k.pods().inNamespace(ns).withLabel(ProjectNames.STATE, "claimed").list().getItems()) {
                    if (p.getStatus() == null || !"Running".equals(p.getStatus().getPhase())) {
                        markReady(k, ns, p.getMetadata().getName());
                    }
                }
                Thread.sleep(100);
            }
            List<PodPool.Claim> won = new ArrayList<>();
            for (Future<PodPool.Claim> f : results) {
                won.add(f.get());
            }

            assertThat(won.stream().filter(PodPool.Claim::warm).count()).isEqualTo(2);
            assertThat(won.stream().map(c -> c.pod().getMetadata().getName()).collect(Collectors.toSet())).hasSize(20);
            // as the API server holds them: 20 claimed pods, each labelled with exactly the claim that got it
            List<Pod> claimed = k.pods().inNamespace(ns).withLabel(ProjectNames.STATE, "claimed").list().getItems();
            assertThat(claimed).hasSize(20);
            assertThat(claimed.stream().map(p -> p.getMetadata().getLabels().get(ProjectNames.CLAIM)).collect(Collectors.toSet()))
                    .isEqualTo(won.stream().map(c -> c.pod().getMetadata().getLabels().get(ProjectNames.CLAIM)).collect(Collectors.toSet()))
                    .hasSize(20);
            assertThat(listener.counts()).isEqualTo(Map.of(PoolListener.Result.WARM, 2, PoolListener.Result.COLD, 18));
            PodPoolIT.await("the pool refilled beside them", () -> pool.figures().equals(new PodPool.Figures(2, 0, 2, 20)));
        } finally {
            threads.shutdownNow();
        }
    }

    @Test
    void claim_sixConcurrentOverAHardLimitOfThree_threeGetPodsAndTheOthersAreRefusedWithNothingCreated(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        Counting listener = new Counting();
        Burst burst = burstOfSix(k, ns, 3, listener);
        try {
            assertThat(burst.created()).as("pods ever created in the namespace: the member and 2 cold pods").hasSize(3);
            assertThat(burst.won()).hasSize(3);
            assertThat(burst.won().stream().filter(PodPool.Claim::warm).count()).isEqualTo(1);
            assertThat(burst.refused()).hasSize(3).allSatisfy((id, e) -> {
                assertThat(e).isInstanceOf(KubeBackendException.class).hasMessage("project payments has 3 sandboxes (pods), its hard limit;"
                        + " no pod was created for this claim. Fix: release some, or raise the hard limit in the daemon configuration.");
                // judged from the API server's side: nothing carries the refused claim's label
                assertThat(claimedBy(k, ns, id)).isEmpty();
            });
            assertThat(listener.counts()).isEqualTo(Map.of(PoolListener.Result.WARM, 1, PoolListener.Result.COLD, 2, PoolListener.Result.FAILED, 3));

            // the refill wants its member back, but the 3 claimed pods are the limit
            burst.pool().refill();
            Instant until = Instant.now().plusSeconds(2);
            while (Instant.now().isBefore(until)) {
                assertThat(k.pods().inNamespace(ns).withLabels(burst.selector()).list().getItems()).as("the refill stays within the limit").hasSize(3);
                Thread.sleep(100);
            }
            assertThat(burst.created()).hasSize(3);
            assertThat(burst.pool().figures()).isEqualTo(new PodPool.Figures(1, 0, 0, 3));

            // a release frees a place: the refill takes it, and no more
            burst.pool().release(burst.won().get(0));
            PodPoolIT.await("the member is refilled", () -> burst.pool().figures().equals(new PodPool.Figures(1, 0, 1, 2)));
            assertThat(burst.created()).hasSize(4);
            assertThat(k.pods().inNamespace(ns).withLabels(burst.selector()).list().getItems().stream()
                    .filter(p -> p.getMetadata().getDeletionTimestamp() == null)).hasSize(3);
        } finally {
            burst.close();
        }
    }

    @Test
    void claim_sixConcurrentWithinAHardLimitOfSix_allGetPods(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        Counting listener = new Counting();
        Burst burst = burstOfSix(k, ns, 6, listener);
        try {
            assertThat(burst.refused()).isEmpty();
            assertThat(burst.won()).hasSize(6);
            assertThat(burst.won().stream().map(c -> c.pod().getMetadata().getName()).collect(Collectors.toSet())).hasSize(6);
            assertThat(burst.created()).as("the member and 5 cold pods").hasSize(6);
            assertThat(listener.counts()).isEqualTo(Map.of(PoolListener.Result.WARM, 1, PoolListener.Result.COLD, 5));
        } finally {
            burst.close();
        }
    }

    /** What six concurrent claims on a pool of one Ready member got, and every pod name the namespace ever held. */
    private record Burst(PodPool pool, ExecutorService threads, io.fabric8.kubernetes.client.Watch watch, java.util.Set<String> created,
            List<PodPool.Claim> won, Map<String, Throwable> refused, Map<String, String> selector) implements AutoCloseable {
        @Override
        public void close() {
            watch.close();
            pool.close();
            threads.shutdownNow();
        }
    }

    /**
     * A pool of size 1 and the given hard limit, its member Ready; then six claims at once, the test
     * playing the kubelet for the claims' pods only, until every claim is answered.
     */
    private static Burst burstOfSix(KubernetesClient k, String ns, int hardLimit, Counting listener) throws Exception {
        AgentPods template = template(k, ns);
        java.util.Set<String> created = ConcurrentHashMap.newKeySet();
        io.fabric8.kubernetes.client.Watch watch = k.pods().inNamespace(ns).watch(new io.fabric8.kubernetes.client.Watcher<Pod>() {
            @Override
            public void eventReceived(Action action, Pod pod) {
                created.add(pod.getMetadata().getName());
            }

            @Override
            public void onClose(io.fabric8.kubernetes.client.WatcherException cause) {
            }
        });
        ExecutorService threads = Executors.newFixedThreadPool(6);
        PodPool pool = new PodPool(k, template, () -> 1, Duration.ofSeconds(60), hardLimit, listener, Clock.systemUTC());
        Burst burst = new Burst(pool, threads, watch, created, new ArrayList<>(), new java.util.TreeMap<>(), template.selector());
        try {
            pool.start();
            PodPoolIT.await("1 member", () -> pool.figures().warming() == 1);
            PodPoolIT.markAllReady(k, ns);
            PodPoolIT.await("1 ready", () -> pool.figures().ready() == 1);

            CountDownLatch go = new CountDownLatch(1);
            Map<String, Future<PodPool.Claim>> results = new java.util.TreeMap<>();
            for (int i = 0; i < 6; i++) {
                String id = "c" + i;
                results.put(id, threads.submit(() -> {
                    go.await();
                    return pool.claim(id);
                }));
            }
            go.countDown();
            Instant deadline = Instant.now().plusSeconds(60);
            while (!results.values().stream().allMatch(Future::isDone)) {
                assertThat(Instant.now()).as("all 6 claims answered within 60 s").isBefore(deadline);
                for (Pod p : k.pods().inNamespace(ns).withLabel(ProjectNames.STATE, "claimed").list().getItems()) {
                    if (p.getStatus() == null || !"Running".equals(p.getStatus().getPhase())) {
                        markReady(k, ns, p.getMetadata().getName());
                    }
                }
                Thread.sleep(100);
            }
            for (Map.Entry<String, Future<PodPool.Claim>> r : results.entrySet()) {
                try {
                    burst.won().add(r.getValue().get());
                } catch (java.util.concurrent.ExecutionException e) {
                    burst.refused().put(r.getKey(), e.getCause());
                }
            }
            return burst;
        } catch (Exception | AssertionError e) {
            burst.close();
            throw e;
        }
    }

    private static AgentPods template(KubernetesClient k, String ns) throws Exception {
        AppliedProject applied = new ProjectApplier(k).apply(Fixtures.manifests(ns));
        return applied.agentPods(Fixtures.settings(ns), Resources.DEFAULT);
    }

    private static List<Pod> claimedBy(KubernetesClient k, String ns, String claim) {
        return k.pods().inNamespace(ns).withLabel(ProjectNames.CLAIM, claim).list().getItems();
    }

    private static PodPool.Claim unwrap(Future<PodPool.Claim> f) throws Throwable {
        try {
            return f.get(60, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause();
        }
    }

    /** Plays the kubelet for one pod: Running and Ready. */
    static void markReady(KubernetesClient k, String ns, String name) {
        setStatus(k, ns, name, "Running", "Ready", "True", null, null);
    }

    private static void setStatus(KubernetesClient k, String ns, String name, String phase, String type, String status, String reason, String message) {
        String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        k.pods().inNamespace(ns).withName(name).editStatus(x -> {
            PodStatus s = x.getStatus() == null ? new PodStatus() : x.getStatus();
            s.setPhase(phase);
            s.setConditions(List.of(new PodConditionBuilder().withType(type).withStatus(status).withReason(reason).withMessage(message)
                    .withLastTransitionTime(now).build()));
            x.setStatus(s);
            return x;
        });
    }

    /** Counts claims by result, as the daemon's metrics and usage history receive them. */
    private static final class Counting implements PoolListener {
        private final Map<Result, Integer> counts = new ConcurrentHashMap<>();
        final List<Duration> coldTook = java.util.Collections.synchronizedList(new ArrayList<>());
        /** A cold claim's build time is its whole latency, as on one host. */
        final List<Duration> coldBuilt = java.util.Collections.synchronizedList(new ArrayList<>());

        @Override
        public void claimed(String project, Result result, Duration took, Duration age, Duration built) {
            counts.merge(result, 1, Integer::sum);
            if (result == Result.COLD) {
                coldTook.add(took);
                coldBuilt.add(built);
            }
        }

        Map<Result, Integer> counts() {
            return Map.copyOf(counts);
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
