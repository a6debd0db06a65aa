package dev.airlock.audit.report;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.airlock.audit.battery.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** schema/audit-report.schema.json documents what ReportJson writes, and refuses what it never writes. */
class ReportSchemaTest {

    static Schema schema;
    static String text;

    @BeforeAll
    static void load() throws IOException {
        Path file = Path.of("..", "schema", "audit-report.schema.json");
        text = Files.readString(file);
        schema = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(text, InputFormat.JSON);
    }

    @Test
    void schema_isAValidDraft202012Schema() {
        Schema meta = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
                .getSchema(SchemaLocation.of("https://json-schema.org/draft/2020-12/schema"));
        assertThat(meta.validate(text, InputFormat.JSON)).isEmpty();
    }

    @Test
    void render_mixedRun_conformsToTheSchema() {
        String json = ReportJson.render(RunFixtures.mixed(Instant.parse("2026-11-27T00:00:00Z")));
        assertThat(schema.validate(json, InputFormat.JSON)).isEmpty();
    }

    @Test
    void render_runWithoutOrgOrHosts_conformsToTheSchema() {
        var r = RunFixtures.mixed(Instant.parse("2026-11-27T00:00:00Z"));
        var noOrg = new dev.airlock.audit.battery.BatteryRun(new dev.airlock.audit.battery.BatteryRun.Subject("payments", r.subject().policy(),
                java.util.Optional.empty(), java.util.Optional.empty(), "v"), r.started(), r.finished(), r.kernel(), r.sandboxId(), r.scope(),
                r.enforcement(), r.isolation(), List.of(RunFixtures.probe("files:state-dir", "files", Status.PASS)), List.of());
        String json = ReportJson.render(noOrg);
        assertThat(schema.validate(json, InputFormat.JSON)).isEmpty();
    }

    @Test
    void schema_reportWithAnUnknownStatus_isRefused() throws IOException {
        ObjectNode tree = (ObjectNode) new ObjectMapper().readTree(ReportJson.render(RunFixtures.mixed(Instant.EPOCH)));
        ((ObjectNode) tree.path("probes").get(0)).put("status", "passed-probably");
        assertThat(schema.validate(tree.toString(), InputFormat.JSON)).isNotEmpty();
    }

    @Test
    void schema_reportMissingTheEnforcementSection_isRefused() throws IOException {
        ObjectNode tree = (ObjectNode) new ObjectMapper().readTree(ReportJson.render(RunFixtures.mixed(Instant.EPOCH)));
        tree.remove("enforcement");
        assertThat(schema.validate(tree.toString(), InputFormat.JSON)).isNotEmpty();
    }
}
