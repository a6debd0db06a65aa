package dev.airlock.k8s;

import dev.airlock.k8s.ProjectApplier.AppliedProject;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.pool.warm.PoolListener;
import dev.airlock.pool.warm.WarmPool;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntSupplier;

/**
 * The daemon's projects on a cluster: for each configured policy file, its objects applied and its
 * warm pool running; a policy change re-applies the ConfigMap and rotates the pool. A broken file
 * keeps the policy in force and throws with {@code file:line:col}, as the local daemon does. The
 * pools report to the same {@link PoolListener} as local pools, so metrics and usage history are the
 * same. Closing stops the controllers; the objects stay (owned by each project's ConfigMap).
 */
public final class KubernetesBackend implements AutoCloseable {

    /**
     * A configured project: its policy file, how its pool is sized, how long a cold claim (no
     * Ready pod) waits for the pod it creates, and how many of its pods may exist at once.
     */
    public record Project(Path policy, Sizing sizing, java.time.Duration coldStartTimeout, int hardLimit) {

        public Project {
            if (hardLimit < 1) {
                throw new IllegalArgumentException("hardLimit must be at least 1, got " + hardLimit);
            }
        }

        /** At most {@link WarmPool.Settings#PROJECT_HARD_LIMIT} pods, as the daemon configuration's default. */
        public Project(Path policy, Sizing sizing, java.time.Duration coldStartTimeout) {
            this(policy, sizing, coldStartTimeout, WarmPool.Settings.PROJECT_HARD_LIMIT);
        }

        /** Cold claims wait {@link PodPool#COLD_START_TIMEOUT}. */
        public Project(Path policy, Sizing sizing) {
            this(policy, sizing, PodPool.COLD_START_TIMEOUT);
        }

        /** A pool of fixed {@code size}. */
        public Project(Path policy, int size) {
            this(policy, Sizing.fixed(size));
        }
    }

    /**
     * A project's pool size, given its loaded policy: fixed, or the daemon's Erlang-B
     * recommendation from the usage history (asked again at every reconcile).
     */
    @FunctionalInterface
    public interface Sizing {
        IntSupplier desired(ProjectPolicy policy);

        static Sizing fixed(int size) {
            if (size < 0) {
                throw new IllegalArgumentException("pool size " + size + " is negative");
            }
            return policy -> () -> size;
        }
    }

    private record Running(Project config, ProjectPolicy policy, PodPool pool) {
    }

    private final KubernetesClient client;
    private final ClusterSettings settings;
    private final Optional<Path> orgFile;
    private final PoolListener listener;
    private final Clock clock;
    private final Map<String, Running> projects = new LinkedHashMap<>();
    /** Each project's audit ingest token, when the gateway pods forward their records. */
    private final Map<String, String> auditTokens = new java.util.concurrent.ConcurrentHashMap<>();

    private KubernetesBackend(KubernetesClient client, ClusterSettings settings, Optional<Path> orgFile, PoolListener listener, Clock clock) {
        this.client = client;
        this.settings = settings;
        this.orgFile = orgFile;
        this.listener = listener;
        this.clock = clock;
    }

    /**
     * Applies every project and starts its pool. Every policy file is read and checked before
     * anything is applied, so one broken file or two files naming the same project apply nothing.
     */
    public static KubernetesBackend start(KubernetesClient client, ClusterSettings settings, Optional<Path> orgFile, List<Project> configured,
            PoolListener listener, Clock clock) throws KubeBackendException, PolicyException {
        KubernetesBackend b = new KubernetesBackend(client, settings, orgFile, listener, clock);
        Map<String, Loaded> loaded = new LinkedHashMap<>();
        for (Project p : configured) {
            Loaded l = b.load(p);
            Loaded twice = loaded.put(l.policy().project(), l);
            if (twice != null) {
                throw new KubeBackendException(p.policy() + ": project " + l.policy().project() + " is also the project of "
                        + twice.policy().file() + ". Nothing was applied. Fix: give each airlock.yaml its own project name.");
            }
        }
        try {
            for (Loaded l : loaded.values()) {
                Project p = l.config();
                AppliedProject applied = new ProjectApplier(client).apply(l.manifests());
                PodPool pool = new PodPool(client, applied.agentPods(settings, l.policy().resources()), p.sizing().desired(l.policy()),
                        p.coldStartTimeout(), p.hardLimit(), listener, clock);
                b.projects.put(l.policy().project(), new Running(p, l.policy(), pool));
                pool.start();
            }
            return b;
        } catch (KubeBackendException | RuntimeException e) {
            b.close();
            throw e;
        }
    }

    private record Loaded(Project config, ProjectPolicy policy, ProjectManifests manifests) {
    }

    private Loaded load(Project config) throws PolicyException {
        Path policyFile = config.policy();
        String text = PolicyFiles.readText(policyFile);
        ProjectPolicy policy = PolicyFiles.parseProject(policyFile.toString(), text);
        Optional<String> orgText = orgFile.isPresent() ? Optional.of(PolicyFiles.readText(orgFile.get())) : Optional.empty();
        OrgPolicy org = orgFile.isPresent() ? PolicyFiles.parseOrg(orgFile.get().toString(), orgText.get()) : OrgPolicy.NONE;
        Optional<String> token = settings.auditForward().isEmpty() ? Optional.empty() : Optional.of(auditToken(policy.project()));
        return new Loaded(config, policy, ProjectManifests.of(policy, org, text, orgText, settings, token));
    }

    /**
     * The project's audit ingest token: the one its Secret holds already (so a daemon restart does
     * not cut off running gateway pods), else 32 new random bytes. A Secret of that name that is
     * not Airlock's for this project is not read; applying then refuses it as a conflict.
     */
    private String auditToken(String project) {
        String known = auditTokens.get(project);
        if (known != null) {
            return known;
        }
        ProjectNames names = new ProjectNames(project);
        String token = null;
        try {
            io.fabric8.kubernetes.api.model.Secret s = client.secrets().inNamespace(settings.namespace()).withName(names.auditToken()).get();
            if (s != null && s.getMetadata().getLabels() != null && ProjectNames.AIRLOCK.equals(s.getMetadata().getLabels().get(ProjectNames.MANAGED_BY))
                    && project.equals(s.getMetadata().getLabels().get(ProjectNames.PROJECT)) && s.getData() != null
                    && s.getData().get(ProjectManifests.TOKEN_KEY) != null) {
                token = new String(java.util.Base64.getDecoder().decode(s.getData().get(ProjectManifests.TOKEN_KEY)), java.nio.charset.StandardCharsets.US_ASCII);
            }
        } catch (io.fabric8.kubernetes.client.KubernetesClientException | IllegalArgumentException e) {
            token = null; // unreadable: a new token; the apply that follows reports a missing permission with its fix
        }
        if (token == null || !token.matches("[0-9a-f]{64}")) {
            byte[] bytes = new byte[32];
            new java.security.SecureRandom().nextBytes(bytes);
            token = java.util.HexFormat.of().formatHex(bytes);
        }
        auditTokens.put(project, token);
        return token;
    }

    /** Each project's audit ingest token (empty when the gateway pods do not forward): who presents one speaks for that project's gateway. */
    public Map<String, String> auditTokens() {
        return Map.copyOf(auditTokens);
    }

    /** Re-reads {@code project}'s policy (and the org's), applies the change and rotates the pool. */
    public void reload(String project) throws KubeBackendException, PolicyException {
        Running r = running(project);
        Loaded l = load(r.config());
        if (!l.policy().project().equals(project)) {
            throw new KubeBackendException(r.config().policy() + ": the project name changed from " + project + " to " + l.policy().project()
                    + "; the old policy stays in force. Fix: restore the name, or configure the new project separately.");
        }
        AppliedProject applied = new ProjectApplier(client).apply(l.manifests());
        r.pool().rotate(applied.agentPods(settings, l.policy().resources()));
        projects.put(project, new Running(r.config(), l.policy(), r.pool()));
    }

    /** Reconciles every pool with its desired size now (after the daemon's sizing changed). */
    public void refill() {
        projects.values().forEach(r -> r.pool().refill());
    }

    /** The loaded policy of every project, in configuration order. */
    public Map<String, ProjectPolicy> policies() {
        Map<String, ProjectPolicy> out = new LinkedHashMap<>();
        projects.forEach((name, r) -> out.put(name, r.policy()));
        return out;
    }

    /** The policy file of {@code project}. */
    public Path policyFile(String project) throws KubeBackendException {
        return running(project).config().policy();
    }

    /** The pool figures of every project, in configuration order. */
    public Map<String, PodPool.Figures> status() {
        Map<String, PodPool.Figures> out = new LinkedHashMap<>();
        projects.forEach((name, r) -> out.put(name, r.pool().figures()));
        return out;
    }

    /** A Ready pod of {@code project}, else one started for this claim ({@link PodPool#claim(String, java.util.concurrent.CompletionStage)}). */
    public PodPool.Claim claim(String project, String claimId, java.util.concurrent.CompletionStage<?> abandoned) throws KubeBackendException {
        return running(project).pool().claim(claimId, abandoned);
    }

    public void release(String project, PodPool.Claim claim) throws KubeBackendException {
        running(project).pool().release(claim);
    }

    private Running running(String project) throws KubeBackendException {
        Running r = projects.get(project);
        if (r == null) {
            throw new KubeBackendException("no project " + project + " in this daemon: configured are " + projects.keySet());
        }
        return r;
    }

    /** Stops the controllers: claims still waiting for a cold pod fail and their pods are deleted. Closing twice is harmless. */
    @Override
    public void close() {
        projects.values().forEach(r -> r.pool().close());
    }
}
