package dev.airlock.policy.load;

import dev.airlock.policy.model.ImageReference;
import dev.airlock.policy.model.OrgPolicy;
import dev.airlock.policy.model.PortSet;
import dev.airlock.policy.model.Preset;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.policy.model.Rule;
import dev.airlock.policy.model.SourcePosition;
import dev.airlock.policy.model.TrustedCa;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Loads {@code airlock.yaml} and the organisation policy. Every problem in a file is reported, each
 * with {@code file:line:col}, the offending value and the fix; a file with any problem is refused
 * as a whole.
 */
public final class PolicyFiles {

    /** Files larger than this are refused before parsing: policies are kilobytes. */
    private static final long MAX_FILE_BYTES = 4L << 20;
    private static final Pattern PROJECT_NAME = Pattern.compile("[a-z0-9-]{1,40}");
    private static final Pattern MEMORY = Pattern.compile("([1-9][0-9]{0,12})(B|KiB|MiB|GiB|TiB)?");
    /** Far beyond any machine; it only keeps the arithmetic from overflowing. */
    private static final long MAX_MEMORY_BYTES = 64L << 40;
    private static final Pattern DURATION = Pattern.compile("([1-9][0-9]{0,5})([smhd])");

    private static final Set<String> PROJECT_KEYS = Set.of("version", "project", "network", "workspace", "resources", "pool", "env",
            "trust", "image");
    private static final Set<String> IMAGE_KEYS = Set.of("oci", "ref", "devcontainer", "tag", "digest", "insecure");
    private static final List<String> IMAGE_FORMS = List.of("oci", "ref", "devcontainer");
    private static final Pattern IMAGE_DIGEST = Pattern.compile("sha256:[0-9a-f]{64}");
    /** An OCI tag (the distribution spec's grammar). */
    private static final Pattern IMAGE_TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,127}");
    /** A variable name {@code env:} may list: what a shell can export. */
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final Set<String> NETWORK_KEYS = Set.of("presets", "allow", "deny", "setup");
    private static final Set<String> SETUP_KEYS = Set.of("allow");
    /** The keys of one {@code workspace.setup} step written as a mapping. */
    private static final Set<String> STEP_KEYS = Set.of("run", "root");
    private static final Set<String> WORKSPACE_KEYS = Set.of("source", "ref", "setup", "cacheKey", "writableGitConfig");
    /** The keys that describe a template (a pooled workspace); {@code writableGitConfig} alone does not. */
    private static final Set<String> TEMPLATE_KEYS = Set.of("source", "ref", "setup", "cacheKey");
    private static final Set<String> RESOURCE_KEYS = Set.of("memory", "cpus", "pids", "tunnels");
    private static final Set<String> POOL_KEYS = Set.of("min", "max", "targetHitRate");
    private static final Set<String> ORG_KEYS = Set.of("version", "production", "presets", "audit", "exceptions", "trust");
    private static final Set<String> AUDIT_KEYS = Set.of("every");
    /** A hard ceiling so a typo cannot ask for thousands of sandboxes. */
    public static final int POOL_HARD_MAX = 200;

    private PolicyFiles() {
    }

    public static ProjectPolicy loadProject(Path path) throws PolicyException {
        return parseProject(path.toString(), read(path));
    }

    public static OrgPolicy loadOrg(Path path) throws PolicyException {
        return parseOrg(path.toString(), read(path));
    }

    /** The organisation policy at {@code path}, or {@link OrgPolicy#NONE} when no file is given. */
    public static OrgPolicy loadOrg(Optional<Path> path) throws PolicyException {
        return path.isPresent() ? loadOrg(path.get()) : OrgPolicy.NONE;
    }

    /** The text of a policy file, refusing directories, huge files and non-UTF-8 with a fix. */
    public static String readText(Path path) throws PolicyException {
        return read(path);
    }

    static String read(Path path) throws PolicyException {
        String name = path.toString();
        try {
            if (Files.isDirectory(path)) {
                throw single(name, "is a directory, not a policy file", "name the YAML file itself");
            }
            if (Files.size(path) > MAX_FILE_BYTES) {
                throw single(name, "is larger than " + (MAX_FILE_BYTES >> 20) + " MiB", "a policy file is a few kilobytes; check the path");
            }
            return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(path))).toString();
        } catch (NoSuchFileException e) {
            throw single(name, "does not exist", "check the path, or pass --policy FILE");
        } catch (CharacterCodingException e) {
            throw single(name, "is not UTF-8 text", "save the file as UTF-8");
        } catch (IOException e) {
            throw single(name, "cannot be read: " + e.getMessage(), "check the file's permissions");
        }
    }

    private static PolicyException single(String file, String message, String fix) {
        return new PolicyException(List.of(new Problem(SourcePosition.of(file), message, fix)));
    }

    public static ProjectPolicy parseProject(String file, String text) throws PolicyException {
        return parseProject(file, text, Clock.systemUTC());
    }

    /** As above; {@code clock} says whether the CAs of {@code trust:} are in force. */
    public static ProjectPolicy parseProject(String file, String text, Clock clock) throws PolicyException {
        List<Problem> problems = new ArrayList<>();
        YamlNode root = new YamlReader(file, problems).read(text);
        if (root == null) {
            throw new PolicyException(problems);
        }
        Entries entries = new Entries(problems);
        Fields top = Fields.of(root, "the project policy", PROJECT_KEYS, problems);
        if (top == null) {
            throw new PolicyException(problems);
        }
        version(top, problems);
        String project = null;
        Optional<YamlNode> projectNode = top.required("project", "project: my-project");
        if (projectNode.isPresent()) {
            project = top.string("project");
            if (project != null && !PROJECT_NAME.matcher(project).matches()) {
                problems.add(new Problem(projectNode.get().position(), "project name \"" + project + "\" is not valid",
                        "use 1 to 40 characters from a-z, 0-9 and '-', such as \"" + suggestName(project) + "\""));
            }
        }
        List<ProjectPolicy.PresetRef> presets = new ArrayList<>();
        List<Rule> allow = new ArrayList<>();
        List<Rule> deny = new ArrayList<>();
        List<Rule> setupAllow = new ArrayList<>();
        Optional<YamlNode> networkNode = top.get("network");
        if (networkNode.isPresent() && !isNull(networkNode.get())) {
            Fields net = Fields.of(networkNode.get(), "network", NETWORK_KEYS, problems);
            if (net != null) {
                for (YamlNode p : net.list("presets")) {
                    if (p instanceof YamlNode.Scalar s && !s.isNull() && !s.plainNumber()) {
                        presets.add(new ProjectPolicy.PresetRef(s.text(), s.position()));
                    } else {
                        problems.add(new Problem(p.position(), "a preset is named by text, found " + p.kind(),
                                "write a preset name such as github"));
                    }
                }
                for (YamlNode n : net.list("allow")) {
                    entries.rule(n, Rule.Kind.ALLOW, PortSet.WEB, true, "network.allow").ifPresent(allow::add);
                }
                for (YamlNode n : net.list("deny")) {
                    entries.rule(n, Rule.Kind.DENY, PortSet.ANY, true, "network.deny").ifPresent(deny::add);
                }
                Optional<YamlNode> setup = net.get("setup");
                if (setup.isPresent() && !isNull(setup.get())) {
                    Fields s = Fields.of(setup.get(), "network.setup", SETUP_KEYS, problems);
                    if (s != null) {
                        for (YamlNode n : s.list("allow")) {
                            entries.rule(n, Rule.Kind.ALLOW, PortSet.WEB, true, "network.setup.allow").ifPresent(setupAllow::add);
                        }
                    }
                }
            }
        }
        Optional<ProjectPolicy.Workspace> workspace = workspace(top, problems);
        boolean writableGitConfig = writableGitConfig(top, problems);
        ProjectPolicy.Resources resources = resources(top, problems);
        ProjectPolicy.PoolSettings pool = pool(top, problems);
        List<String> env = env(top, problems);
        List<TrustedCa> trust = TrustFiles.read(top, directoryOf(file), clock.instant(), problems);
        Optional<ProjectPolicy.Image> image = image(top, problems);
        rootSteps(workspace, image, problems);
        if (!problems.isEmpty()) {
            throw new PolicyException(problems);
        }
        return new ProjectPolicy(file, project, presets, allow, deny, setupAllow, workspace, resources, pool, writableGitConfig, env, trust,
                image);
    }

    /** The directory {@code trust:} paths are relative to: the policy file's. */
    private static Path directoryOf(String file) {
        Path parent = Path.of(file).toAbsolutePath().getParent();
        return parent == null ? Path.of("/") : parent;
    }

    private static String suggestName(String project) {
        String s = project.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9-]+", "-").replaceAll("^-+|-+$", "");
        if (s.isEmpty()) {
            return "my-project";
        }
        return s.length() > 40 ? s.substring(0, 40) : s;
    }

    private static boolean isNull(YamlNode n) {
        return n instanceof YamlNode.Scalar s && s.isNull();
    }

    private static void version(Fields top, List<Problem> problems) {
        Optional<YamlNode> v = top.required("version", "version: 1");
        if (v.isPresent() && !(v.get() instanceof YamlNode.Scalar s && s.plainNumber() && s.text().equals("1"))) {
            String written = v.get() instanceof YamlNode.Scalar s ? s.text() : v.get().kind();
            problems.add(new Problem(v.get().position(), "unsupported version \"" + written + "\"",
                    "this Airlock reads version 1: write \"version: 1\""));
        }
    }

    private static Optional<ProjectPolicy.Workspace> workspace(Fields top, List<Problem> problems) {
        Optional<YamlNode> node = top.get("workspace");
        if (node.isEmpty() || isNull(node.get())) {
            return Optional.empty();
        }
        Fields w = Fields.of(node.get(), "workspace", WORKSPACE_KEYS, problems);
        if (w == null || TEMPLATE_KEYS.stream().noneMatch(w::has) && w.has("writableGitConfig")) {
            return Optional.empty();
        }
        String source = w.string("source");
        if (source == null && !w.has("source")) {
            problems.add(new Problem(w.position(), "workspace has no 'source'",
                    "add \"source: <git URL or local path>\""));
        }
        String ref = w.has("ref") ? w.string("ref") : "main";
        List<ProjectPolicy.SetupStep> setup = setupSteps(w, problems);
        List<String> cacheKey = strings(w, "cacheKey", problems);
        return Optional.of(new ProjectPolicy.Workspace(source == null ? "" : source, ref == null ? "main" : ref, setup, cacheKey));
    }

    /**
     * {@code workspace.setup}: each item a shell command ({@code - npm ci}) or a mapping
     * {@code - {run: "apt-get install -y jq", root: true}}; {@code root} is {@code true} or
     * {@code false} (the default).
     */
    private static List<ProjectPolicy.SetupStep> setupSteps(Fields w, List<Problem> problems) {
        List<ProjectPolicy.SetupStep> out = new ArrayList<>();
        for (YamlNode n : w.list("setup")) {
            if (n instanceof YamlNode.Scalar s && !s.isNull()) {
                out.add(new ProjectPolicy.SetupStep(s.text(), false, s.position()));
                continue;
            }
            if (!(n instanceof YamlNode.Mapping)) {
                problems.add(new Problem(n.position(), "setup items must be a command or {run: …, root: true}, found " + n.kind(),
                        "write \"- npm ci\" or \"- {run: apt-get install -y jq, root: true}\""));
                continue;
            }
            Fields f = Fields.of(n, "workspace.setup step", STEP_KEYS, problems);
            Optional<YamlNode> run = f.required("run", "run: <shell command>");
            String command = run.isPresent() ? f.string("run") : null;
            if (run.isPresent() && command != null && command.isBlank()) {
                problems.add(new Problem(run.get().position(), "workspace.setup step has an empty 'run'",
                        "write the shell command: \"run: apt-get install -y jq\""));
            }
            boolean root = false;
            Optional<YamlNode> r = f.get("root");
            if (r.isPresent()) {
                if (r.get() instanceof YamlNode.Scalar s && !s.isNull() && (s.text().equals("true") || s.text().equals("false"))) {
                    root = s.text().equals("true");
                } else {
                    problems.add(new Problem(r.get().position(), "workspace.setup step's 'root' must be true or false, found "
                            + (r.get() instanceof YamlNode.Scalar s ? "\"" + s.text() + "\"" : r.get().kind()),
                            "write \"root: true\" to run the step as root inside the sandbox's user namespace, or leave it out"));
                }
            }
            if (command != null && !command.isBlank()) {
                out.add(new ProjectPolicy.SetupStep(command, root, n.position()));
            }
        }
        return out;
    }

    /**
     * A {@code root: true} step installs into the sandbox's root file system, which only an
     * {@code image:} makes the project's own: on the host's /usr there is nothing it may write. Root
     * steps come first: together they build one layer of the image, sealed read-only after the last
     * of them, which every later step and every member stacks (docs/images.md, "Setup as root"); a
     * root step after an unprivileged one would change what that step already ran on.
     */
    private static void rootSteps(Optional<ProjectPolicy.Workspace> workspace, Optional<ProjectPolicy.Image> image,
            List<Problem> problems) {
        Optional<ProjectPolicy.SetupStep> firstPlain = Optional.empty();
        for (ProjectPolicy.SetupStep step : workspace.map(ProjectPolicy.Workspace::steps).orElse(List.of())) {
            if (!step.root()) {
                firstPlain = firstPlain.or(() -> Optional.of(step));
                continue;
            }
            if (image.isEmpty()) {
                problems.add(new Problem(step.position(), "setup step \"" + step.run() + "\" has root: true, but the project has no"
                        + " image: a root step installs into the project's own image, and the host's /usr is never writable",
                        "add \"image: {oci: images/devbox}\" (docs/images.md), or install the tool in the workspace and drop root: true"));
            } else if (firstPlain.isPresent()) {
                problems.add(new Problem(step.position(), "setup step \"" + step.run() + "\" has root: true after the unprivileged step \""
                        + firstPlain.get().run() + "\" (line " + firstPlain.get().position().line() + "): root steps build the image's"
                        + " layer that the other steps run on, so they come first",
                        "move the root: true steps before \"" + firstPlain.get().run() + "\""));
            }
        }
    }

    /**
     * {@code image:} (docs/images.md): exactly one of {@code oci: PATH} (with {@code tag}),
     * {@code ref: REGISTRY/NAME[:TAG][@sha256:…]} or {@code devcontainer: PATH}; {@code digest}
     * pins the manifest; {@code insecure: true} lets a loopback registry speak plain HTTP and is
     * refused for any other host (a pull without TLS from the network could be tampered with).
     */
    private static Optional<ProjectPolicy.Image> image(Fields top, List<Problem> problems) {
        Optional<YamlNode> node = top.get("image");
        if (node.isEmpty() || isNull(node.get())) {
            return Optional.empty();
        }
        if (node.get() instanceof YamlNode.Scalar s) {
            problems.add(new Problem(s.position(), "image \"" + s.text() + "\" is a bare string",
                    "write \"image: {ref: " + s.text() + "}\" for a registry image, or \"image: {oci: images/devbox}\" for a layout (docs/images.md)"));
            return Optional.empty();
        }
        Fields f = Fields.of(node.get(), "image", IMAGE_KEYS, problems);
        if (f == null) {
            return Optional.empty();
        }
        List<String> forms = IMAGE_FORMS.stream().filter(f::has).toList();
        if (forms.size() != 1) {
            problems.add(new Problem(f.position(), "image needs exactly one of oci, ref, devcontainer" + (forms.isEmpty() ? "" : ", not " + forms),
                    "write \"oci: images/devbox\", \"ref: registry.example/team/devbox:1\" or \"devcontainer: .devcontainer/devcontainer.json\""));
            return Optional.empty();
        }
        String form = forms.get(0);
        String value = f.string(form);
        SourcePosition at = f.get(form).get().position();
        if (value == null) {
            return Optional.empty();
        }
        if (value.isBlank() || value.indexOf('\0') >= 0) {
            problems.add(new Problem(at, "image." + form + " is empty", "write what it names, e.g. \"" + form + ": " + switch (form) {
                case "oci" -> "images/devbox";
                case "ref" -> "registry.example/team/devbox:1";
                default -> ".devcontainer/devcontainer.json";
            } + "\""));
            return Optional.empty();
        }
        Optional<String> tag = Optional.ofNullable(f.has("tag") ? f.string("tag") : null);
        if (tag.isPresent() && !form.equals("oci")) {
            problems.add(new Problem(f.get("tag").get().position(), "image.tag is for an OCI layout (oci:) only",
                    "put the tag in the reference (\"ref: NAME:TAG\") or the devcontainer's image, and remove image.tag"));
        } else if (tag.isPresent() && !IMAGE_TAG.matcher(tag.get()).matches()) {
            problems.add(new Problem(f.get("tag").get().position(), "image.tag \"" + tag.get() + "\" is not an OCI tag",
                    "use up to 128 of A-Z, a-z, 0-9, '_', '.', '-', not starting with '.' or '-', such as \"latest\""));
        }
        Optional<String> digest = Optional.ofNullable(f.has("digest") ? f.string("digest") : null);
        if (digest.isPresent() && !IMAGE_DIGEST.matcher(digest.get()).matches()) {
            problems.add(new Problem(f.get("digest").get().position(), "image.digest \"" + digest.get() + "\" is not a sha256 digest",
                    "write the manifest digest as \"sha256:\" and 64 lower-case hex digits, or leave it out"));
        }
        boolean insecure = false;
        if (f.has("insecure")) {
            String text = f.string("insecure");
            SourcePosition ip = f.get("insecure").get().position();
            if (!"true".equals(text) && !"false".equals(text)) {
                problems.add(new Problem(ip, "image.insecure must be true or false", "write \"insecure: true\" only for a registry on this machine's loopback"));
            } else if (form.equals("oci")) {
                problems.add(new Problem(ip, "image.insecure is for a registry (ref: or devcontainer:) only", "remove image.insecure"));
            } else {
                insecure = text.equals("true");
            }
        }
        ProjectPolicy.Source source = switch (form) {
            case "oci" -> new ProjectPolicy.Oci(value);
            case "ref" -> registry(value, insecure, at, problems);
            default -> new ProjectPolicy.Devcontainer(value, insecure);
        };
        return source == null ? Optional.empty() : Optional.of(new ProjectPolicy.Image(source, tag, digest, node.get().position()));
    }

    /** A registry reference, checked for shape; an insecure one only on a loopback host. */
    private static ProjectPolicy.Registry registry(String ref, boolean insecure, SourcePosition at, List<Problem> problems) {
        Optional<ImageReference> parsed = ImageReference.parse(ref);
        if (parsed.isEmpty()) {
            problems.add(new Problem(at, "image.ref \"" + ref + "\" is not a registry reference",
                    "write HOST[:PORT]/NAME[:TAG][@sha256:64 hex digits], e.g. \"registry.example/team/devbox:1\""));
            return null;
        }
        if (insecure && !parsed.get().loopback()) {
            problems.add(new Problem(at, "image.insecure is refused for " + parsed.get().host().orElse("Docker Hub")
                    + ": plain HTTP only to a loopback registry",
                    "serve the registry over HTTPS and remove image.insecure (a company CA goes in trust:), or use 127.0.0.1/localhost for a local one"));
            return null;
        }
        return new ProjectPolicy.Registry(ref, insecure);
    }

    /**
     * {@code workspace.writableGitConfig}: true lets the sandbox write the workspace's .git/hooks
     * and .git/config (read-only by default). Only {@code true} or {@code false}.
     */
    private static boolean writableGitConfig(Fields top, List<Problem> problems) {
        Optional<YamlNode> node = top.get("workspace");
        if (node.isEmpty() || !(node.get() instanceof YamlNode.Mapping m) || !m.fields().containsKey("writableGitConfig")) {
            return false;
        }
        YamlNode v = m.fields().get("writableGitConfig").value();
        if (v instanceof YamlNode.Scalar s && !s.isNull() && (s.text().equals("true") || s.text().equals("false"))) {
            return s.text().equals("true");
        }
        problems.add(new Problem(v.position(), "workspace.writableGitConfig must be true or false, found "
                + (v instanceof YamlNode.Scalar s ? "\"" + s.text() + "\"" : v.kind()),
                "write \"writableGitConfig: true\" to let the sandbox change .git/hooks and .git/config (see SECURITY.md), or leave it out"));
        return false;
    }

    /**
     * {@code env:}: names of the caller's environment variables a sandboxed command gets (besides
     * TERM, COLORTERM, LANG, LANGUAGE and LC_*, which always pass); only names, never values, so
     * the file cannot carry a secret.
     */
    private static List<String> env(Fields top, List<Problem> problems) {
        List<String> out = new ArrayList<>();
        for (YamlNode n : top.list("env")) {
            if (n instanceof YamlNode.Scalar s && !s.isNull() && ENV_NAME.matcher(s.text()).matches()) {
                out.add(s.text());
            } else {
                String found = n instanceof YamlNode.Scalar s ? "\"" + s.text() + "\"" : n.kind();
                String fix = n instanceof YamlNode.Scalar s && s.text().contains("=")
                        ? "list the name only (\"" + s.text().substring(0, s.text().indexOf('=')) + "\"): the value comes from the caller's"
                                + " environment; give a fixed value with `airlock run --env NAME=VALUE`"
                        : "write a variable name such as ANTHROPIC_API_KEY (letters, digits and '_', not starting with a digit)";
                problems.add(new Problem(n.position(), "env items are variable names, found " + found, fix));
            }
        }
        return out;
    }

    private static List<String> strings(Fields f, String key, List<Problem> problems) {
        List<String> out = new ArrayList<>();
        for (YamlNode n : f.list(key)) {
            if (n instanceof YamlNode.Scalar s && !s.isNull()) {
                out.add(s.text());
            } else {
                problems.add(new Problem(n.position(), key + " items must be text, found " + n.kind(),
                        "quote the item: - \"...\""));
            }
        }
        return out;
    }

    private static ProjectPolicy.Resources resources(Fields top, List<Problem> problems) {
        ProjectPolicy.Resources d = ProjectPolicy.Resources.DEFAULT;
        Optional<YamlNode> node = top.get("resources");
        if (node.isEmpty() || isNull(node.get())) {
            return d;
        }
        Fields r = Fields.of(node.get(), "resources", RESOURCE_KEYS, problems);
        if (r == null) {
            return d;
        }
        long memory = d.memoryBytes();
        Optional<YamlNode> m = r.get("memory");
        if (m.isPresent()) {
            String text = m.get() instanceof YamlNode.Scalar s ? s.text() : "";
            Matcher mm = MEMORY.matcher(text);
            if (mm.matches()) {
                long unit = switch (mm.group(2) == null ? "B" : mm.group(2)) {
                    case "KiB" -> 1L << 10;
                    case "MiB" -> 1L << 20;
                    case "GiB" -> 1L << 30;
                    case "TiB" -> 1L << 40;
                    default -> 1L;
                };
                long value = Long.parseLong(mm.group(1));
                memory = value > MAX_MEMORY_BYTES / unit ? Long.MAX_VALUE : value * unit;
                if (memory > MAX_MEMORY_BYTES) {
                    problems.add(new Problem(m.get().position(), "memory " + text + " is above 64TiB",
                            "give the sandbox what one machine can hold, such as \"memory: 4GiB\""));
                } else if (memory < (16L << 20)) {
                    problems.add(new Problem(m.get().position(), "memory " + text + " is below 16MiB",
                            "give the sandbox at least 16MiB, such as \"memory: 4GiB\""));
                }
            } else {
                problems.add(new Problem(m.get().position(), "invalid memory \"" + text + "\"",
                        "write a whole number with a binary unit, such as 512MiB or 4GiB"));
            }
        }
        double cpus = d.cpus();
        Optional<YamlNode> c = r.get("cpus");
        if (c.isPresent()) {
            String text = c.get() instanceof YamlNode.Scalar s && s.plainNumber() ? s.text() : "";
            if (text.matches("[0-9]{1,4}(\\.[0-9]{1,3})?") && Double.parseDouble(text) > 0) {
                cpus = Double.parseDouble(text);
            } else {
                problems.add(new Problem(c.get().position(), "invalid cpus \"" + scalarText(c.get()) + "\"",
                        "write a positive number of CPUs, such as 2 or 0.5"));
            }
        }
        int pids = d.pids();
        Optional<YamlNode> p = r.get("pids");
        if (p.isPresent()) {
            Optional<Integer> v = positiveInt(p.get(), 16, 1_000_000);
            if (v.isPresent()) {
                pids = v.get();
            } else {
                problems.add(new Problem(p.get().position(), "invalid pids \"" + scalarText(p.get()) + "\"",
                        "write a whole number from 16 to 1000000, such as 2048"));
            }
        }
        OptionalInt tunnels = d.tunnels();
        Optional<YamlNode> t = r.get("tunnels");
        if (t.isPresent()) {
            Optional<Integer> v = positiveInt(t.get(), 1, 1_000_000);
            if (v.isPresent()) {
                tunnels = OptionalInt.of(v.get());
            } else {
                problems.add(new Problem(t.get().position(), "invalid tunnels \"" + scalarText(t.get()) + "\"",
                        "write a whole number from 1 to 1000000, such as 512 (open gateway connections per sandbox)"));
            }
        }
        return new ProjectPolicy.Resources(memory, cpus, pids, tunnels);
    }

    private static ProjectPolicy.PoolSettings pool(Fields top, List<Problem> problems) {
        ProjectPolicy.PoolSettings d = ProjectPolicy.PoolSettings.DEFAULT;
        Optional<YamlNode> node = top.get("pool");
        if (node.isEmpty() || isNull(node.get())) {
            return d;
        }
        Fields f = Fields.of(node.get(), "pool", POOL_KEYS, problems);
        if (f == null) {
            return d;
        }
        int min = d.min();
        int max = d.max();
        double target = d.targetHitRate();
        if (f.has("min")) {
            Optional<Integer> v = positiveInt(f.get("min").get(), 0, POOL_HARD_MAX);
            if (v.isPresent()) {
                min = v.get();
            } else {
                problems.add(new Problem(f.get("min").get().position(), "invalid pool.min \"" + scalarText(f.get("min").get()) + "\"",
                        "write a whole number from 0 to " + POOL_HARD_MAX));
            }
        }
        if (f.has("max")) {
            Optional<Integer> v = positiveInt(f.get("max").get(), 0, POOL_HARD_MAX);
            if (v.isPresent()) {
                max = v.get();
            } else {
                problems.add(new Problem(f.get("max").get().position(), "invalid pool.max \"" + scalarText(f.get("max").get()) + "\"",
                        "write a whole number from 0 to " + POOL_HARD_MAX));
            }
        }
        if (min > max) {
            problems.add(new Problem(f.position(), "pool.min (" + min + ") is above pool.max (" + max + ")",
                    "make min at most max"));
        }
        if (f.has("targetHitRate")) {
            YamlNode t = f.get("targetHitRate").get();
            String text = scalarText(t);
            if (t instanceof YamlNode.Scalar s && s.plainNumber() && text.matches("(0|1)(\\.[0-9]{1,6})?")
                    && Double.parseDouble(text) > 0 && Double.parseDouble(text) <= 1) {
                target = Double.parseDouble(text);
            } else {
                problems.add(new Problem(t.position(), "invalid pool.targetHitRate \"" + text + "\"",
                        "write a fraction above 0 and at most 1, such as 0.95"));
            }
        }
        return new ProjectPolicy.PoolSettings(min, max, target);
    }

    private static String scalarText(YamlNode n) {
        return n instanceof YamlNode.Scalar s ? s.text() : n.kind();
    }

    private static Optional<Integer> positiveInt(YamlNode n, int min, int max) {
        if (n instanceof YamlNode.Scalar s && s.plainNumber() && s.text().matches("0|[1-9][0-9]{0,8}")) {
            int v = Integer.parseInt(s.text());
            if (v >= min && v <= max) {
                return Optional.of(v);
            }
        }
        return Optional.empty();
    }

    public static OrgPolicy parseOrg(String file, String text) throws PolicyException {
        return parseOrg(file, text, Clock.systemUTC());
    }

    /** As above; {@code clock} says whether the CAs of {@code trust:} are in force. */
    public static OrgPolicy parseOrg(String file, String text, Clock clock) throws PolicyException {
        List<Problem> problems = new ArrayList<>();
        YamlNode root = new YamlReader(file, problems).read(text);
        if (root == null) {
            throw new PolicyException(problems);
        }
        Fields top = Fields.of(root, "the organisation policy", ORG_KEYS, problems);
        if (top == null) {
            throw new PolicyException(problems);
        }
        version(top, problems);
        Entries entries = new Entries(problems);
        List<Rule> production = new ArrayList<>();
        for (YamlNode n : top.list("production")) {
            entries.rule(n, Rule.Kind.PRODUCTION, PortSet.ANY, false, "production").ifPresent(production::add);
        }
        List<OrgPolicy.Grant> exceptions = new ArrayList<>();
        for (YamlNode n : top.list("exceptions")) {
            entries.exception(n, PROJECT_NAME).ifPresent(exceptions::add);
        }
        Map<String, Preset> presets = new LinkedHashMap<>();
        Optional<YamlNode> presetsNode = top.get("presets");
        if (presetsNode.isPresent() && !isNull(presetsNode.get())) {
            if (presetsNode.get() instanceof YamlNode.Mapping m) {
                for (YamlNode.Field f : m.fields().values()) {
                    if (!PROJECT_NAME.matcher(f.key()).matches()) {
                        problems.add(new Problem(f.keyPosition(), "preset name \"" + f.key() + "\" is not valid",
                                "use 1 to 40 characters from a-z, 0-9 and '-'"));
                        continue;
                    }
                    if (Presets.builtIn().containsKey(f.key())) {
                        problems.add(new Problem(f.keyPosition(), "preset \"" + f.key() + "\" has the name of a built-in preset",
                                "choose another name, such as \"org-" + f.key() + "\""));
                        continue;
                    }
                    List<Rule> rules = new ArrayList<>();
                    if (f.value() instanceof YamlNode.Sequence seq) {
                        for (YamlNode n : seq.items()) {
                            entries.rule(n, Rule.Kind.ALLOW, PortSet.WEB, true, "preset " + f.key()).ifPresent(rules::add);
                        }
                    } else {
                        problems.add(new Problem(f.value().position(), "preset \"" + f.key() + "\" must be a list of rules",
                                "write \"" + f.key() + ": [ci.example.dev, \\\"*.artifacts.example.dev\\\"]\""));
                    }
                    presets.put(f.key(), new Preset(f.key(), "org", "defined in " + file, List.of(file), rules));
                }
            } else {
                problems.add(new Problem(presetsNode.get().position(), "presets must be a mapping of name to rules",
                        "write \"presets: { acme-ci: [ci.acme.dev] }\""));
            }
        }
        Duration every = OrgPolicy.DEFAULT_AUDIT_EVERY;
        Optional<YamlNode> auditNode = top.get("audit");
        if (auditNode.isPresent() && !isNull(auditNode.get())) {
            Fields a = Fields.of(auditNode.get(), "audit", AUDIT_KEYS, problems);
            if (a != null && a.has("every")) {
                String e = a.string("every");
                Matcher m = e == null ? null : DURATION.matcher(e);
                if (m != null && m.matches()) {
                    long n = Long.parseLong(m.group(1));
                    every = switch (m.group(2)) {
                        case "s" -> Duration.ofSeconds(n);
                        case "m" -> Duration.ofMinutes(n);
                        case "h" -> Duration.ofHours(n);
                        default -> Duration.ofDays(n);
                    };
                    if (every.compareTo(Duration.ofMinutes(1)) < 0) {
                        problems.add(new Problem(a.get("every").get().position(), "audit.every " + e + " is under a minute",
                                "audit at most once a minute, such as \"every: 1h\""));
                    }
                } else if (a.get("every").isPresent()) {
                    problems.add(new Problem(a.get("every").get().position(), "invalid audit.every \"" + e + "\"",
                            "write a number and a unit (s, m, h or d), such as 7d"));
                }
            }
        }
        List<TrustedCa> trust = TrustFiles.read(top, directoryOf(file), clock.instant(), problems);
        if (!problems.isEmpty()) {
            throw new PolicyException(problems);
        }
        return new OrgPolicy(file, production, presets, every, exceptions, trust);
    }

    /** Used by presets: a list of allow entries from a resource. */
    static List<Rule> allowEntries(YamlNode list, String source, List<Problem> problems) {
        Entries entries = new Entries(problems);
        List<Rule> rules = new ArrayList<>();
        if (list instanceof YamlNode.Sequence seq) {
            for (YamlNode n : seq.items()) {
                entries.rule(n, Rule.Kind.ALLOW, PortSet.WEB, true, source).ifPresent(rules::add);
            }
        } else {
            problems.add(new Problem(list.position(), "allow must be a list", "write \"allow: [host.example]\""));
        }
        return rules;
    }
}
