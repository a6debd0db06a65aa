package dev.airlock.audit.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;

/** {@code airlock audit history --json}: the kept reports and the changes between them, for scripts. */
public final class HistoryJson {

    private HistoryJson() {
    }

    public static String render(List<ReportStore.Entry> entries) {
        ObjectNode root = ReportJson.JSON.createObjectNode();
        ArrayNode audits = root.putArray("audits");
        for (ReportStore.Entry e : entries) {
            ObjectNode o = audits.addObject();
            o.put("started", e.started().toString());
            o.put("project", e.project());
            o.put("scope", e.scope());
            o.put("result", e.result());
            o.put("policySha256", e.policySha256());
            o.put("orgSha256", e.orgSha256().orElse(null));
            ObjectNode c = o.putObject("summary");
            e.counts().forEach(c::put);
            o.put("dir", e.dir().toString());
        }
        ArrayNode changes = root.putArray("changes");
        for (ReportStore.Change ch : ReportStore.changes(entries)) {
            ObjectNode o = changes.addObject();
            o.put("project", ch.current().project());
            o.put("from", ch.previous().started().toString());
            o.put("to", ch.current().started().toString());
            o.put("policyChanged", ch.policyChanged());
            o.put("orgChanged", ch.orgChanged());
            ArrayNode s = o.putArray("statusChanges");
            for (Map.Entry<String, String[]> e : ch.statusChanges().entrySet()) {
                s.addObject().put("id", e.getKey()).put("from", e.getValue()[0]).put("to", e.getValue()[1]);
            }
            ch.added().forEach(o.putArray("added")::add);
            ch.removed().forEach(o.putArray("removed")::add);
        }
        try {
            return ReportJson.JSON.writeValueAsString(root) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
