package dev.airlock.policy.model;

import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/** A project's {@code airlock.yaml}, validated. Presets are resolved when the engine is compiled. */
public record ProjectPolicy(
        String file,
        String project,
        List<PresetRef> presets,
        List<Rule> allow,
        List<Rule> deny,
        List<Rule> setupAllow,
        Optional<Workspace> workspace,
        Resources resources,
        PoolSettings pool,
        boolean writableGitConfig,
        List<String> env,
        List<TrustedCa> trust,
        Optional<Image> image) {

    /** {@code trust}: the project's own CAs ({@code trust:}), for its test hosts; its sandboxes trust the organisation's too. On the host's root. */
    public ProjectPolicy(String file, String project, List<PresetRef> presets, List<Rule> allow, List<Rule> deny, List<Rule> setupAllow,
            Optional<Workspace> workspace, Resources resources, PoolSettings pool, boolean writableGitConfig, List<String> env,
            List<TrustedCa> trust) {
        this(file, project, presets, allow, deny, setupAllow, workspace, resources, pool, writableGitConfig, env, trust, Optional.empty());
    }

    /** {@code image}: the project's image ({@code image:}); no CAs of its own. */
    public ProjectPolicy(String file, String project, List<PresetRef> presets, List<Rule> allow, List<Rule> deny, List<Rule> setupAllow,
            Optional<Workspace> workspace, Resources resources, PoolSettings pool, boolean writableGitConfig, List<String> env,
            Optional<Image> image) {
        this(file, project, presets, allow, deny, setupAllow, workspace, resources, pool, writableGitConfig, env, List.of(), image);
    }

    /** No CAs of its own, on the host's root (no {@code image:}). */
    public ProjectPolicy(String file, String project, List<PresetRef> presets, List<Rule> allow, List<Rule> deny, List<Rule> setupAllow,
            Optional<Workspace> workspace, Resources resources, PoolSettings pool, boolean writableGitConfig, List<String> env) {
        this(file, project, presets, allow, deny, setupAllow, workspace, resources, pool, writableGitConfig, env, List.of(), Optional.empty());
    }

    /**
     * {@code env}: the names of the caller's environment variables its commands get ({@code env:}),
     * besides the terminal's (TERM, COLORTERM, LANG, LANGUAGE, LC_*), which always pass.
     */
    public ProjectPolicy(String file, String project, List<PresetRef> presets, List<Rule> allow, List<Rule> deny, List<Rule> setupAllow,
            Optional<Workspace> workspace, Resources resources, PoolSettings pool, boolean writableGitConfig) {
        this(file, project, presets, allow, deny, setupAllow, workspace, resources, pool, writableGitConfig, List.of());
    }

    /**
     * {@code writableGitConfig}: {@code workspace.writableGitConfig}, true only when the project opts
     * out of the read-only {@code .git/hooks} and {@code .git/config} in its sandboxes.
     */
    public ProjectPolicy(String file, String project, List<PresetRef> presets, List<Rule> allow, List<Rule> deny, List<Rule> setupAllow,
            Optional<Workspace> workspace, Resources resources, PoolSettings pool) {
        this(file, project, presets, allow, deny, setupAllow, workspace, resources, pool, false);
    }

    public ProjectPolicy {
        java.util.Objects.requireNonNull(image, "image");
        presets = List.copyOf(presets);
        allow = List.copyOf(allow);
        deny = List.copyOf(deny);
        setupAllow = List.copyOf(setupAllow);
        env = List.copyOf(env);
        trust = List.copyOf(trust);
    }

    /** A preset named in {@code network.presets}, with where it was named. */
    public record PresetRef(String name, SourcePosition position) {
    }

    /**
     * {@code workspace:}, a pooled template: its {@code source} at {@code ref}, the {@code steps} of
     * {@code workspace.setup} in order, and the {@code cacheKey} files that decide when setup runs again.
     */
    public record Workspace(String source, String ref, List<SetupStep> steps, List<String> cacheKey) {
        public Workspace {
            steps = List.copyOf(steps);
            cacheKey = List.copyOf(cacheKey);
        }

        /**
         * How many steps, from the first, run as root of the sandbox's namespace ({@code root: true});
         * the loader keeps them all before the unprivileged ones (docs/images.md, "Setup as root").
         */
        public int rootSteps() {
            int n = 0;
            while (n < steps.size() && steps.get(n).root()) {
                n++;
            }
            return n;
        }

        /** The setup commands in order, as the sandbox's shell runs them. */
        public List<String> setup() {
            return steps.stream().map(SetupStep::run).toList();
        }

        /**
         * What of the steps decides a template's identity: each command, and for a root step a marker
         * before it, so that adding or removing {@code root: true} builds a new template. A project
         * without root steps keys exactly as before root steps existed.
         */
        public List<String> stepKeys() {
            return steps.stream().map(s -> s.root() ? "\u0000root\u0000" + s.run() : s.run()).toList();
        }

        /**
         * The source to clone: a relative local path ({@code .}, {@code ../app}) is relative to
         * {@code policyDirectory}, the directory of the airlock.yaml that names it, as image paths
         * are, never to whatever directory the daemon was started in. URLs ({@code scheme://}),
         * scp-like {@code host:path} (git's rule: a colon before any slash) and absolute paths stay
         * as written.
         */
        public String sourceFrom(java.nio.file.Path policyDirectory) {
            if (source.isEmpty() || source.contains("://") || source.startsWith("/")) {
                return source;
            }
            int colon = source.indexOf(':');
            int slash = source.indexOf('/');
            if (colon >= 0 && (slash < 0 || colon < slash)) {
                return source;
            }
            return policyDirectory.toAbsolutePath().resolve(source).normalize().toString();
        }
    }

    /**
     * One {@code workspace.setup} step: the shell command {@code run}; {@code root}: run as root
     * inside the sandbox's own user namespace (mapped to the unprivileged sandbox user on the host,
     * never the host's root), so that it may install into the image's root file system (docs/images.md).
     * {@code position}: where the step was written.
     */
    public record SetupStep(String run, boolean root, SourcePosition position) {
        public SetupStep {
            java.util.Objects.requireNonNull(run, "run");
            java.util.Objects.requireNonNull(position, "position");
        }

        /**
         * Equal when the command and {@code root} are: where the step was written is for errors only,
         * so a step that merely moved lines is no change of the workspace (a policy reload compares them).
         */
        @Override
        public boolean equals(Object o) {
            return o instanceof SetupStep s && run.equals(s.run) && root == s.root;
        }

        @Override
        public int hashCode() {
            return java.util.Objects.hash(run, root);
        }
    }

    /**
     * {@code image:}, the sandbox's root file system (docs/images.md): where it comes from
     * ({@code source}), its {@code tag} in an OCI layout (none: the layout's only image), and
     * {@code digest}, the manifest digest it must have when pinned. {@code position}: where
     * {@code image:} was written, for errors found later.
     */
    public record Image(Source source, Optional<String> tag, Optional<String> digest, SourcePosition position) {

        /** What {@code image:} names, without where it was written: two equal texts name the same image. */
        public String describe() {
            return source.describe() + tag.map(t -> " tag " + t).orElse("") + digest.map(d -> " pinned to " + d).orElse("");
        }
    }

    /** Where an image comes from: a closed set, one per form of {@code image:}. */
    public sealed interface Source {
        /** The source as the project wrote it, for messages, evidence and change detection. */
        String describe();
    }

    /** {@code oci:}: an OCI image layout directory or oci-archive, as written (relative to the policy file's directory). */
    public record Oci(String path) implements Source {
        @Override
        public String describe() {
            return "oci " + path;
        }
    }

    /**
     * {@code ref:}: a registry reference ({@code host[:port]/name[:tag][@sha256:…]}), pulled with
     * skopeo. {@code insecure}: plain HTTP without TLS, only ever for a loopback registry.
     */
    public record Registry(String ref, boolean insecure) implements Source {
        @Override
        public String describe() {
            return "ref " + ref + (insecure ? " (insecure loopback)" : "");
        }
    }

    /**
     * {@code devcontainer:}: a devcontainer.json (relative to the policy file's directory) whose
     * {@code image} is pulled like {@code ref:} or whose {@code build.dockerfile} is built with buildah.
     */
    public record Devcontainer(String path, boolean insecure) implements Source {
        @Override
        public String describe() {
            return "devcontainer " + path + (insecure ? " (insecure loopback)" : "");
        }
    }

    /**
     * Per-sandbox limits. cgroup: defaults 4 GiB, 2 CPUs, 2048 pids. {@code tunnels}: open gateway
     * connections one sandbox may hold; empty means the gateway's own limit (512 unless its operator changed it).
     */
    public record Resources(long memoryBytes, double cpus, int pids, OptionalInt tunnels) {
        public static final Resources DEFAULT = new Resources(4L << 30, 2.0, 2048);

        /** cgroup limits only; the tunnel limit is the gateway's. */
        public Resources(long memoryBytes, double cpus, int pids) {
            this(memoryBytes, cpus, pids, OptionalInt.empty());
        }

        /** The limits the sandbox's cgroup is built with; the tunnel limit applies at the gateway, through the engine. */
        public Resources cgroup() {
            return new Resources(memoryBytes, cpus, pids);
        }
    }

    public record PoolSettings(int min, int max, double targetHitRate) {
        public static final PoolSettings DEFAULT = new PoolSettings(0, 10, 0.95);
    }
}
