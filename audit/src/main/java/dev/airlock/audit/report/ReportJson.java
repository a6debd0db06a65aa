package dev.airlock.audit.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.airlock.audit.battery.BatteryRun;
import dev.airlock.audit.battery.ControlResult;
import dev.airlock.audit.battery.Evidence;
import dev.airlock.audit.battery.ProbeResult;
import dev.airlock.audit.battery.Status;

/**
 * The JSON report: the shape {@code schema/audit-report.schema.json} documents (version 1). Built
 * field by field so the file is the contract, not whatever a record happens to hold.
 */
final class ReportJson {

    /** Bumped only for changes a reader must know about; additions keep it. */
    public static final int FORMAT_VERSION = 1;
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ReportJson() {
    }

    public static String render(BatteryRun run) {
        try {
            return JSON.writeValueAsString(tree(run)) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a tree of plain nodes always serialises", e);
        }
    }

    static ObjectNode tree(BatteryRun run) {
        ObjectNode root = JSON.createObjectNode();
        root.put("formatVersion", FORMAT_VERSION);
        root.put("result", run.passed() ? "pass" : "fail");
        root.put("scope", run.scope().name().toLowerCase(java.util.Locale.ROOT));
        root.put("airlockVersion", run.subject().airlockVersion());
        root.put("kernel", run.kernel());
        root.put("started", run.started().toString());
        root.put("finished", run.finished().toString());
        root.put("sandbox", run.sandboxId());
        root.put("project", run.subject().project());
        root.set("policy", file(run.subject().policy()));
        root.set("org", run.subject().org().map(ReportJson::file).orElse(null));
        root.set("hosts", run.subject().hosts().map(ReportJson::file).orElse(null));
        ObjectNode summary = root.putObject("summary");
        summary.put("total", run.results().size());
        for (Status s : Status.values()) {
            summary.put(s.code, run.count(s));
        }
        ObjectNode enf = root.putObject("enforcement");
        enf.put("hostTable", run.enforcement().hostTable());
        enf.put("hostRuleset", run.enforcement().hostRuleset());
        enf.put("sandboxRuleset", run.enforcement().sandboxRuleset());
        ObjectNode iso = root.putObject("isolation");
        run.isolation().bwrapArgs().forEach(iso.putArray("bwrapArgs")::add);
        ObjectNode proc = iso.putObject("process");
        run.isolation().process().entrySet().stream().sorted(java.util.Map.Entry.comparingByKey())
                .forEach(e -> proc.put(e.getKey(), e.getValue()));
        run.isolation().namespaces().forEach(iso.putArray("namespaces")::add);
        run.isolation().mounts().forEach(iso.putArray("mounts")::add);
        ObjectNode cg = iso.putObject("cgroupLimits");
        run.isolation().cgroupLimits().entrySet().stream().sorted(java.util.Map.Entry.comparingByKey())
                .forEach(e -> cg.put(e.getKey(), e.getValue()));
        ArrayNode probes = root.putArray("probes");
        for (ProbeResult r : run.results()) {
            ObjectNode p = probes.addObject();
            p.put("id", r.id());
            p.put("category", r.category());
            p.put("target", r.target());
            p.put("expected", r.expected());
            p.put("status", r.status().code);
            p.put("observed", r.observed());
            p.put("output", r.output());
            p.put("durationMs", r.durationMs());
            ArrayNode recs = p.putArray("auditRecords");
            for (Evidence e : r.records()) {
                ObjectNode o = recs.addObject();
                o.put("seq", e.seq());
                o.put("via", e.via().code);
                o.put("name", e.name());
                o.put("port", e.port());
                o.put("decision", e.entry().code);
                o.put("reason", e.reason().code());
                o.put("rule", e.rule());
            }
            if (r.control().isPresent()) {
                ControlResult c = r.control().get();
                ObjectNode o = p.putObject("control");
                o.put("description", c.description());
                o.put("reached", c.reached());
                o.put("detail", c.detail());
            } else {
                p.putNull("control");
            }
        }
        run.notes().forEach(root.putArray("notes")::add);
        return root;
    }

    private static ObjectNode file(BatteryRun.Hashed h) {
        ObjectNode o = JSON.createObjectNode();
        o.put("path", h.path());
        o.put("sha256", h.sha256());
        return o;
    }
}
