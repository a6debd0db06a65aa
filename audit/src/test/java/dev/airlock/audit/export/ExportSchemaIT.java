package dev.airlock.audit.export;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.airlock.audit.k8s.PodLabels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The exports against the schemas of the APIs they target, fetched from the npm registry at test
 * time (nothing vendored):
 * <ul>
 *   <li><b>Kubernetes</b>: {@code kubernetes-models} 2.0.2 (MIT) ships, in {@code _schemas/}, the
 *       JSON Schemas its generator derived from the Kubernetes OpenAPI spec (one per definition,
 *       such as {@code io.k8s.api.networking.v1.NetworkPolicySpec}). They are validated here with
 *       networknt's json-schema-validator, in strict mode: every object schema also refuses unknown
 *       fields, as {@code kubectl apply --validate=strict} does.</li>
 *   <li><b>Cilium</b>: {@code @kubernetes-models/cilium} 4.0.0 (MIT) ships the validators its
 *       generator compiled (with Ajv) from Cilium's {@code cilium.io/v2} API types, the same types
 *       Cilium's CRD OpenAPI schema is generated from; no plain JSON Schema of the CRD is published
 *       on a registry this build can reach, so these run under Node.</li>
 * </ul>
 * Each check has a negative case: a broken document that the validator must reject, so that the
 * check can fail.
 */
class ExportSchemaIT {

    private static final String K8S_VERSION = "2.0.2";
    private static final String CILIUM_VERSION = "4.0.0";
    /** A base that never resolves (.invalid): every $ref must be found in the map, never fetched. */
    private static final String BASE = "https://kubernetes-models.invalid/";
    private static final Pattern SCHEMA = Pattern.compile("const schema = (\\{.*?\\});\\s*function addSchema", Pattern.DOTALL);
    private static final Pattern ID = Pattern.compile("register\\(\"([^\"]+)\", schema\\)");
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Schema networkPolicy;
    private static Path cilium;

    @BeforeAll
    static void fetch() throws Exception {
        Path k8s = NpmPackages.install("k8s", "kubernetes-models", K8S_VERSION);
        Map<String, String> schemas = new TreeMap<>();
        Set<String> refs = new HashSet<>();
        try (Stream<Path> files = Files.list(k8s.resolve("node_modules/kubernetes-models/_schemas"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".js")).sorted().toList()) {
                String js = Files.readString(f, StandardCharsets.UTF_8);
                Matcher s = SCHEMA.matcher(js);
                Matcher id = ID.matcher(js);
                if (s.find() && id.find()) {
                    JsonNode schema = JSON.readTree(s.group(1));
                    strict(schema, refs);
                    schemas.put(BASE + id.group(1), schema.toString());
                }
            }
        }
        // Every schema a NetworkPolicy reaches is in the map: nothing is ever looked up elsewhere.
        List<String> todo = new ArrayList<>(List.of("io.k8s.api.networking.v1.NetworkPolicy"));
        Set<String> seen = new HashSet<>();
        while (!todo.isEmpty()) {
            String id = todo.remove(todo.size() - 1);
            if (seen.add(id)) {
                assertThat(schemas.containsKey(BASE + id)).as("schema %s is in the package", id).isTrue();
                Set<String> next = new HashSet<>();
                strict(JSON.readTree(schemas.get(BASE + id)), next);
                next.forEach(r -> todo.add(r.replace("#", "")));
            }
        }
        assertThat(seen).contains("io.k8s.api.networking.v1.NetworkPolicyEgressRule", "io.k8s.api.networking.v1.NetworkPolicyPort",
                "io.k8s.api.networking.v1.IPBlock", "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector");
        SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_7, b -> b.schemas(schemas));
        networkPolicy = registry.getSchema(SchemaLocation.of(BASE + "io.k8s.api.networking.v1.NetworkPolicy"));
        cilium = NpmPackages.install("cilium", "@kubernetes-models/cilium", CILIUM_VERSION);
    }

    /** Refuses unknown fields in every object schema with properties; collects the $refs. */
    private static void strict(JsonNode n, Set<String> refs) {
        if (n instanceof ObjectNode o) {
            if (o.has("$ref")) {
                refs.add(o.get("$ref").asText());
            }
            if (o.has("properties") && !o.has("additionalProperties")) {
                o.put("additionalProperties", false);
            }
            o.elements().forEachRemaining(c -> strict(c, refs));
        } else if (n instanceof ArrayNode a) {
            a.forEach(c -> strict(c, refs));
        }
    }

    private static List<String> k8sErrors(JsonNode doc) {
        List<String> out = new ArrayList<>();
        for (Error e : networkPolicy.validate(doc.toString(), InputFormat.JSON)) {
            out.add(e.toString());
        }
        return out;
    }

    private static List<JsonNode> export(ExportFormat f, ExportSettings s) throws Exception {
        return PolicyExportTest.documents(PolicyExport.render(f, PolicyExportTest.project(), PolicyExportTest.org(), s));
    }

    @Test
    void k8s_everyDocumentIsAValidNetworkPolicy() throws Exception {
        List<JsonNode> docs = export(ExportFormat.K8S, ExportSettings.defaults(ExportFormat.K8S));
        assertThat(docs).hasSize(2);
        for (JsonNode d : docs) {
            assertThat(k8sErrors(d)).as(d.at("/metadata/name").asText()).isEmpty();
        }
        ExportSettings other = new ExportSettings("agents", PodLabels.parse("app.kubernetes.io/name=agent"), "egress",
                PodLabels.parse("app=gw"), 8080, 15001, 5353);
        for (JsonNode d : export(ExportFormat.K8S, other)) {
            assertThat(k8sErrors(d)).isEmpty();
        }
    }

    @Test
    void k8sSchema_rejectsBrokenDocuments() throws Exception {
        JsonNode good = export(ExportFormat.K8S, ExportSettings.defaults(ExportFormat.K8S)).get(0);
        ObjectNode noSelector = good.deepCopy();
        ((ObjectNode) noSelector.get("spec")).remove("podSelector");
        ObjectNode typo = good.deepCopy();
        ((ObjectNode) typo.get("spec")).set("egres", typo.get("spec").get("egress"));
        ObjectNode badPort = good.deepCopy();
        ((ObjectNode) badPort.at("/spec/egress/0/ports/0")).put("port", true);
        ObjectNode badKind = good.deepCopy();
        badKind.put("apiVersion", 1);

        assertThat(k8sErrors(good)).isEmpty();
        assertThat(k8sErrors(noSelector)).anyMatch(e -> e.contains("podSelector"));
        assertThat(k8sErrors(typo)).anyMatch(e -> e.contains("egres"));
        assertThat(k8sErrors(badPort)).isNotEmpty();
        assertThat(k8sErrors(badKind)).isNotEmpty();
    }

    /** Runs the Cilium validators under Node on each document; "ok" or the validator's message. */
    private static List<String> ciliumResults(List<JsonNode> docs) throws Exception {
        Path script = cilium.resolve("validate.mjs");
        Files.writeString(script, """
                import { CiliumNetworkPolicy } from "@kubernetes-models/cilium/cilium.io/v2/CiliumNetworkPolicy";
                import { readFileSync } from "node:fs";
                const docs = JSON.parse(readFileSync(0, "utf8"));
                const out = docs.map(d => { try { new CiliumNetworkPolicy(d).validate(); return "ok"; } catch (e) { return String(e.message); } });
                process.stdout.write(JSON.stringify(out));
                """);
        Process p = new ProcessBuilder(NpmPackages.tool("node"), script.toString()).directory(cilium.toFile())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        p.getOutputStream().write(JSON.writeValueAsBytes(docs));
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(new String(out, StandardCharsets.UTF_8)).isZero();
        List<String> results = new ArrayList<>();
        JSON.readTree(out).forEach(n -> results.add(n.asText()));
        return results;
    }

    @Test
    void cilium_exportIsAValidCiliumNetworkPolicy_andBrokenOnesAreRejected() throws Exception {
        JsonNode good = export(ExportFormat.CILIUM, ExportSettings.defaults(ExportFormat.CILIUM)).get(0);
        ObjectNode badName = good.deepCopy();
        ((ObjectNode) badName.at("/spec/egress/1/toFQDNs/0")).put("matchName", "not a name!");
        ObjectNode badProtocol = good.deepCopy();
        ((ObjectNode) badProtocol.at("/spec/egressDeny/0")).set("toPorts",
                JSON.readTree("[{\"ports\":[{\"port\":\"443\",\"protocol\":\"BOGUS\"}]}]"));
        ObjectNode badKind = good.deepCopy();
        badKind.put("apiVersion", "cilium.io/v1");

        List<String> r = ciliumResults(List.of(good, badName, badProtocol, badKind));

        assertThat(r.get(0)).isEqualTo("ok");
        assertThat(r.get(1)).contains("matchName");
        assertThat(r.get(2)).contains("protocol");
        assertThat(r.get(3)).contains("apiVersion");
    }
}
