package dev.airlock.server;

import dev.airlock.policy.load.Problem;
import dev.airlock.policy.load.YamlNode;
import dev.airlock.policy.load.YamlReader;
import dev.airlock.pool.warm.WarmPool;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The daemon's configuration file ({@code airlock daemon --config F}): where its state lives, how
 * its API is reached, and the projects it keeps pools for. Relative paths are relative to the file.
 *
 * <pre>
 * version: 1
 * state: /var/lib/airlock            # default: /var/lib/airlock
 * socket: /run/airlock/daemon.sock   # default: STATE/daemon.sock
 * listen: 127.0.0.1:7070             # optional TCP listener; needs tokenFile
 * tokenFile: /etc/airlock/daemon.token
 * org: /etc/airlock/org.yaml         # optional
 * hosts: /etc/airlock/hosts          # optional: replaces the system resolver
 * audits: true                       # continuous audits (default true): on change, on audit.every, quick after claims
 * sessions: { idleTimeout: 8h }      # a claimed session idle this long is released (default 8h; 0 or never: no limit)
 * export:                            # the agent's work when a pooled sandbox is released (docs/daemon.md)
 *   onRelease: true                  # default true: into the project's workspace.source as branch airlock/ID
 *   keep: 24h                        # default 24h: how long work that was not exported is kept (m, h or d)
 * backend: local                     # local (default: this host's kernel) or kubernetes (docs/kubernetes.md)
 * kubernetes:                        # only with backend: kubernetes
 *   kubeconfig: /etc/airlock/kubeconfig  # or `inCluster: true` (the daemon's pod service account); exactly one
 *   namespace: airlock               # where every project's objects live
 *   image: registry.acme.dev/airlock # the Airlock image's repository: the gateways run it tagged with this version
 *   gatewayImage: registry.acme.dev/airlock:0.1.0   # or exactly this reference (one of image and gatewayImage)
 *   agentImage: registry.acme.dev/devbox:1          # the agent pods' image
 *   podCidr: 10.244.0.0/16           # optional: the gateway answers DNS from it (without it, pods' lookups are refused)
 *   auditListen: 0.0.0.0:7071        # optional, with auditUrl: the gateway pods' audit records join the daemon's chain
 *   auditUrl: https://airlock-daemon.airlock.svc:7071/v1/audit/records   # https only: the ingest is TLS
 *   coldStartTimeout: 120s           # how long a claim with no Ready pod waits for the pod it starts (s or m; default 120s)
 *   auditTls: { secret: NAME }       # optional: a kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt); default: the daemon's own CA
 * projects:
 *   - policy: /srv/payments/airlock.yaml
 *     workspace: /srv/payments        # used when the policy has no workspace.source
 *     size: auto                      # auto (from usage, within pool.min..max) or a number
 *     hardLimit: 16                   # at most this many sandboxes of the project at once
 *     sessions: { idleTimeout: 30m }  # this project's own limit (default: the top-level one)
 * </pre>
 */
public record DaemonConfig(Path file, Path state, Path socket, Optional<String> listen, Optional<Path> tokenFile, Optional<Path> org,
        Optional<Path> hosts, List<Project> projects, boolean audits, IdleTimeout sessionIdleTimeout, Export export, DaemonBackend backend) {

    /** On this host ({@code backend: local}). */
    public DaemonConfig(Path file, Path state, Path socket, Optional<String> listen, Optional<Path> tokenFile, Optional<Path> org,
            Optional<Path> hosts, List<Project> projects, boolean audits, IdleTimeout sessionIdleTimeout, Export export) {
        this(file, state, socket, listen, tokenFile, org, hosts, projects, audits, sessionIdleTimeout, export, DaemonBackend.LOCAL);
    }

    /** Without a session setting or an {@code export:} section: the defaults. */
    public DaemonConfig(Path file, Path state, Path socket, Optional<String> listen, Optional<Path> tokenFile, Optional<Path> org,
            Optional<Path> hosts, List<Project> projects, boolean audits) {
        this(file, state, socket, listen, tokenFile, org, hosts, projects, audits, IdleTimeout.DEFAULT, Export.DEFAULT);
    }

    /** The idle timeout of {@code project}'s sessions: its own, else the daemon's. */
    public IdleTimeout idleTimeoutOf(Project project) {
        return project.sessionIdleTimeout().orElse(sessionIdleTimeout);
    }

    public static final Path DEFAULT_STATE = Path.of("/var/lib/airlock");

    /**
     * What happens to a pooled sandbox's work at its release: exported into the project's
     * repository when {@code onRelease}; work that is not exported is kept for {@code keep}.
     */
    public record Export(boolean onRelease, java.time.Duration keep) {
        public static final Export DEFAULT = new Export(true, java.time.Duration.ofHours(24));
    }

    /** The {@code export:} section as written (null: absent). */
    record RawExport(Boolean onRelease, String keep) {
    }

    /** A project the daemon pools; {@code size} empty means auto. */
    public record Project(Path policy, Optional<Path> workspace, Optional<Integer> size, int hardLimit, Optional<IdleTimeout> sessionIdleTimeout) {

        /** Without its own session setting (the daemon's applies). */
        public Project(Path policy, Optional<Path> workspace, Optional<Integer> size, int hardLimit) {
            this(policy, workspace, size, hardLimit, Optional.empty());
        }
    }

    /** Thrown with a message that names the file, the line and the fix. */
    public static final class ConfigException extends Exception {
        public ConfigException(String message) {
            super(message);
        }
    }

    /** The file's values as written, each of its key's type (null: absent); {@link #load} checks what they mean. */
    record RawProject(String policy, String workspace, String size, Integer hardLimit, RawSessions sessions) {
    }

    record RawSessions(String idleTimeout) {
    }

    record RawKubernetes(String kubeconfig, Boolean inCluster, String namespace, String image, String gatewayImage, String agentImage,
            String podCidr, String auditListen, String auditUrl, String coldStartTimeout, RawAuditTls auditTls) {
    }

    record RawAuditTls(String secret) {
    }

    record Raw(int version, String state, String socket, String listen, String tokenFile, String org, String hosts, Boolean audits,
            List<RawProject> projects, RawSessions sessions, RawExport export, String backend, RawKubernetes kubernetes) {
    }

    public static DaemonConfig load(Path file) throws ConfigException {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read: " + e.getMessage() + ". Fix: pass an existing file to --config.");
        }
        // the policy files' reader: positions for every key and value, duplicate keys refused; errors in the
        // file's terms (data binding into records named Java types: "java.util.ArrayList<...RawProject>")
        List<Problem> problems = new java.util.ArrayList<>();
        YamlNode tree = new YamlReader(file.toString(), problems).read(text);
        if (!problems.isEmpty()) {
            Problem p = problems.get(0);
            throw new ConfigException(p.position() + ": " + p.message() + ". Fix: "
                    + (p.fix() == null ? "see docs/daemon.md for the format" : p.fix()) + ".");
        }
        ConfigMapping top = ConfigMapping.root(tree, TOP_KEYS);
        Raw raw = raw(file, top);
        if (raw.version() != 1) {
            throw new ConfigException(file + ": version " + raw.version() + " is not supported. Fix: write `version: 1`.");
        }
        Path dir = file.toAbsolutePath().getParent();
        Path state = raw.state() == null ? DEFAULT_STATE : dir.resolve(raw.state()).normalize();
        Path socket = raw.socket() == null ? state.resolve("daemon.sock") : dir.resolve(raw.socket()).normalize();
        Optional<String> listen = Optional.ofNullable(raw.listen());
        Optional<Path> token = Optional.ofNullable(raw.tokenFile()).map(t -> dir.resolve(t).normalize());
        if (listen.isPresent()) {
            if (!listen.get().matches("(\\d{1,3}(\\.\\d{1,3}){3}|\\[[0-9a-fA-F:]+\\]):\\d{1,5}")) {
                throw new ConfigException(file + ": listen '" + listen.get() + "' is not ADDRESS:PORT. Fix: e.g. `listen: 127.0.0.1:7070`.");
            }
            if (token.isEmpty()) {
                throw new ConfigException(file + ": `listen` needs `tokenFile`: the TCP API is only served with a token."
                        + " Fix: add `tokenFile: /etc/airlock/daemon.token` (one line, at least 32 characters).");
            }
        }
        if (raw.projects().isEmpty()) {
            throw new ConfigException(file + ": no projects. Fix: list at least one under `projects:` with its `policy:`.");
        }
        List<Project> projects = new java.util.ArrayList<>();
        Set<Path> seen = new HashSet<>();
        for (RawProject p : raw.projects()) {
            Path policy = dir.resolve(p.policy()).normalize();
            if (!seen.add(policy)) {
                throw new ConfigException(file + ": project policy " + policy + " is listed twice. Fix: list each project once.");
            }
            Optional<Integer> size;
            if (p.size() == null || p.size().equals("auto")) {
                size = Optional.empty();
            } else if (p.size().matches("\\d{1,4}")) {
                size = Optional.of(Integer.parseInt(p.size()));
            } else {
                throw new ConfigException(file + ": size '" + p.size() + "' of " + p.policy() + " is neither `auto` nor a number."
                        + " Fix: write `size: auto` or e.g. `size: 2`.");
            }
            int hard = p.hardLimit() == null ? WarmPool.Settings.PROJECT_HARD_LIMIT : p.hardLimit();
            if (hard < 1 || hard > 1024) {
                throw new ConfigException(file + ": hardLimit " + hard + " of " + p.policy() + " is outside 1..1024. Fix: e.g. `hardLimit: 16`.");
            }
            Optional<IdleTimeout> own = p.sessions() == null || p.sessions().idleTimeout() == null ? Optional.empty()
                    : Optional.of(idleTimeout(file, text, p.sessions().idleTimeout(), "of " + p.policy()));
            projects.add(new Project(policy, Optional.ofNullable(p.workspace()).map(w -> dir.resolve(w).normalize()), size, hard, own));
        }
        IdleTimeout idle = raw.sessions() == null || raw.sessions().idleTimeout() == null ? IdleTimeout.DEFAULT
                : idleTimeout(file, text, raw.sessions().idleTimeout(), "");
        return new DaemonConfig(file, state, socket, listen, token, Optional.ofNullable(raw.org()).map(o -> dir.resolve(o).normalize()),
                Optional.ofNullable(raw.hosts()).map(h -> dir.resolve(h).normalize()), List.copyOf(projects), raw.audits() == null || raw.audits(),
                idle, export(file, raw.export()), backend(file, top, raw, dir));
    }

    /**
     * HOST[:PORT]/PATH, no tag or digest. The first part must be a registry host (a dot, a port or
     * localhost, as container runtimes decide): `team/airlock` or a bare name would mean Docker Hub.
     */
    private static final java.util.regex.Pattern REPOSITORY = java.util.regex.Pattern.compile(
            "((localhost|[a-zA-Z0-9-]+(\\.[a-zA-Z0-9-]+)+)(:[0-9]{1,5})?|[a-zA-Z0-9-]+:[0-9]{1,5})(/[a-z0-9]+([._-]+[a-z0-9]+)*)+");
    private static final java.util.regex.Pattern RFC1123_LABEL = java.util.regex.Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    /** A Secret's name: DNS subdomain, at most 253 characters. */
    private static final java.util.regex.Pattern RFC1123_SUBDOMAIN = java.util.regex.Pattern.compile(
            "(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

    /** {@code backend:} and its {@code kubernetes:} section; every error names the key's line and column. */
    private static DaemonBackend backend(Path file, ConfigMapping top, Raw raw, Path dir) throws ConfigException {
        String kind = raw.backend() == null ? "local" : raw.backend();
        RawKubernetes k = raw.kubernetes();
        switch (kind) {
            case "local" -> {
                if (k != null) {
                    throw new ConfigException(where(file, top, "kubernetes") + "a `kubernetes:` section with `backend: " + kind
                            + "`. Fix: write `backend: kubernetes`, or remove the section.");
                }
                return DaemonBackend.LOCAL;
            }
            case "kubernetes" -> {
                if (k == null) {
                    throw new ConfigException(where(file, top, "backend") + "`backend: kubernetes` needs a `kubernetes:` section."
                            + " Fix: add `kubernetes: { kubeconfig: /etc/airlock/kubeconfig, namespace: airlock, image: REGISTRY/airlock, agentImage: IMAGE }`"
                            + " (or `inCluster: true` instead of kubeconfig).");
                }
                boolean inCluster = Boolean.TRUE.equals(k.inCluster());
                if (inCluster == (k.kubeconfig() != null)) {
                    throw new ConfigException(where(file, top, "kubernetes") + "kubernetes: give exactly one of `kubeconfig: FILE` and"
                            + " `inCluster: true`. Fix: `kubeconfig:` when the daemon runs outside the cluster, `inCluster: true` in a pod"
                            + " with a service account.");
                }
                for (String[] required : new String[][] {{"namespace", k.namespace()}, {"agentImage", k.agentImage()}}) {
                    if (required[1] == null || required[1].isBlank()) {
                        throw new ConfigException(where(file, top, "kubernetes") + "kubernetes." + required[0] + " is missing. Fix: e.g. `"
                                + required[0] + ": " + ("namespace".equals(required[0]) ? "airlock" : "registry.acme.dev/devbox:1") + "`.");
                    }
                }
                String gatewayImage = gatewayImage(file, top, k);
                if (!RFC1123_LABEL.matcher(k.namespace()).matches()) {
                    throw new ConfigException(where(file, top, "kubernetes", "namespace") + "kubernetes.namespace '" + k.namespace()
                            + "' is not an RFC 1123 label. Fix: lower-case letters, digits and '-', at most 63 characters (e.g. `namespace: airlock`).");
                }
                if (k.podCidr() != null && dev.airlock.policy.address.Cidr.parse(k.podCidr()).isEmpty()) {
                    throw new ConfigException(where(file, top, "kubernetes", "podCidr") + "kubernetes.podCidr '" + k.podCidr()
                            + "' is not a CIDR. Fix: the cluster's pod network, such as `podCidr: 10.244.0.0/16`.");
                }
                return new DaemonBackend.Kubernetes(Optional.ofNullable(k.kubeconfig()).map(c -> dir.resolve(c).normalize()), k.namespace(),
                        gatewayImage, k.agentImage(), Optional.ofNullable(k.podCidr()), auditIngest(file, top, k),
                        coldStartTimeout(file, top, k));
            }
            default -> throw new ConfigException(where(file, top, "backend") + "backend '" + kind + "' is not known."
                    + " Fix: write `backend: local` (this host) or `backend: kubernetes`.");
        }
    }

    /**
     * The gateway pods' image: {@code image} is the repository scripts/build-oci-image.sh's image was
     * pushed to, tagged here with this daemon's own version (so the gateways run the Airlock the daemon
     * runs); {@code gatewayImage} is an exact reference. No built-in default: nothing is published, and a
     * bare {@code airlock:TAG} would be pulled from Docker Hub.
     */
    private static String gatewayImage(Path file, ConfigMapping top, RawKubernetes k) throws ConfigException {
        boolean repo = k.image() != null && !k.image().isBlank();
        boolean exact = k.gatewayImage() != null && !k.gatewayImage().isBlank();
        if (repo == exact) {
            throw new ConfigException(where(file, top, "kubernetes") + "kubernetes: give exactly one of `image: REPOSITORY` (tagged with"
                    + " this Airlock's version, " + AirlockVersion.current() + ") and `gatewayImage: REFERENCE`. Fix: push the image"
                    + " scripts/build-oci-image.sh made (skopeo copy oci:target/oci/airlock:" + AirlockVersion.current()
                    + " docker://REGISTRY/airlock:" + AirlockVersion.current() + ") and write `image: REGISTRY/airlock`.");
        }
        if (exact) {
            return k.gatewayImage();
        }
        if (!REPOSITORY.matcher(k.image()).matches()) {
            throw new ConfigException(where(file, top, "kubernetes", "image") + "kubernetes.image '" + k.image() + "' is not a repository"
                    + " without tag or digest (the tag is this Airlock's version, " + AirlockVersion.current() + "). Fix: e.g. `image:"
                    + " registry.acme.dev/airlock`, or `gatewayImage: REFERENCE` for an exact reference.");
        }
        return k.image() + ":" + AirlockVersion.current();
    }

    /** {@code kubernetes.coldStartTimeout}: seconds or minutes ({@code 90s}, {@code 3m}), 1 s to 60 min. */
    private static java.time.Duration coldStartTimeout(Path file, ConfigMapping top, RawKubernetes k) throws ConfigException {
        if (k.coldStartTimeout() == null) {
            return DaemonBackend.Kubernetes.COLD_START_TIMEOUT;
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("([1-9][0-9]{0,4})([sm])").matcher(k.coldStartTimeout());
        java.time.Duration d = m.matches() ? (m.group(2).equals("s") ? java.time.Duration.ofSeconds(Long.parseLong(m.group(1)))
                : java.time.Duration.ofMinutes(Long.parseLong(m.group(1)))) : null;
        if (d == null || d.compareTo(java.time.Duration.ofHours(1)) > 0) {
            throw new ConfigException(where(file, top, "kubernetes", "coldStartTimeout") + "kubernetes.coldStartTimeout '"
                    + k.coldStartTimeout() + "' is not a duration of 1s to 60m. Fix: a number with s or m, e.g. `coldStartTimeout: 120s`.");
        }
        return d;
    }

    /** {@code kubernetes.auditListen} and {@code auditUrl}: both or neither. */
    private static Optional<DaemonBackend.AuditIngest> auditIngest(Path file, ConfigMapping top, RawKubernetes k) throws ConfigException {
        if (k.auditListen() == null && k.auditUrl() == null) {
            return Optional.empty();
        }
        if (k.auditListen() == null || k.auditUrl() == null) {
            throw new ConfigException(where(file, top, "kubernetes", k.auditListen() == null ? "auditUrl" : "auditListen")
                    + "kubernetes: give both `auditListen` (where the daemon takes the gateway pods' audit records) and `auditUrl` (the URL"
                    + " the gateway pods send them to). Fix: e.g. `auditListen: 0.0.0.0:7071` and"
                    + " `auditUrl: https://airlock-daemon.airlock.svc:7071/v1/audit/records`.");
        }
        if (!k.auditListen().matches("(\\d{1,3}(\\.\\d{1,3}){3}|\\[[0-9a-fA-F:]+\\]):\\d{1,5}")) {
            throw new ConfigException(where(file, top, "kubernetes", "auditListen") + "kubernetes.auditListen '" + k.auditListen()
                    + "' is not ADDRESS:PORT. Fix: e.g. `auditListen: 0.0.0.0:7071`.");
        }
        java.net.URI url;
        try {
            url = new java.net.URI(k.auditUrl());
        } catch (java.net.URISyntaxException e) {
            url = null;
        }
        if (url != null && "http".equals(url.getScheme())) {
            // No plain-HTTP opt-out: the bearer token and every record would cross the cluster network readable and forgeable.
            throw new ConfigException(where(file, top, "kubernetes", "auditUrl") + "kubernetes.auditUrl '" + k.auditUrl()
                    + "' is plain http: the gateway pods' token and audit records would cross the network unencrypted, and the gateways"
                    + " refuse it. Fix: write https:// (the daemon serves the ingest over TLS, with its own CA unless `auditTls.secret`"
                    + " names a certificate), e.g. `auditUrl: https://airlock-daemon.airlock.svc:7071/v1/audit/records`.");
        }
        if (url == null || !"https".equals(url.getScheme()) || url.getHost() == null) {
            throw new ConfigException(where(file, top, "kubernetes", "auditUrl") + "kubernetes.auditUrl '" + k.auditUrl()
                    + "' is not an https:// URL with a host. Fix: e.g. `auditUrl: https://airlock-daemon.airlock.svc:7071/v1/audit/records`.");
        }
        Optional<String> tlsSecret = Optional.empty();
        if (k.auditTls() != null) {
            String name = k.auditTls().secret();
            if (name == null || !RFC1123_SUBDOMAIN.matcher(name).matches()) {
                throw new ConfigException(where(file, top, "kubernetes", "auditTls") + "kubernetes.auditTls.secret '" + name
                        + "' is not a Secret's name. Fix: the name of a kubernetes.io/tls Secret with tls.crt, tls.key and ca.crt in namespace "
                        + k.namespace() + " (as cert-manager writes it), e.g. `auditTls: { secret: airlock-audit-ingest-tls }`; or remove"
                        + " `auditTls` and the daemon makes its own CA.");
            }
            tlsSecret = Optional.of(name);
        }
        int colon = k.auditListen().lastIndexOf(':');
        String host = k.auditListen().substring(0, colon).replace("[", "").replace("]", "");
        int port = Integer.parseInt(k.auditListen().substring(colon + 1));
        if (port < 1 || port > 65535) {
            throw new ConfigException(where(file, top, "kubernetes", "auditListen") + "kubernetes.auditListen port " + port
                    + " is not 1-65535. Fix: e.g. `auditListen: 0.0.0.0:7071`.");
        }
        return Optional.of(new DaemonBackend.AuditIngest(new java.net.InetSocketAddress(host, port), url, tlsSecret));
    }

    /** {@code file:line:col: } of the key at {@code path} (top-level keys first), or of the file when it is not there. */
    private static String where(Path file, ConfigMapping top, String... path) {
        YamlNode.Mapping m = top.node();
        for (int i = 0; i < path.length; i++) {
            YamlNode.Field f = m.fields().get(path[i]);
            if (f == null) {
                break;
            }
            if (i == path.length - 1) {
                return f.keyPosition() + ": ";
            }
            if (!(f.value() instanceof YamlNode.Mapping next)) {
                break;
            }
            m = next;
        }
        return file + ": ";
    }

    /** A {@code sessions.idleTimeout} value, or an error naming the line it is on. */
    private static IdleTimeout idleTimeout(Path file, String text, String value, String whose) throws ConfigException {
        Optional<IdleTimeout> t = IdleTimeout.parse(value);
        if (t.isPresent()) {
            return t.get();
        }
        String[] lines = text.split("\n", -1);
        int line = 0;
        for (int i = 0; i < lines.length && line == 0; i++) {
            if (lines[i].matches(".*\\bidleTimeout\\s*:\\s*[\"']?" + java.util.regex.Pattern.quote(value) + "[\"']?\\s*[,}#]?.*")) {
                line = i + 1;
            }
        }
        throw new ConfigException(file + (line > 0 ? ":" + line : "") + ": sessions.idleTimeout '" + value + "'" + (whose.isEmpty() ? "" : " " + whose)
                + " is not a duration. Fix: a number with s, m, h or d (e.g. `idleTimeout: 8h`), or `0`/`never` for no limit.");
    }

    /** The {@code export:} section, its defaults filled in; {@code keep} is a number of minutes, hours or days ({@code 90m}, {@code 24h}, {@code 7d}). */
    private static Export export(Path file, RawExport raw) throws ConfigException {
        if (raw == null) {
            return Export.DEFAULT;
        }
        java.time.Duration keep = Export.DEFAULT.keep();
        if (raw.keep() != null) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("([1-9][0-9]{0,5})([mhd])").matcher(raw.keep());
            if (!m.matches()) {
                throw new ConfigException(file + ": export.keep '" + raw.keep() + "' is not a duration. Fix: a number and m, h or d, e.g."
                        + " `keep: 24h`.");
            }
            long n = Long.parseLong(m.group(1));
            keep = switch (m.group(2)) {
                case "m" -> java.time.Duration.ofMinutes(n);
                case "h" -> java.time.Duration.ofHours(n);
                default -> java.time.Duration.ofDays(n);
            };
        }
        return new Export(raw.onRelease() == null || raw.onRelease(), keep);
    }

    private static final List<String> TOP_KEYS = List.of("version", "state", "socket", "listen", "tokenFile", "org", "hosts", "audits", "projects",
            "sessions", "export", "backend", "kubernetes");
    private static final List<String> KUBERNETES_KEYS = List.of("kubeconfig", "inCluster", "namespace", "image", "gatewayImage", "agentImage",
            "podCidr", "auditListen", "auditUrl", "coldStartTimeout", "auditTls");
    private static final List<String> AUDIT_TLS_KEYS = List.of("secret");
    private static final List<String> PROJECT_KEYS = List.of("policy", "workspace", "size", "hardLimit", "sessions");
    private static final List<String> SESSION_KEYS = List.of("idleTimeout");
    private static final List<String> EXPORT_KEYS = List.of("onRelease", "keep");

    /** The file's values, each checked for its type, unknown keys refused (both with their line and column). */
    private static Raw raw(Path file, ConfigMapping top) throws ConfigException {
        Integer version = top.integer("version", "1");
        if (version == null) {
            throw new ConfigException(file + ": `version` is missing. Fix: start the file with `version: 1`.");
        }
        List<ConfigMapping> listed = top.mappings("projects", PROJECT_KEYS, "list each project as `- policy: FILE`");
        if (listed == null) {
            throw new ConfigException(top.at("projects") + "`projects` is missing or empty. Fix: list at least one under `projects:` with its `policy:`.");
        }
        List<RawProject> projects = new java.util.ArrayList<>();
        for (ConfigMapping p : listed) {
            String policy = p.string("policy");
            if (policy == null) {
                throw new ConfigException(p.at() + p.path() + " has no `policy`. Fix: `- policy: FILE`, the project's airlock.yaml.");
            }
            projects.add(new RawProject(policy, p.string("workspace"), p.string("size"), p.integer("hardLimit", "16"), sessions(p)));
        }
        RawExport export = null;
        Optional<ConfigMapping> e = top.mapping("export", EXPORT_KEYS);
        if (e.isPresent()) {
            export = new RawExport(e.get().bool("onRelease"), e.get().string("keep"));
        }
        RawKubernetes kubernetes = null;
        Optional<ConfigMapping> k = top.mapping("kubernetes", KUBERNETES_KEYS);
        if (k.isPresent()) {
            ConfigMapping m = k.get();
            Optional<ConfigMapping> tls = m.mapping("auditTls", AUDIT_TLS_KEYS);
            kubernetes = new RawKubernetes(m.string("kubeconfig"), m.bool("inCluster"), m.string("namespace"), m.string("image"),
                    m.string("gatewayImage"), m.string("agentImage"), m.string("podCidr"), m.string("auditListen"), m.string("auditUrl"),
                    m.string("coldStartTimeout"), tls.isPresent() ? new RawAuditTls(tls.get().string("secret")) : null);
        }
        return new Raw(version, top.string("state"), top.string("socket"), top.string("listen"), top.string("tokenFile"), top.string("org"),
                top.string("hosts"), top.bool("audits"), projects, sessions(top), export, top.string("backend"), kubernetes);
    }

    /** The {@code sessions:} section of the file or of a project. */
    private static RawSessions sessions(ConfigMapping m) throws ConfigException {
        Optional<ConfigMapping> s = m.mapping("sessions", SESSION_KEYS);
        return s.isPresent() ? new RawSessions(s.get().string("idleTimeout")) : null;
    }

}
