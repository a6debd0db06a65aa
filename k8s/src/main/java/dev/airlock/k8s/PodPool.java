package dev.airlock.k8s;

import dev.airlock.pool.warm.MemberDeath;
import dev.airlock.pool.warm.PoolListener;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntSupplier;

/**
 * A project's warm pool as a controller: it keeps {@code size} agent pods in state {@code ready}
 * from the current template, driven by a pod informer (events, not polling). A member is claimed by
 * relabelling it {@code claimed} with its resourceVersion as a precondition, so the API server lets
 * exactly one of two racing claims win; the loser moves on to another member. A claimed, deleted or
 * dead member is replaced; members of an older template (another policy, image or gateway) are
 * deleted and replaced, which rotates the pool.
 */
public final class PodPool implements AutoCloseable {

    /** The pool's figures as {@code pool status} and {@code /metrics} show them. */
    public record Figures(int desired, int ready, int warming, int inUse) {
    }

    /** A won claim: the pod, how long the claim took, and how long the member had been ready. */
    public record Claim(Pod pod, Duration took, Duration ageAtClaim) {
    }

    /** How long a created pod counts as pending before the informer has shown it. */
    private static final Duration PENDING_GRACE = Duration.ofSeconds(30);

    private final KubernetesClient client;
    /** The pool's size, asked at every reconcile: fixed, or the Erlang-B recommendation of the hour (the daemon's auto sizing). */
    private final IntSupplier desired;
    private final PoolListener listener;
    private final Clock clock;
    private final ScheduledExecutorService loop;
    private final AtomicBoolean queued = new AtomicBoolean();
    /** Created members the informer has not shown yet, with when they were created: without them a burst of events over-creates. */
    private final Map<String, Instant> pending = Collections.synchronizedMap(new HashMap<>());
    private volatile AgentPods template;
    private SharedIndexInformer<Pod> informer;

    public PodPool(KubernetesClient client, AgentPods template, int size, PoolListener listener, Clock clock) {
        this(client, template, fixed(size), listener, clock);
    }

    private static IntSupplier fixed(int size) {
        if (size < 0) {
            throw new IllegalArgumentException("pool size " + size + " is negative");
        }
        return () -> size;
    }

    /** A pool whose size follows {@code desired} (read at every reconcile; {@link #refill()} applies a change). */
    public PodPool(KubernetesClient client, AgentPods template, IntSupplier desired, PoolListener listener, Clock clock) {
        this.client = client;
        this.template = template;
        this.desired = desired;
        this.listener = listener;
        this.clock = clock;
        this.loop = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "airlock-k8s-pool-" + template.names().project());
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts the informer (its first list is synced when this returns) and the first reconcile. */
    public void start() throws KubeBackendException {
        try {
            informer = client.pods().inNamespace(template.namespace()).withLabels(template.selector()).inform(new ResourceEventHandler<>() {
                @Override
                public void onAdd(Pod pod) {
                    reconcileSoon();
                }

                @Override
                public void onUpdate(Pod before, Pod after) {
                    reconcileSoon();
                }

                @Override
                public void onDelete(Pod pod, boolean finalStateUnknown) {
                    reconcileSoon();
                }
            }, 0);
        } catch (KubernetesClientException e) {
            throw new KubeBackendException(KubeErrors.explain(e, "watch the pods of project " + template.names().project()), e);
        }
        reconcileSoon();
    }

    /** A new template (policy, image, gateway address): members of the old one are replaced. */
    public void rotate(AgentPods next) {
        template = next;
        reconcileSoon();
    }

    public Figures figures() {
        int ready = 0;
        int warming = 0;
        int inUse = 0;
        String hash = template.templateHash();
        for (Pod p : members()) {
            if (isClaimed(p)) {
                inUse++;
            } else if (isReadyState(p) && hash.equals(label(p, ProjectNames.TEMPLATE))) {
                if (isReady(p)) {
                    ready++;
                } else {
                    warming++;
                }
            }
        }
        return new Figures(size(), ready, warming, inUse);
    }

    /**
     * Claims a ready member for {@code claimId}, or empty when none is ready. The relabel carries
     * the member's resourceVersion, so a member another claim took in the meantime answers 409 here
     * and the next one is tried (a member that only changed otherwise, say its status, is retried at
     * its new version).
     */
    public Optional<Claim> claim(String claimId) {
        Instant start = clock.instant();
        String hash = template.templateHash();
        List<Pod> candidates = new ArrayList<>(members().stream()
                .filter(p -> isReadyState(p) && isReady(p) && hash.equals(label(p, ProjectNames.TEMPLATE))).toList());
        // Racing claims start at different members, so most win at the first try.
        Collections.shuffle(candidates);
        for (Pod cached : candidates) {
            Pod candidate = cached;
            // The informer's copy may lag the API server: after a 409 the member is read afresh and,
            // if it is still an unclaimed Ready member of this template, tried once more at its new version.
            for (int attempt = 0; attempt < 2 && candidate != null; attempt++) {
                Pod edited = client.getKubernetesSerialization().clone(candidate);
                edited.getMetadata().getLabels().put(ProjectNames.STATE, "claimed");
                edited.getMetadata().getLabels().put(ProjectNames.CLAIM, ProjectNames.label(claimId));
                try {
                    Pod won = client.pods().inNamespace(template.namespace()).resource(edited)
                            .lockResourceVersion(candidate.getMetadata().getResourceVersion()).update();
                    return Optional.of(won(candidate, won, start));
                } catch (KubernetesClientException e) {
                    if (e.getCode() != 409 && e.getCode() != 404) {
                        throw e;
                    }
                    Pod fresh = e.getCode() == 404 ? null : client.pods().inNamespace(template.namespace()).withName(candidate.getMetadata().getName()).get();
                    candidate = fresh != null && isReadyState(fresh) && isReady(fresh) && hash.equals(label(fresh, ProjectNames.TEMPLATE)) ? fresh : null;
                }
            }
        }
        return Optional.empty();
    }

    private Claim won(Pod candidate, Pod won, Instant start) {
        Duration took = Duration.between(start, clock.instant());
        Instant readySince = readySince(candidate).orElse(start);
        Duration age = Duration.between(readySince, start);
        Duration built = Duration.between(Instant.parse(candidate.getMetadata().getCreationTimestamp()), readySince);
        listener.claimed(template.names().project(), PoolListener.Result.WARM, took, age, built.isNegative() ? Duration.ZERO : built);
        reconcileSoon();
        return new Claim(won, took, age);
    }

    /** Ends a claim: members are used once, so the pod is deleted (and the pool refills). */
    public void release(Claim claim) {
        client.pods().inNamespace(template.namespace()).withName(claim.pod().getMetadata().getName()).delete();
    }

    /** Reconciles with the desired size now (the daemon calls it when its sizing may have changed). */
    public void refill() {
        reconcileSoon();
    }

    private int size() {
        return Math.max(0, desired.getAsInt());
    }

    private void reconcileSoon() {
        if (queued.compareAndSet(false, true)) {
            loop.execute(this::reconcile);
        }
    }

    private void reconcile() {
        queued.set(false);
        try {
            AgentPods t = template;
            String hash = t.templateHash();
            List<Pod> members = members();
            Instant now = clock.instant();
            synchronized (pending) {
                members.forEach(p -> pending.remove(p.getMetadata().getName()));
                pending.values().removeIf(created -> created.plus(PENDING_GRACE).isBefore(now));
            }
            int size = size();
            List<Pod> current = new ArrayList<>();
            for (Pod p : members) {
                if (!isReadyState(p) || p.getMetadata().getDeletionTimestamp() != null) {
                    continue;
                }
                String phase = p.getStatus() == null ? null : p.getStatus().getPhase();
                if ("Failed".equals(phase) || "Succeeded".equals(phase)) {
                    listener.memberDied(t.names().project(), new MemberDeath("exited", p.getMetadata().getName() + ": the pod ended in phase " + phase
                            + AgentPods.initFailure(p).map(m -> " (" + m + ")").orElse("")));
                    delete(p);
                } else if (!hash.equals(label(p, ProjectNames.TEMPLATE))) {
                    delete(p); // rotation: an older template's member
                } else {
                    current.add(p);
                }
            }
            // the size went down: members that are not Ready yet go first, then Ready ones
            current.sort(java.util.Comparator.comparing(PodPool::isReady).reversed());
            while (current.size() > size) {
                delete(current.remove(current.size() - 1));
            }
            for (int missing = size - current.size() - pending.size(); missing > 0; missing--) {
                Instant start = clock.instant();
                Pod created = client.pods().inNamespace(t.namespace()).resource(t.newMember()).create();
                pending.put(created.getMetadata().getName(), start);
                listener.refilled(t.names().project(), Duration.between(start, clock.instant()));
            }
        } catch (KubernetesClientException e) {
            listener.refillFailed(template.names().project(), new KubeBackendException(KubeErrors.explain(e, "refill the pool of project "
                    + template.names().project()), e));
            loop.schedule(this::reconcileSoon, 1, TimeUnit.SECONDS);
        }
    }

    private void delete(Pod p) {
        client.pods().inNamespace(template.namespace()).withName(p.getMetadata().getName()).delete();
    }

    private List<Pod> members() {
        return informer == null ? List.of() : informer.getStore().list();
    }

    private static boolean isReadyState(Pod p) {
        return "ready".equals(label(p, ProjectNames.STATE));
    }

    private static boolean isClaimed(Pod p) {
        return "claimed".equals(label(p, ProjectNames.STATE));
    }

    private static boolean isReady(Pod p) {
        return p.getMetadata().getDeletionTimestamp() == null && readyCondition(p).map(c -> "True".equals(c.getStatus())).orElse(false);
    }

    private static Optional<PodCondition> readyCondition(Pod p) {
        if (p.getStatus() == null || p.getStatus().getConditions() == null) {
            return Optional.empty();
        }
        return p.getStatus().getConditions().stream().filter(c -> "Ready".equals(c.getType())).findFirst();
    }

    private static Optional<Instant> readySince(Pod p) {
        return readyCondition(p).map(PodCondition::getLastTransitionTime).filter(s -> s != null && !s.isEmpty()).map(Instant::parse);
    }

    private static String label(Pod p, String key) {
        return p.getMetadata().getLabels() == null ? null : p.getMetadata().getLabels().get(key);
    }

    @Override
    public void close() {
        if (informer != null) {
            informer.stop();
        }
        loop.shutdownNow();
    }
}
