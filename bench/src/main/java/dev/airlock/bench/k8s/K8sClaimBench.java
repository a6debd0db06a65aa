package dev.airlock.bench.k8s;

import dev.airlock.k8s.ClusterSettings;
import dev.airlock.k8s.KubeClients;
import dev.airlock.k8s.PodPool;
import dev.airlock.k8s.ProjectApplier;
import dev.airlock.k8s.ProjectManifests;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.pool.warm.PoolListener;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Warm claims from the Kubernetes pool ({@link PodPool}) against a real API server: each claim is
 * the resourceVersion-locked relabel of a Ready member, timed in-process (the daemon's view, before
 * any API of Airlock's own). No kubelet is assumed: the bench marks new members Ready through the
 * status subresource, and before each claim waits until the pool is full again, so it measures a
 * claim, not a race with the refill. It works in a namespace of its own and deletes it at the end.
 *
 * <p>Run: {@code bench/k8s/run-k8s-claim-bench.sh KUBECONFIG [CLAIMS]} (default 200).
 */
public final class K8sClaimBench {

    private static final String PROJECT = "version: 1\nproject: bench\nnetwork:\n  allow: [example.test]\n";

    private K8sClaimBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: K8sClaimBench KUBECONFIG [CLAIMS]");
            System.exit(2);
        }
        int claims = args.length > 1 ? Integer.parseInt(args[1]) : 200;
        int warmup = Math.min(10, claims / 10);
        String ns = "alk-bench-" + Long.toHexString(System.nanoTime() & 0xffffff);
        try (KubernetesClient k = KubeClients.connect(Optional.of(Path.of(args[0])))) {
            k.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).create();
            try {
                ProjectPolicy project = PolicyFiles.parseProject("airlock.yaml", PROJECT);
                ClusterSettings settings = new ClusterSettings(ns, "registry.test/airlock:bench", "registry.test/devbox:bench");
                var applied = new ProjectApplier(k).apply(ProjectManifests.of(project, OrgPolicy.NONE, PROJECT, Optional.empty(), settings));
                List<Double> ms = new ArrayList<>();
                try (PodPool pool = new PodPool(k, applied.agentPods(settings, ProjectPolicy.Resources.DEFAULT), 2, PoolListener.NONE,
                        Clock.systemUTC())) {
                    pool.start();
                    for (int i = 0; i < claims + warmup; i++) {
                        waitFull(k, ns, pool);
                        long t0 = System.nanoTime();
                        PodPool.Claim c = pool.claimWarm("bench-" + i).orElseThrow(() -> new IllegalStateException("no ready member"));
                        double took = (System.nanoTime() - t0) / 1e6;
                        if (i >= warmup) {
                            ms.add(took);
                        }
                        pool.release(c);
                    }
                }
                Collections.sort(ms);
                System.out.printf(Locale.ROOT, "%nserver %s, claims=%d (after %d warm-up), pool of 2%n", k.getKubernetesVersion().getGitVersion(),
                        claims, warmup);
                System.out.printf(Locale.ROOT, "%-40s %8s %8s %8s %8s%n", "(ms)", "p50", "p99", "mean", "max");
                System.out.printf(Locale.ROOT, "%-40s %8.2f %8.2f %8.2f %8.2f%n", "warm claim (relabel with resourceVersion)", pct(ms, 0.5),
                        pct(ms, 0.99), ms.stream().mapToDouble(d -> d).average().orElse(0), ms.get(ms.size() - 1));
            } finally {
                k.namespaces().withName(ns).delete();
            }
        }
    }

    /** Plays the kubelet for new members, then waits until both are Ready in the pool's informer cache. */
    private static void waitFull(KubernetesClient k, String ns, PodPool pool) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (pool.figures().ready() < 2) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the pool did not refill within 30 s: " + pool.figures());
            }
            String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
            for (Pod p : k.pods().inNamespace(ns).withLabel("airlock.dev/state", "ready").list().getItems()) {
                if (p.getStatus() == null || !"Running".equals(p.getStatus().getPhase())) {
                    k.pods().inNamespace(ns).withName(p.getMetadata().getName()).editStatus(x -> {
                        PodStatus s = x.getStatus() == null ? new PodStatus() : x.getStatus();
                        s.setPhase("Running");
                        s.setConditions(List.of(new PodConditionBuilder().withType("Ready").withStatus("True").withLastTransitionTime(now).build()));
                        x.setStatus(s);
                        return x;
                    });
                }
            }
            Thread.sleep(20);
        }
    }

    private static double pct(List<Double> sorted, double q) {
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(q * sorted.size()) - 1));
    }
}
