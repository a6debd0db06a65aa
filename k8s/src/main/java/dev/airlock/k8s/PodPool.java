package dev.airlock.k8s;

import dev.airlock.pool.warm.MemberDeath;
import dev.airlock.pool.warm.PoolListener;
import dev.airlock.pool.warm.WarmPool;
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
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;

/**
 * A project's warm pool as a controller: it keeps {@code size} agent pods in state {@code ready}
 * from the current template, driven by a pod informer (events, not polling). A member is claimed by
 * relabelling it {@code claimed} with its resourceVersion as a precondition, so the API server lets
 * exactly one of two racing claims win; the loser moves on to another member. A claimed, deleted or
 * dead member is replaced; members of an older template (another policy, image or gateway) are
 * deleted and replaced, which rotates the pool.
 *
 * <p>When no member is Ready the claim is served cold, as the local pool does: it creates a pod of
 * the current template labelled {@code claimed} for this claim from the start (so reconcile never
 * counts it as a member nor hands it out) and waits, on the informer's events, until it is Ready.
 * Like the local pool it does not wait for a warming member: a member that becomes Ready meanwhile
 * stays for the next claim. A cold pod that is not Ready within the timeout, whose client goes
 * away, or that is still waiting when the pool closes is deleted, and the claim fails saying what
 * the pod was waiting on. A create/close lock makes {@link #close()} wait for creates in flight, so
 * every cold pod is either handed out or deleted.
 *
 * <p>At most {@code hardLimit} pods of the project exist at once (members ready or starting, claimed
 * pods, cold pods starting), as the local pool bounds its sandboxes: a cold claim over it is refused
 * before anything is created, and a refill stops at it. Counting the pods and creating one is one
 * step under a lock, so racing claims cannot both take the last place; a claim not yet decided
 * keeps its room from the refill, since a member is only for later claims.
 */
public final class PodPool implements AutoCloseable {

    /** The pool's figures as {@code pool status} and {@code /metrics} show them. */
    public record Figures(int desired, int ready, int warming, int inUse) {
    }

    /**
     * A won claim: the pod, how long the claim took, how long the member had been ready (zero when
     * cold), and whether it was a Ready member ({@code warm}) or a pod created for this claim.
     */
    public record Claim(Pod pod, Duration took, Duration ageAtClaim, boolean warm) {
    }

    /** How long a cold claim waits for its pod to become Ready: pulling an agent image can take a minute on a fresh node. */
    public static final Duration COLD_START_TIMEOUT = Duration.ofSeconds(120);

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
    private final Duration coldStartTimeout;
    /** Cold claims waiting for their pod to become Ready, by pod name; the informer's events complete them. */
    private final Map<String, CompletableFuture<Pod>> cold = new ConcurrentHashMap<>();
    /** Cold creates hold it shared; close holds it exclusively, so no cold pod is created after close has swept them. */
    private final ReadWriteLock coldCreates = new ReentrantReadWriteLock();
    private boolean closed;
    /**
     * The claim labels this pool handed out and not yet released, added before the API call that
     * labels a pod: a claimed pod whose label is not here was left by an earlier daemon (a crash) or
     * by a release whose delete failed, and {@link #reconcile()} deletes it.
     */
    private final Set<String> held = ConcurrentHashMap.newKeySet();
    private final int hardLimit;
    /**
     * Held from counting the project's pods until the created pod's name is recorded (in {@link #cold}
     * or {@link #pending}), so two creates never both take the last place under the hard limit. It
     * makes creates one at a time; a name known only once the API server answers leaves no other way
     * to count a pod exactly once (the informer may show it before the create returns).
     */
    private final ReentrantLock budget = new ReentrantLock();
    /** Claims that have neither won a member nor been given or refused a cold pod; a refill leaves them room. */
    private final AtomicInteger deciding = new AtomicInteger();
    /** A refill stopped short to leave room for deciding claims, so it runs again once none is left. */
    private final AtomicBoolean refillHeld = new AtomicBoolean();

    public PodPool(KubernetesClient client, AgentPods template, int size, PoolListener listener, Clock clock) {
        this(client, template, fixed(size), listener, clock);
    }

    /** A pool whose size follows {@code desired}, and whose cold claims wait at most {@link #COLD_START_TIMEOUT}. */
    public PodPool(KubernetesClient client, AgentPods template, IntSupplier desired, PoolListener listener, Clock clock) {
        this(client, template, desired, COLD_START_TIMEOUT, listener, clock);
    }

    private static IntSupplier fixed(int size) {
        if (size < 0) {
            throw new IllegalArgumentException("pool size " + size + " is negative");
        }
        return () -> size;
    }

    /**
     * A pool whose size follows {@code desired} (read at every reconcile; {@link #refill()} applies a
     * change); a cold claim waits at most {@code coldStartTimeout} for its pod to become Ready.
     */
    public PodPool(KubernetesClient client, AgentPods template, IntSupplier desired, Duration coldStartTimeout, PoolListener listener, Clock clock) {
        this(client, template, desired, coldStartTimeout, WarmPool.Settings.PROJECT_HARD_LIMIT, listener, clock);
    }

    /**
     * A pool as above whose project has at most {@code hardLimit} pods at once (ready, starting,
     * claimed, cold-starting): the project's {@code hardLimit} of the daemon configuration.
     */
    public PodPool(KubernetesClient client, AgentPods template, IntSupplier desired, Duration coldStartTimeout, int hardLimit, PoolListener listener,
            Clock clock) {
        if (coldStartTimeout.isNegative() || coldStartTimeout.isZero()) {
            throw new IllegalArgumentException("cold start timeout " + coldStartTimeout + " is not positive");
        }
        if (hardLimit < 1) {
            throw new IllegalArgumentException("hardLimit must be at least 1, got " + hardLimit);
        }
        this.hardLimit = hardLimit;
        this.coldStartTimeout = coldStartTimeout;
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
                    coldSeen(pod);
                    reconcileSoon();
                }

                @Override
                public void onUpdate(Pod before, Pod after) {
                    coldSeen(after);
                    reconcileSoon();
                }

                @Override
                public void onDelete(Pod pod, boolean finalStateUnknown) {
                    CompletableFuture<Pod> waiting = cold.get(pod.getMetadata().getName());
                    if (waiting != null) {
                        waiting.completeExceptionally(new ColdStartFailed("was deleted by someone else before it became Ready"));
                    }
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
            if (isClaimed(p) && cold.containsKey(p.getMetadata().getName())) {
                warming++; // a cold claim's pod counts as warming while it starts, as a local cold build does
            } else if (isClaimed(p)) {
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

    /** {@link #claim(String, CompletionStage)} for a caller that never goes away. */
    public Claim claim(String claimId) throws KubeBackendException {
        return claim(claimId, new CompletableFuture<>());
    }

    /**
     * A Ready member for {@code claimId} if there is one (warm), else a pod created for it and
     * waited for (cold). When {@code abandoned} completes (the client went away) a cold claim stops
     * waiting and deletes its pod. Either way the claim is reported to the listener as on one host:
     * WARM or COLD with its latency, or FAILED.
     *
     * @throws KubeBackendException no pod could be had: the API server refused, or the cold pod was
     *     not Ready in time (the message says what it waited on, and the fix); nothing is left behind
     */
    public Claim claim(String claimId, CompletionStage<?> abandoned) throws KubeBackendException {
        Instant start = clock.instant();
        String label = ProjectNames.label(claimId);
        held.add(label);
        boolean won = false;
        deciding.incrementAndGet();
        boolean undecided = true;
        try {
            Optional<Claim> warm;
            try {
                warm = claimWarm(claimId, start);
            } catch (KubernetesClientException e) {
                failed(start);
                throw new KubeBackendException(KubeErrors.explain(e, "claim a pod of project " + template.names().project()), e);
            }
            Claim c;
            if (warm.isPresent()) {
                c = warm.get();
            } else {
                undecided = false; // claimCold decides it, whatever it answers
                c = claimCold(claimId, start, abandoned);
            }
            won = true;
            return c;
        } finally {
            if (undecided) {
                decided();
            }
            if (!won) {
                held.remove(label);
            }
        }
    }

    /** The claim got its pod or its refusal: a refill held back for it may run now. */
    private void decided() {
        if (deciding.decrementAndGet() == 0 && refillHeld.getAndSet(false) && !loop.isShutdown()) {
            try {
                reconcileSoon();
            } catch (RejectedExecutionException e) {
                // the pool closed meanwhile: nothing to refill
            }
        }
    }

    /**
     * The project's pods that hold a place under the hard limit: every pod the informer shows that
     * is not being deleted (members of any template, claimed pods, cold pods), and created pods it
     * does not show yet, each once by name. A pod being deleted no longer counts, as a released local
     * sandbox does not while it is destroyed.
     */
    private int counted() {
        assert budget.isHeldByCurrentThread();
        Set<String> names = new HashSet<>();
        for (Pod p : members()) {
            if (p.getMetadata().getDeletionTimestamp() == null) {
                names.add(p.getMetadata().getName());
            }
        }
        synchronized (pending) {
            names.addAll(pending.keySet());
        }
        names.addAll(cold.keySet());
        return names.size();
    }

    /**
     * Claims a Ready member for {@code claimId}, or empty when none is ready; never creates one.
     * The relabel carries the member's resourceVersion, so a member another claim took in the
     * meantime answers 409 here and the next one is tried (a member that only changed otherwise, say
     * its status, is retried at its new version).
     */
    public Optional<Claim> claimWarm(String claimId) {
        String label = ProjectNames.label(claimId);
        held.add(label);
        Optional<Claim> c = Optional.empty();
        try {
            c = claimWarm(claimId, clock.instant());
            return c;
        } finally {
            if (c.isEmpty()) {
                held.remove(label);
            }
        }
    }

    private Optional<Claim> claimWarm(String claimId, Instant start) {
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
        return new Claim(won, took, age, true);
    }

    private Claim claimCold(String claimId, Instant start, CompletionStage<?> abandoned) throws KubeBackendException {
        AgentPods t = template;
        String project = t.names().project();
        CompletableFuture<Pod> ready = new CompletableFuture<>();
        String name = null;
        int counted;
        coldCreates.readLock().lock();
        try {
            if (closed) {
                decided();
                failed(start);
                throw new KubeBackendException("no Ready pod of " + project + " and the daemon is shutting down, so none is created."
                        + " Fix: retry when the daemon runs again");
            }
            budget.lock();
            try {
                counted = counted();
                if (counted < hardLimit) {
                    Pod spec = t.newMember();
                    spec.getMetadata().getLabels().put(ProjectNames.STATE, "claimed");
                    spec.getMetadata().getLabels().put(ProjectNames.CLAIM, ProjectNames.label(claimId));
                    name = client.pods().inNamespace(t.namespace()).resource(spec).create().getMetadata().getName();
                    cold.put(name, ready);
                }
            } finally {
                decided(); // given a pod, refused, or failed: either way no longer a claim the refill must leave room for
                budget.unlock();
            }
        } catch (KubernetesClientException e) {
            failed(start);
            throw new KubeBackendException(KubeErrors.explain(e, "create a pod for a cold claim of project " + project), e);
        } finally {
            coldCreates.readLock().unlock();
        }
        if (name == null) {
            failed(start);
            // as the local pool refuses a claim over its hard limit, nothing created
            throw new KubeBackendException("project " + project + " has " + counted + " sandboxes (pods), its hard limit;"
                    + " no pod was created for this claim. Fix: release some, or raise the hard limit in the daemon configuration.");
        }
        abandoned.whenComplete((x, e) -> ready.completeExceptionally(new ColdStartFailed("was given up: the client went away while it started")));
        // the informer may have shown it before the waiter was registered (its store is updated before handlers run)
        Pod seen = informer == null ? null : informer.getStore().getByKey(t.namespace() + "/" + name);
        if (seen != null) {
            coldSeen(seen);
        }
        String why;
        boolean deleted = false;
        try {
            Pod pod = ready.get(coldStartTimeout.toMillis(), TimeUnit.MILLISECONDS);
            Duration took = Duration.between(start, clock.instant());
            listener.claimed(project, PoolListener.Result.COLD, took, Duration.ZERO, took);
            return new Claim(pod, took, Duration.ZERO, false);
        } catch (TimeoutException e) {
            Pod last = informer == null ? null : informer.getStore().getByKey(t.namespace() + "/" + name);
            why = "was not Ready within " + coldStartTimeout.toSeconds() + " s: " + PodPending.explain(last);
        } catch (ExecutionException e) {
            why = e.getCause().getMessage();
            deleted = e.getCause() instanceof ColdStartFailed f && f.deletedByClose;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            why = "was given up: the claim was interrupted";
        } finally {
            cold.remove(name);
        }
        if (!deleted) {
            deleteQuietly(t.namespace(), name);
        }
        failed(start);
        String m = "no Ready pod of " + project + " to claim, and the pod " + name + " started for this claim " + why;
        int fix = m.indexOf(". Fix: ");
        throw new KubeBackendException((fix < 0 ? m + "." : m.substring(0, fix + 1)) + " The pod was deleted."
                + (fix < 0 ? " Fix: retry, or keep pods warm (pool.min in airlock.yaml)." : m.substring(fix + 1) + "."));
    }

    /** A cold claim's pod changed: Ready hands it to the claim; ended fails the claim. */
    private void coldSeen(Pod p) {
        CompletableFuture<Pod> waiting = cold.get(p.getMetadata().getName());
        if (waiting == null) {
            return;
        }
        if (isReady(p)) {
            waiting.complete(p);
            return;
        }
        String phase = p.getStatus() == null ? null : p.getStatus().getPhase();
        if ("Failed".equals(phase) || "Succeeded".equals(phase)) {
            waiting.completeExceptionally(new ColdStartFailed("ended in phase " + phase + " before it became Ready: " + PodPending.explain(p)));
        }
    }

    /** Why a cold claim's wait ended without a Ready pod (a message for the claim's error). */
    private static final class ColdStartFailed extends Exception {
        private static final long serialVersionUID = 1L;
        /** {@link #close()} deleted the pod already (the client may be closed by the time the claim's thread runs). */
        final boolean deletedByClose;

        ColdStartFailed(String message) {
            this(message, false);
        }

        ColdStartFailed(String message, boolean deletedByClose) {
            super(message, null, false, false);
            this.deletedByClose = deletedByClose;
        }
    }

    private void failed(Instant start) {
        listener.claimed(template.names().project(), PoolListener.Result.FAILED, Duration.between(start, clock.instant()), Duration.ZERO,
                Duration.ZERO);
    }

    /** Deletes a cold claim's pod on a failure path; a pod already gone is fine, anything else is reported (it may be left). */
    private void deleteQuietly(String namespace, String name) {
        try {
            client.pods().inNamespace(namespace).withName(name).delete();
        } catch (KubernetesClientException e) {
            listener.refillFailed(template.names().project(), new KubeBackendException(KubeErrors.explain(e,
                    "delete the pod " + name + " of a failed cold claim", "The pod may be left; it carries the claimed label, so no claim takes it."), e));
        }
    }

    /**
     * Ends a claim: members are used once, so the pod is deleted (and the pool refills). The claim
     * ends even when the delete fails: the pod is then no claim's, and reconcile deletes it once the
     * API server answers again.
     *
     * @throws KubeBackendException the delete failed (the message says the pod is deleted later)
     */
    public void release(Claim claim) throws KubeBackendException {
        String name = claim.pod().getMetadata().getName();
        held.remove(label(claim.pod(), ProjectNames.CLAIM));
        try {
            client.pods().inNamespace(template.namespace()).withName(name).delete();
        } catch (KubernetesClientException e) {
            loop.schedule(this::reconcileSoon, 5, TimeUnit.SECONDS);
            throw new KubeBackendException(KubeErrors.explain(e, "delete the pod " + name,
                    "The claim is released all the same; the pool deletes the pod when the API server answers."), e);
        }
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
                if (isClaimed(p) && p.getMetadata().getDeletionTimestamp() == null && !held.contains(label(p, ProjectNames.CLAIM))
                        && !cold.containsKey(p.getMetadata().getName())) {
                    delete(p); // no claim of this daemon holds it: an earlier daemon's, or a release whose delete failed
                    continue;
                }
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
            current.sort(Comparator.comparing(PodPool::isReady).reversed());
            while (current.size() > size) {
                delete(current.remove(current.size() - 1));
            }
            for (int missing = size - current.size() - pending.size(); missing > 0 && reserveMember(); missing--) {
                Instant start = clock.instant();
                try {
                    pending.put(client.pods().inNamespace(t.namespace()).resource(t.newMember()).create().getMetadata().getName(), start);
                } finally {
                    budget.unlock(); // taken by reserveMember
                }
                listener.refilled(t.names().project(), Duration.between(start, clock.instant()));
            }
        } catch (KubernetesClientException e) {
            listener.refillFailed(template.names().project(), new KubeBackendException(KubeErrors.explain(e, "refill the pool of project "
                    + template.names().project()), e));
            loop.schedule(this::reconcileSoon, 1, TimeUnit.SECONDS);
        }
    }

    /**
     * Whether there is a place under the hard limit for one new member after the claims still
     * deciding (they may need a cold pod; a member is only for later claims). When there is, the
     * budget lock is held for the create, and the caller unlocks it.
     */
    private boolean reserveMember() {
        budget.lock();
        refillHeld.set(true); // before reading deciding: a claim decided meanwhile sees it and reconciles again
        if (counted() + deciding.get() >= hardLimit) {
            budget.unlock();
            return false;
        }
        refillHeld.set(false);
        return true;
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

    /**
     * Stops the controller (once; later calls do nothing). Cold claims still waiting fail, and their
     * pods are deleted here, before the client closes; creates in flight finish first, so none slips past.
     */
    @Override
    public void close() {
        boolean already;
        coldCreates.writeLock().lock();
        try {
            already = closed;
            closed = true;
        } finally {
            coldCreates.writeLock().unlock();
        }
        if (already) {
            return;
        }
        for (Map.Entry<String, CompletableFuture<Pod>> e : cold.entrySet()) {
            if (e.getValue().completeExceptionally(new ColdStartFailed("was still starting when the daemon shut down", true))) {
                deleteQuietly(template.namespace(), e.getKey());
            }
        }
        if (informer != null) {
            informer.stop();
        }
        loop.shutdownNow();
    }
}
