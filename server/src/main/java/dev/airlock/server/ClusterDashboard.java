package dev.airlock.server;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The dashboard of a daemon on {@code backend: kubernetes}: the pool table of {@code airlock pool
 * status}, from the same status document. The local dashboard's session, denial and weekly panels
 * read the host's sandboxes and audit log, which live in the gateway pods here.
 */
final class ClusterDashboard {

    private ClusterDashboard() {
    }

    static String render(JsonNode status) {
        StringBuilder h = new StringBuilder("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Airlock daemon (Kubernetes)</title>"
                + "<style>body{font:14px system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td,th{padding:.3rem .8rem;"
                + "border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{text-align:left}</style></head><body>");
        h.append("<h1>Airlock daemon</h1><p>backend: kubernetes, namespace <code>").append(escape(status.path("namespace").asText()))
                .append("</code></p><table><thead><tr><th>project</th><th>desired</th><th>ready</th><th>warming</th><th>in use</th>"
                        + "<th>sessions</th><th>warm claims</th><th>failed claims</th><th>sizing</th></tr></thead><tbody>");
        for (JsonNode p : status.path("projects")) {
            h.append("<tr><td>").append(escape(p.path("project").asText())).append("</td>");
            for (String k : new String[] {"desired", "ready", "warming", "inUse", "sessions", "warmClaims", "failedClaims"}) {
                h.append("<td data-value=\"").append(p.path(k).asLong()).append("\">").append(p.path(k).asLong()).append("</td>");
            }
            h.append("<td>").append(escape(p.path("sizing").asText())).append("</td></tr>");
            if (p.hasNonNull("policyError")) {
                h.append("<tr><td colspan=\"9\">policy of ").append(escape(p.path("project").asText()))
                        .append(" did not reload; the old policy stays in force: <pre>").append(escape(p.path("policyError").asText())).append("</pre></td></tr>");
            }
        }
        return h.append("</tbody></table></body></html>").toString();
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
