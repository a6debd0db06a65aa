package dev.airlock.policy.schema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.load.Presets;
import dev.airlock.policy.load.Problem;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The editor schemas in {@code schema/} against the loader, which is authoritative. Every document
 * here is checked by both: the bad ones must be refused by both, the good ones accepted by both, and
 * the known gaps (what a JSON Schema cannot say) are pinned so that a change on either side shows.
 *
 * <p>Each document is validated twice: under draft 2020-12, as the schema declares, and under
 * draft-07 with {@code $schema} removed, which is what the YAML language server in editors applies.
 * YAML is read into a tree with the same Jackson YAML parser the loader uses.
 */
class PolicySchemaTest {

    private static final Path SCHEMA_DIR = Path.of("..", "schema");
    private static final Path EXAMPLES = Path.of("..", "examples");
    private static final ObjectMapper YAML = new YAMLMapper();
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A line ending in this marker is where the loader must report a problem. */
    private static final String MARK = "#!";

    private static JsonNode projectSchemaJson;
    private static JsonNode orgSchemaJson;
    private static List<Schema> projectSchemas;
    private static List<Schema> orgSchemas;

    @BeforeAll
    static void loadSchemas() throws IOException {
        projectSchemaJson = JSON.readTree(Files.readString(SCHEMA_DIR.resolve("airlock.schema.json")));
        orgSchemaJson = JSON.readTree(Files.readString(SCHEMA_DIR.resolve("org.schema.json")));
        projectSchemas = compile(projectSchemaJson);
        orgSchemas = compile(orgSchemaJson);
    }

    /** The schema as declared (2020-12), and as a draft-07 validator such as an editor's reads it. */
    private static List<Schema> compile(JsonNode schema) {
        SchemaRegistry v2020 = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
        ObjectNode asDraft7 = schema.deepCopy();
        asDraft7.remove("$schema");
        SchemaRegistry v7 = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_7);
        return List.of(v2020.getSchema(schema.toString(), InputFormat.JSON), v7.getSchema(asDraft7.toString(), InputFormat.JSON));
    }

    // ---------------------------------------------------------------- the schema files themselves

    @Test
    void schemasAreValidDraft202012Documents() throws IOException {
        SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
        Schema meta = registry.getSchema(SchemaLocation.of("https://json-schema.org/draft/2020-12/schema"));
        for (String file : List.of("airlock.schema.json", "org.schema.json")) {
            String text = Files.readString(SCHEMA_DIR.resolve(file));
            assertThat(meta.validate(text, InputFormat.JSON)).as(file).isEmpty();
            JsonNode s = JSON.readTree(text);
            assertThat(s.path("$schema").asText()).isEqualTo("https://json-schema.org/draft/2020-12/schema");
            assertThat(s.path("$id").asText()).isEqualTo("https://airlock.dev/schema/" + file);
            assertThat(s.path("title").asText()).as(file + " title").isNotBlank();
            assertThat(s.path("description").asText()).as(file + " description").isNotBlank();
        }
    }

    /**
     * Editors show descriptions as hover help and {@code patternErrorMessage} (a VS Code extension
     * keyword, ignored by other validators) instead of a raw regex; unknown keys must be errors at
     * every level.
     */
    @Test
    void everyPropertyIsDescribedAndEveryObjectIsClosed() {
        List<String> faults = new ArrayList<>();
        audit("airlock.schema.json", projectSchemaJson, "#", faults);
        audit("org.schema.json", orgSchemaJson, "#", faults);
        assertThat(faults).isEmpty();
    }

    private static void audit(String file, JsonNode node, String at, List<String> faults) {
        if (!node.isObject()) {
            if (node.isArray()) {
                for (int i = 0; i < node.size(); i++) {
                    audit(file, node.get(i), at + "/" + i, faults);
                }
            }
            return;
        }
        if (node.has("properties")) {
            if (!node.has("additionalProperties") || node.get("additionalProperties").isBoolean()
                    && node.get("additionalProperties").asBoolean()) {
                faults.add(file + " " + at + ": object without additionalProperties false");
            }
            for (Map.Entry<String, JsonNode> p : node.get("properties").properties()) {
                if (p.getValue().path("description").asText().isBlank()) {
                    faults.add(file + " " + at + "/properties/" + p.getKey() + ": no description");
                }
            }
        }
        if (node.has("pattern") && node.path("patternErrorMessage").asText().isBlank()) {
            faults.add(file + " " + at + ": pattern without patternErrorMessage");
        }
        if (node.has("$defs")) {
            for (Map.Entry<String, JsonNode> d : node.get("$defs").properties()) {
                if (d.getValue().path("description").asText().isBlank()) {
                    faults.add(file + " " + at + "/$defs/" + d.getKey() + ": no description");
                }
            }
        }
        for (Map.Entry<String, JsonNode> f : node.properties()) {
            if (!f.getKey().equals("examples") && !f.getKey().equals("default") && !f.getKey().equals("const")
                    && !f.getKey().equals("enum")) {
                audit(file, f.getValue(), at + "/" + f.getKey(), faults);
            }
        }
    }

    /** The two files are self-contained (editors cannot fetch the $id URLs); shared parts must not drift. */
    @Test
    void sharedDefinitionsAreIdentical() {
        JsonNode a = projectSchemaJson.get("$defs");
        JsonNode b = orgSchemaJson.get("$defs");
        List<String> shared = new ArrayList<>();
        a.fieldNames().forEachRemaining(n -> {
            if (b.has(n)) {
                shared.add(n);
                assertThat(b.get(n)).as("$defs/" + n).isEqualTo(a.get(n));
            }
        });
        assertThat(shared).contains("port", "ports", "name", "nameWithPort", "cidr", "rule", "hostRule", "cidrRule");
        assertThat(orgSchemaJson.at("/properties/version")).isEqualTo(projectSchemaJson.at("/properties/version"));
    }

    /** Completion offers the built-in presets; an organisation may not reuse their names. */
    @Test
    void builtInPresetNamesMatchTheLoader() {
        List<String> projectEnum = new ArrayList<>();
        projectSchemaJson.at("/$defs/presetRef/anyOf/0/enum").forEach(n -> projectEnum.add(n.asText()));
        assertThat(projectEnum).containsExactlyElementsOf(Presets.NAMES);
        for (String name : Presets.NAMES) {
            String reuse = org("presets:\n  " + name + ": [ci.acme.dev]\n");
            assertThat(orgErrors(reuse)).as(name).isNotEmpty();
            assertThatThrownBy(() -> PolicyFiles.parseOrg("reuse.yaml", reuse)).isInstanceOf(PolicyException.class);
            String extend = org("presets:\n  " + name + "-mirror: [ci.acme.dev]\n");
            assertThat(orgErrors(extend)).as(name + "-mirror").isEmpty();
        }
    }

    /** Every rule the shipped presets use is a rule the schema accepts, as an organisation preset. */
    @Test
    void rulesOfTheBuiltInPresetsAreValidRules() throws IOException {
        for (String name : Presets.NAMES) {
            String resource = "dev/airlock/policy/load/presets/" + name + ".yaml";
            try (InputStream in = PolicyFiles.class.getClassLoader().getResourceAsStream(resource)) {
                assertThat(in).as(resource).isNotNull();
                JsonNode preset = YAML.readTree(new String(in.readAllBytes(), StandardCharsets.UTF_8));
                ObjectNode org = JSON.createObjectNode();
                org.put("version", 1);
                org.putObject("presets").set("probe-" + name, preset.get("allow"));
                for (Schema s : orgSchemas) {
                    assertThat(s.validate(org.toString(), InputFormat.JSON)).as(name).isEmpty();
                }
            }
        }
    }

    // ---------------------------------------------------------------- examples

    @Test
    void examplesValidateAgainstTheirSchemasAndLoad() throws Exception {
        String project = Files.readString(EXAMPLES.resolve("airlock.yaml"));
        String org = Files.readString(EXAMPLES.resolve("org.yaml"));
        assertThat(project.lines().findFirst()).hasValue("# yaml-language-server: $schema=../schema/airlock.schema.json");
        assertThat(org.lines().findFirst()).hasValue("# yaml-language-server: $schema=../schema/org.schema.json");
        assertThat(projectErrors(project)).isEmpty();
        assertThat(orgErrors(org)).isEmpty();
        PolicyFiles.loadProject(EXAMPLES.resolve("airlock.yaml"));
        PolicyFiles.loadOrg(EXAMPLES.resolve("org.yaml"));
    }

    // ---------------------------------------------------------------- the tables

    @ParameterizedTest(name = "{0}")
    @MethodSource("badProjects")
    void badProjectIsRefusedByBoth(String why, String yaml) {
        assertThat(projectErrors(yaml)).as("schema errors for: %s%n%s", why, yaml).isNotEmpty();
        PolicyException e = catchThrowableOfType(PolicyException.class, () -> PolicyFiles.parseProject("bad.yaml", yaml));
        assertThat(e).as("loader must refuse: %s%n%s", why, yaml).isNotNull();
        assertReportedAtMark(yaml, e);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("goodProjects")
    void goodProjectIsAcceptedByBoth(String why, String yaml) throws PolicyException {
        assertThat(projectErrors(yaml)).as("schema errors for: %s%n%s", why, yaml).isEmpty();
        PolicyFiles.parseProject("good.yaml", yaml);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badOrgs")
    void badOrgIsRefusedByBoth(String why, String yaml) {
        assertThat(orgErrors(yaml)).as("schema errors for: %s%n%s", why, yaml).isNotEmpty();
        PolicyException e = catchThrowableOfType(PolicyException.class, () -> PolicyFiles.parseOrg("bad.yaml", yaml));
        assertThat(e).as("loader must refuse: %s%n%s", why, yaml).isNotNull();
        assertReportedAtMark(yaml, e);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("goodOrgs")
    void goodOrgIsAcceptedByBoth(String why, String yaml) throws PolicyException {
        assertThat(orgErrors(yaml)).as("schema errors for: %s%n%s", why, yaml).isEmpty();
        PolicyFiles.parseOrg("good.yaml", yaml);
    }

    /**
     * What a JSON Schema cannot express: the schema accepts these, the loader refuses them. This is
     * why editors are a convenience and {@code airlock policy check} the gate. If the schema learns
     * to refuse one, move it to the bad table.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("loaderOnlyProjects")
    void loaderOnlyProject(String why, String yaml) {
        assertThat(projectErrors(yaml)).as("the schema now refuses this; move it to badProjects: %s", why).isEmpty();
        assertThatThrownBy(() -> PolicyFiles.parseProject("gap.yaml", yaml)).isInstanceOf(PolicyException.class);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("loaderOnlyOrgs")
    void loaderOnlyOrg(String why, String yaml) {
        assertThat(orgErrors(yaml)).as("the schema now refuses this; move it to badOrgs: %s", why).isEmpty();
        assertThatThrownBy(() -> PolicyFiles.parseOrg("gap.yaml", yaml)).isInstanceOf(PolicyException.class);
    }

    /**
     * Where the schema is deliberately stricter than {@code parseProject}: values the loader tolerates
     * but that are mistakes or are refused later (unknown presets fail when the engine is compiled).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("schemaStricterProjects")
    void schemaStricterProject(String why, String yaml) throws PolicyException {
        assertThat(projectErrors(yaml)).as("schema should refuse: %s", why).isNotEmpty();
        PolicyFiles.parseProject("strict.yaml", yaml);
    }

    /** An empty value ("network:" with nothing after it) is null for the loader, YAML, editors and the schema. */
    @Test
    void emptyValues_areNullForBoth() {
        for (String yaml : List.of(project("network:\n"), project("workspace:\n  source: x\n  setup:\n"), project("network:\n  allow:\n"))) {
            assertThat(projectErrors(yaml)).as(yaml).isEmpty();
            assertThatCode(() -> PolicyFiles.parseProject("empty.yaml", yaml)).as(yaml).doesNotThrowAnyException();
        }
        String emptyProduction = org("production:\n");
        assertThat(orgErrors(emptyProduction)).isEmpty();
        assertThatCode(() -> PolicyFiles.parseOrg("empty.yaml", emptyProduction)).doesNotThrowAnyException();
        String emptySource = project("workspace:\n  source:\n");
        assertThat(projectErrors(emptySource)).isNotEmpty();
        assertThatThrownBy(() -> PolicyFiles.parseProject("empty.yaml", emptySource)).isInstanceOf(PolicyException.class);
    }

    // ---------------------------------------------------------------- project documents

    /** A minimal valid project followed by {@code rest}. */
    private static String project(String rest) {
        return "version: 1\nproject: p\n" + rest;
    }

    private static String allow(String entry) {
        return project("network:\n  allow:\n    - " + entry + "  " + MARK + "\n");
    }

    static Stream<Arguments> badProjects() {
        return Stream.of(
                // unknown keys, at every level
                bad("unknown top-level key", project("netwrok: {}  #!\n")),
                bad("unknown key in network", project("network:\n  allowed: [github.com]  #!\n")),
                bad("unknown key in network.setup", project("network:\n  setup:\n    deny: [github.com]  #!\n")),
                bad("unknown key in a rule", allow("{host: a.example.dev, port: 443}")),
                bad("unknown key in workspace", project("workspace:\n  source: x\n  branch: main  #!\n")),
                bad("unknown key in resources", project("resources:\n  memroy: 4GiB  #!\n")),
                bad("unknown key in pool", project("pool:\n  maximum: 3  #!\n")),
                // image (docs/images.md)
                bad("image as a bare string", project("image: registry.acme.dev/devbox@sha256:" + "a".repeat(64) + "  #!\n")),
                bad("image without oci, ref or devcontainer", project("image:\n  tag: latest  #!\n")),
                bad("unknown key in image", project("image:\n  oci: images/devbox\n  registry: latest  #!\n")),
                bad("image with both oci and ref", project("image:\n  oci: images/devbox  #!\n  ref: registry.acme.dev/devbox:1\n")),
                bad("image tag with ref", project("image:\n  ref: registry.acme.dev/devbox\n  tag: v1  #!\n")),
                bad("image insecure with oci", project("image:\n  oci: images/devbox\n  insecure: true  #!\n")),
                bad("image digest not sha256", project("image:\n  oci: images/devbox\n  digest: md5:abc  #!\n")),
                bad("image tag with a slash", project("image:\n  oci: images/devbox\n  tag: a/b  #!\n")),
                // version and project
                bad("missing version", "project: p  #!\n"),
                bad("version 2", "version: 2  #!\nproject: p\n"),
                bad("version quoted", "version: \"1\"  #!\nproject: p\n"),
                bad("missing project", "version: 1  #!\n"),
                bad("project upper case", "version: 1\nproject: Payments  #!\n"),
                bad("project underscore", "version: 1\nproject: my_project  #!\n"),
                bad("project too long", "version: 1\nproject: " + "a".repeat(41) + "  #!\n"),
                bad("project empty", "version: 1\nproject: \"\"  #!\n"),
                bad("project null", "version: 1\nproject:  #!\n"),
                bad("not a mapping", "- version: 1  #!\n"),
                // names
                bad("* alone", allow("\"*\"")),
                bad("*. alone", allow("\"*.\"")),
                bad("glob inside", allow("\"api.*.example.com\"")),
                bad("glob without dot", allow("\"*example.com\"")),
                bad("double wildcard", allow("\"*.*.example.com\"")),
                bad("trailing glob", allow("\"example.*\"")),
                bad("upper case name", allow("GitHub.com")),
                bad("trailing dot", allow("github.com.")),
                bad("unicode name", allow("bücher.example")),
                bad("underscore", allow("my_host.example")),
                bad("leading hyphen", allow("-a.example")),
                bad("empty label", allow("a..example")),
                bad("label of 64", allow("a".repeat(64) + ".example")),
                bad("name of 254", allow(("a".repeat(63) + ".").repeat(3) + "a".repeat(62))),
                bad("space in name", allow("\"github .com\"")),
                bad("IPv4 literal", allow("198.18.7.1")),
                bad("short IPv4", allow("127.1")),
                bad("integer IPv4", allow("\"2130706433\"")),
                bad("hex IPv4", allow("0x7f.1")),
                bad("numeric last label", allow("example.123")),
                bad("hex last label", allow("example.0x1f")),
                bad("bracketed IPv6", allow("\"[::1]\"")),
                bad("unbracketed IPv6", allow("\"2001:db8::1\"")),
                bad("bracketed IPv6 with port", allow("\"[2001:db8::1]:443\"")),
                bad("URL instead of name", allow("https://github.com")),
                bad("cidr: as a string", allow("\"cidr:10.0.0.0/8\"")),
                bad("host: as a string", allow("\"host:443\"")),
                bad("number as a rule", allow("42")),
                bad("null rule", allow("~")),
                bad("list as a rule", allow("[github.com]")),
                // ports in name:port
                bad("port 0", allow("github.com:0")),
                bad("port 65536", allow("github.com:65536")),
                bad("port with sign", allow("\"github.com:+443\"")),
                bad("port with leading zero", allow("github.com:0443")),
                bad("port by name", allow("github.com:https")),
                bad("empty port", allow("\"github.com:\"")),
                bad("two ports", allow("\"github.com:443:8443\"")),
                // mapping rules
                bad("host with a port", allow("{host: \"a.example.dev:443\"}")),
                bad("host and cidr", allow("{host: a.example.dev, cidr: 198.18.7.0/24}")),
                bad("neither host nor cidr", allow("{ports: [443]}")),
                bad("host null", allow("{host: ~}")),
                bad("host *", allow("{host: \"*\"}")),
                bad("ports empty", allow("{host: a.example.dev, ports: []}")),
                bad("ports as strings", allow("{host: a.example.dev, ports: [\"443\"]}")),
                bad("ports by name", allow("{host: a.example.dev, ports: [https]}")),
                bad("port 0 in ports", allow("{host: a.example.dev, ports: [0]}")),
                bad("port 65536 in ports", allow("{host: a.example.dev, ports: [65536]}")),
                bad("negative port", allow("{host: a.example.dev, ports: [-1]}")),
                bad("fractional port", allow("{host: a.example.dev, ports: [443.5]}")),
                bad("ports not a list", allow("{host: a.example.dev, ports: 443}")),
                bad("ports null", allow("{host: a.example.dev, ports: ~}")),
                bad("port is a list", allow("{host: a.example.dev, ports: [[443]]}")),
                // CIDRs
                bad("prefix too long", allow("{cidr: 198.18.7.0/33}")),
                bad("prefix with leading zero", allow("{cidr: 10.0.0.0/08}")),
                bad("octet with leading zero", allow("{cidr: 010.0.0.0/8}")),
                bad("three octets", allow("{cidr: 10.0.0/8}")),
                bad("octet over 255", allow("{cidr: 10.0.0.256}")),
                bad("IPv6 upper case", allow("{cidr: \"2001:DB8::/32\"}")),
                bad("IPv6 leading zero", allow("{cidr: \"2001:0db8::/32\"}")),
                bad("IPv6 prefix 129", allow("{cidr: \"2001:db8::/129\"}")),
                bad("IPv6 bracketed", allow("{cidr: \"[2001:db8::]/32\"}")),
                bad("name as cidr", allow("{cidr: example.com}")),
                bad("cidr with port", allow("{cidr: \"198.18.7.0/24:5432\"}")),
                bad("cidr as a number", allow("{cidr: 10}")),
                // lists and presets
                bad("allow not a list", project("network:\n  allow: github.com  #!\n")),
                bad("deny with bad port", project("network:\n  deny:\n    - github.com:0  #!\n")),
                bad("setup allow with *", project("network:\n  setup:\n    allow: [\"*\"]  #!\n")),
                bad("presets not a list", project("network:\n  presets: github  #!\n")),
                bad("preset a number", project("network:\n  presets: [42]  #!\n")),
                bad("preset null", project("network:\n  presets: [~]  #!\n")),
                // workspace
                bad("workspace without source", project("workspace:\n  ref: main  #!\n")),
                bad("workspace source null", project("workspace:\n  source: ~  #!\n")),
                bad("workspace not a mapping", project("workspace: https://git.example/x.git  #!\n")),
                bad("workspace ref null", project("workspace:\n  source: x\n  ref: ~  #!\n")),
                bad("setup not a list", project("workspace:\n  source: x\n  setup: npm ci  #!\n")),
                bad("setup item null", project("workspace:\n  source: x\n  setup: [~]  #!\n")),
                bad("cacheKey item a list", project("workspace:\n  source: x\n  cacheKey: [[a]]  #!\n")),
                bad("writableGitConfig a word", project("workspace:\n  writableGitConfig: always  #!\n")),
                bad("writableGitConfig null", project("workspace:\n  writableGitConfig: ~  #!\n")),
                bad("writableGitConfig with ref but no source", project("workspace:\n  writableGitConfig: true  #!\n  ref: main\n")),
                // resources
                bad("memory without i", project("resources: {memory: 4GB}  #!\n")),
                bad("memory with space", project("resources: {memory: 4 GiB}  #!\n")),
                bad("memory zero", project("resources: {memory: 0}  #!\n")),
                bad("memory negative", project("resources: {memory: -1GiB}  #!\n")),
                bad("memory fractional", project("resources: {memory: 4.5GiB}  #!\n")),
                bad("memory lower-case unit", project("resources: {memory: 4gib}  #!\n")),
                bad("memory below 16MiB as bytes", project("resources: {memory: 1024}  #!\n")),
                bad("memory leading zero", project("resources: {memory: 04GiB}  #!\n")),
                bad("cpus zero", project("resources: {cpus: 0}  #!\n")),
                bad("cpus negative", project("resources: {cpus: -1}  #!\n")),
                bad("cpus quoted", project("resources: {cpus: \"2\"}  #!\n")),
                bad("cpus too many", project("resources: {cpus: 10000}  #!\n")),
                bad("pids 15", project("resources: {pids: 15}  #!\n")),
                bad("pids over a million", project("resources: {pids: 1000001}  #!\n")),
                bad("pids fractional", project("resources: {pids: 2048.5}  #!\n")),
                bad("pids quoted", project("resources: {pids: \"2048\"}  #!\n")),
                bad("tunnels zero", project("resources: {tunnels: 0}  #!\n")),
                bad("tunnels over a million", project("resources: {tunnels: 1000001}  #!\n")),
                bad("tunnels fractional", project("resources: {tunnels: 2.5}  #!\n")),
                bad("tunnels quoted", project("resources: {tunnels: \"512\"}  #!\n")),
                bad("resources not a mapping", project("resources: 4GiB  #!\n")),
                // pool
                bad("pool min negative", project("pool: {min: -1}  #!\n")),
                bad("pool max 201", project("pool: {max: 201}  #!\n")),
                bad("pool min fractional", project("pool: {min: 1.5}  #!\n")),
                bad("pool max quoted", project("pool: {max: \"10\"}  #!\n")),
                bad("targetHitRate zero", project("pool: {targetHitRate: 0}  #!\n")),
                bad("targetHitRate above 1", project("pool: {targetHitRate: 1.5}  #!\n")),
                bad("targetHitRate quoted", project("pool: {targetHitRate: \"0.9\"}  #!\n")),
                bad("targetHitRate percent", project("pool: {targetHitRate: 95%}  #!\n")),
                // env: names of the caller's variables, never values
                bad("env with a value", project("env:\n  - TOKEN=abc  #!\n")),
                bad("env name starting with a digit", project("env: [1PASSWORD]  #!\n")),
                bad("env name with a dash", project("env: [MY-VAR]  #!\n")),
                bad("env not a list", project("env: TOKEN  #!\n")),
                bad("env item a list", project("env: [[TOKEN]]  #!\n")));
    }

    static Stream<Arguments> goodProjects() {
        return Stream.of(
                good("minimal", project("")),
                good("env names", project("env: [ANTHROPIC_API_KEY, _private, GH_TOKEN2]\n")),
                good("image: an OCI layout", project("image: {oci: images/devbox}\n")),
                good("image: a registry reference", project("image: {ref: registry.acme.dev/team/devbox:1}\n")),
                good("image: a loopback registry over plain HTTP", project("image:\n  ref: 127.0.0.1:5000/devbox:1\n  insecure: true\n")),
                good("image: a devcontainer", project("image: {devcontainer: .devcontainer/devcontainer.json}\n")),
                good("image: tagged and pinned", project("image:\n  oci: /srv/images/devbox.tar\n  tag: v3.1\n  digest: sha256:"
                        + "0123456789abcdef".repeat(4) + "\n")),
                good("writable git config, no template", project("workspace:\n  writableGitConfig: true\n")),
                good("read-only git config with a template", project("workspace:\n  source: x\n  writableGitConfig: false\n")),
                good("DESIGN.md example", """
                        version: 1
                        project: payments
                        network:
                          presets: [github, npm]
                          allow:
                            - github.com
                            - "*.githubusercontent.com"
                            - ssh.github.com:22
                            - host: staging.acme.dev
                              ports: [443, 8443]
                            - cidr: 198.18.7.0/24
                              ports: [5432]
                          deny:
                            - "*.internal.acme.dev"
                            - cidr: 203.0.113.0/24
                          setup:
                            allow: [registry.npmjs.org]
                        workspace:
                          source: https://git.acme.dev/acme/payments.git
                          ref: main
                          setup: ["npm ci"]
                          cacheKey: ["package-lock.json"]
                        resources: { memory: 4GiB, cpus: 2, pids: 2048, tunnels: 512 }
                        pool: { min: 0, max: 10, targetHitRate: 0.95 }
                        """),
                good("null sections", project("network: ~\nworkspace: ~\nresources: ~\npool: ~\n")),
                good("empty and null lists", project("network:\n  presets: []\n  allow: []\n  deny: ~\n  setup:\n    allow: null\n")),
                good("every built-in preset", project("network:\n  presets: [" + String.join(", ", Presets.NAMES) + "]\n")),
                good("an organisation preset name", project("network:\n  presets: [acme-ci]\n")),
                good("project of 40", "version: 1\nproject: " + "a".repeat(40) + "\n"),
                good("project of digits and hyphens", "version: 1\nproject: \"-1-\"\n"),
                good("single-label name", allow("localhost")),
                good("numeric labels before a name", allow("1.2.3.example")),
                good("hex-looking label not last", allow("0x1f.example")),
                good("label of 63", allow("a".repeat(63) + ".example")),
                good("name of 253", allow(("a".repeat(63) + ".").repeat(3) + "a".repeat(61))),
                good("hyphens inside labels", allow("a-b--c.example-1.dev")),
                good("Punycode", allow("xn--bcher-kva.example")),
                good("wildcard with a port", allow("\"*.example.com:8443\"")),
                good("port 1", allow("github.com:1")),
                good("port 65535", allow("github.com:65535")),
                good("host mapping without ports", allow("{host: a.example.dev}")),
                good("wildcard host mapping", allow("{host: \"*.example.dev\", ports: [22, 443]}")),
                good("ports 1 and 65535", allow("{host: a.example.dev, ports: [1, 65535]}")),
                good("cidr bare IPv4 address", allow("{cidr: 198.18.7.1}")),
                good("cidr /32", allow("{cidr: 198.18.7.1/32}")),
                good("cidr /0", allow("{cidr: 0.0.0.0/0}")),
                good("cidr IPv6", allow("{cidr: \"2001:db8::/32\"}")),
                good("cidr IPv6 address", allow("{cidr: \"2001:db8::1\"}")),
                good("cidr IPv6 full", allow("{cidr: \"2001:db8:1:2:3:4:5:6/128\"}")),
                good("cidr IPv6 all", allow("{cidr: \"::/0\"}")),
                good("deny with ports", project("network:\n  deny:\n    - host: a.example.dev\n      ports: [22]\n    - b.example.dev:25\n")),
                good("workspace with a local path only", project("workspace:\n  source: ../payments\n")),
                good("memory in bytes", project("resources: {memory: 4294967296}\n")),
                good("memory as a quoted number of bytes", project("resources: {memory: \"16777216\"}\n")),
                good("memory 16MiB", project("resources: {memory: 16MiB}\n")),
                good("memory with B", project("resources: {memory: 16777216B}\n")),
                good("memory 1TiB", project("resources: {memory: 1TiB}\n")),
                good("cpus fraction", project("resources: {cpus: 0.5}\n")),
                good("cpus most", project("resources: {cpus: 9999.999}\n")),
                good("pids bounds", project("resources: {pids: 16}\n")),
                good("pids most", project("resources: {pids: 1000000}\n")),
                good("pool bounds", project("pool: {min: 200, max: 200, targetHitRate: 1}\n")),
                good("pool empty", project("pool: {min: 0, max: 0, targetHitRate: 0.000001}\n")));
    }

    static Stream<Arguments> loaderOnlyProjects() {
        return Stream.of(
                good("public-suffix wildcard *.com", allow("\"*.com\"")),
                good("public-suffix wildcard *.co.uk", allow("\"*.co.uk\"")),
                good("invalid Punycode", allow("xn--a.example")),
                good("host bits set", allow("{cidr: 10.0.0.1/8}")),
                good("IPv6 not in RFC 5952 form", allow("{cidr: \"2001:db8:0:0:0:0:0:1/128\"}")),
                good("IPv6 :: for one zero group", allow("{cidr: \"2001:db8::1:1:1:1:1/128\"}")),
                good("version 1.0 (equal to 1 as a JSON number)", "version: 1.0\nproject: p\n"),
                good("port with leading zero in ports (read as a number)", allow("{host: a.example.dev, ports: [0443]}")),
                good("port with sign in ports (read as a number)", allow("{host: a.example.dev, ports: [+443]}")),
                good("memory below 16MiB", project("resources: {memory: 15MiB}\n")),
                good("cpus with 4 decimals", project("resources: {cpus: 0.0001}\n")),
                good("targetHitRate with 7 decimals", project("pool: {targetHitRate: 0.9999999}\n")),
                good("pool.min above pool.max", project("pool: {min: 5, max: 2}\n")),
                good("pool.min above the default max", project("pool: {min: 20}\n")),
                good("duplicate key", project("network:\n  allow: [a.example]\n  allow: [b.example]\n")),
                good("two YAML documents", project("---\nversion: 1\nproject: q\n")));
    }

    static Stream<Arguments> schemaStricterProjects() {
        return Stream.of(
                good("preset name that can never exist (refused when compiled)", project("network:\n  presets: [GitHub]\n")),
                good("project as an unquoted number", "version: 1\nproject: 2024\n"),
                good("workspace.ref as an unquoted number", project("workspace:\n  source: x\n  ref: 2024\n")),
                good("workspace.setup item as a number", project("workspace:\n  source: x\n  setup: [42]\n")),
                good("workspace.source empty", project("workspace:\n  source: \"\"\n")));
    }

    // ---------------------------------------------------------------- organisation documents

    private static String org(String rest) {
        return "version: 1\n" + rest;
    }

    private static String production(String entry) {
        return org("production:\n  - " + entry + "  " + MARK + "\n");
    }

    private static String orgPreset(String entry) {
        return org("presets:\n  acme-ci:\n    - " + entry + "  " + MARK + "\n");
    }

    static Stream<Arguments> badOrgs() {
        return Stream.of(
                bad("unknown top-level key", org("productoin: [api.acme.com]  #!\n")),
                bad("unknown key in audit", org("audit:\n  evry: 7d  #!\n")),
                bad("missing version", "production: [api.acme.com]  #!\n"),
                bad("version 2", "version: 2  #!\n"),
                bad("not a mapping", "- api.acme.com  #!\n"),
                // production: no ports, no globs, no addresses as names
                bad("production name:port", production("api.acme.com:443")),
                bad("production host with ports", production("{host: api.acme.com, ports: [443]}")),
                bad("production cidr with ports", production("{cidr: 10.20.0.0/16, ports: [5432]}")),
                bad("production *", production("\"*\"")),
                bad("production glob inside", production("\"db.*.acme.com\"")),
                bad("production IP as a name", production("10.20.0.1")),
                bad("production IPv6 as a name", production("\"2001:db8::1\"")),
                bad("production upper case", production("API.acme.com")),
                bad("production bad cidr", production("{cidr: 10.20.0.0/40}")),
                bad("production host and cidr", production("{host: api.acme.com, cidr: 10.20.0.0/16}")),
                bad("production null entry", production("~")),
                bad("production not a list", org("production: api.acme.com  #!\n")),
                // presets
                bad("preset name upper case", org("presets:\n  Acme_CI: [ci.acme.dev]  #!\n")),
                bad("preset name too long", org("presets:\n  " + "a".repeat(41) + ": [ci.acme.dev]  #!\n")),
                bad("preset named like a built-in", org("presets:\n  github: [ci.acme.dev]  #!\n")),
                bad("preset not a list", org("presets:\n  acme-ci: ci.acme.dev  #!\n")),
                bad("preset null", org("presets:\n  acme-ci:  #!\n")),
                bad("presets a list", org("presets: [acme-ci]  #!\n")),
                bad("preset rule *", orgPreset("\"*\"")),
                bad("preset rule bad port", orgPreset("ci.acme.dev:0443")),
                bad("preset rule ports as strings", orgPreset("{host: ci.acme.dev, ports: [\"443\"]}")),
                bad("preset rule unknown key", orgPreset("{host: ci.acme.dev, port: 443}")),
                // audit
                bad("audit.every without unit", org("audit: {every: \"7\"}  #!\n")),
                bad("audit.every as a number", org("audit: {every: 7}  #!\n")),
                bad("audit.every in weeks", org("audit: {every: 1w}  #!\n")),
                bad("audit.every zero", org("audit: {every: 0d}  #!\n")),
                bad("audit.every upper-case unit", org("audit: {every: 7D}  #!\n")),
                bad("audit.every under a minute", org("audit: {every: 30s}  #!\n")),
                bad("audit.every 59s", org("audit: {every: 59s}  #!\n")),
                bad("audit.every too many digits", org("audit: {every: 1000000d}  #!\n")),
                bad("audit.every with space", org("audit: {every: 7 d}  #!\n")),
                bad("audit.every null", org("audit:\n  every:  #!\n")),
                bad("audit not a mapping", org("audit: 7d  #!\n")),
                bad("exception without ports", org("exceptions:\n  - {project: payments, cidr: 127.0.0.1/32}  #!\n")),
                bad("exception without project", org("exceptions:\n  - {cidr: 127.0.0.1/32, ports: [5432]}  #!\n")),
                bad("exception with a name", org("exceptions:\n  - {project: payments, host: db.acme.dev, ports: [5432]}  #!\n")),
                bad("exception project upper case", org("exceptions:\n  - {project: Payments, cidr: 127.0.0.1/32, ports: [5432]}  #!\n")),
                bad("exception with empty ports", org("exceptions:\n  - {project: payments, cidr: 127.0.0.1/32, ports: []}  #!\n")),
                bad("exceptions not a list", org("exceptions: {project: payments}  #!\n")));
    }

    static Stream<Arguments> goodOrgs() {
        return Stream.of(
                good("minimal", org("")),
                good("DESIGN.md example", """
                        version: 1
                        production:
                          - api.acme.com
                          - "*.prod.acme.internal"
                          - cidr: 10.20.0.0/16
                          - cidr: 2001:db8:20::/48
                        presets: { acme-ci: [ci.acme.dev, "*.artifacts.acme.dev"] }
                        exceptions:
                          - { project: payments, cidr: 127.0.0.1/32, ports: [5432] }
                        audit: { every: 7d }
                        """),
                good("exception for a host address in IPv6", org("exceptions:\n  - {project: web, cidr: \"fd00:1::7/128\", ports: [8080, 8443]}\n")),
                good("null sections", org("production: ~\npresets: ~\naudit: ~\n")),
                good("empty preset", org("presets: {acme-ci: []}\n")),
                good("production host mapping", production("{host: \"*.prod.acme.internal\"}")),
                good("production bare address", production("{cidr: 10.20.0.1}")),
                good("production single-label", production("vault")),
                good("preset with ports", orgPreset("{host: ci.acme.dev, ports: [443, 8443]}")),
                good("preset name:port", orgPreset("\"*.ci.acme.dev:8443\"")),
                good("preset cidr", orgPreset("{cidr: 198.18.7.0/24, ports: [5432]}")),
                good("preset name of 40 with digits", org("presets:\n  " + "a1-".repeat(13) + "b: [ci.acme.dev]\n")),
                good("preset name containing a built-in", org("presets:\n  github-enterprise: [ghe.acme.dev]\n")),
                good("audit.every 1m", org("audit: {every: 1m}\n")),
                good("audit.every 60s", org("audit: {every: 60s}\n")),
                good("audit.every 999999s", org("audit: {every: 999999s}\n")),
                good("audit.every 24h", org("audit: {every: 24h}\n")),
                good("audit.every 999999d", org("audit: {every: 999999d}\n")),
                good("audit without every", org("audit: {}\n")));
    }

    static Stream<Arguments> loaderOnlyOrgs() {
        return Stream.of(
                good("production public-suffix wildcard", production("\"*.co.uk\"")),
                good("production host bits set", production("{cidr: 10.20.0.1/16}")),
                good("preset rule public-suffix wildcard", orgPreset("\"*.dev\"")));
    }

    // ---------------------------------------------------------------- helpers

    private static Arguments bad(String why, String yaml) {
        return Arguments.of(why, yaml);
    }

    private static Arguments good(String why, String yaml) {
        return Arguments.of(why, yaml);
    }

    private static List<String> projectErrors(String yaml) {
        return errors(projectSchemas, yaml);
    }

    private static List<String> orgErrors(String yaml) {
        return errors(orgSchemas, yaml);
    }

    /** Errors from either dialect; the two must agree on whether a document is valid. */
    private static List<String> errors(List<Schema> schemas, String yaml) {
        String json;
        try {
            JsonNode tree = YAML.readTree(yaml);
            json = JSON.writeValueAsString(tree);
        } catch (IOException e) {
            throw new UncheckedIOException("test document is not YAML:\n" + yaml, e);
        }
        List<Error> v2020 = schemas.get(0).validate(json, InputFormat.JSON);
        List<Error> v7 = schemas.get(1).validate(json, InputFormat.JSON);
        assertThat(v7.isEmpty()).as("draft-07 and 2020-12 disagree on %s: %s / %s", json, v2020, v7).isEqualTo(v2020.isEmpty());
        return v2020.stream().map(Error::toString).toList();
    }

    /** The loader must report a problem on the line marked {@value #MARK}, so it refused for the intended reason. */
    private static void assertReportedAtMark(String yaml, PolicyException e) {
        List<String> lines = yaml.lines().toList();
        int marked = -1;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).stripTrailing().endsWith(MARK)) {
                marked = i + 1;
            }
        }
        if (marked < 0) {
            return;
        }
        List<Integer> reported = e.problems().stream().map(Problem::position).map(p -> p.line()).toList();
        assertThat(reported).as("problems %s%nfor%n%s", e.getMessage(), yaml).contains(marked);
    }
}
