package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.airlock.audit.report.PageInBrowser;
import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.audit.AuditLog;
import dev.airlock.gateway.audit.HttpIngestClient;
import dev.airlock.k8s.ControlPlane;
import dev.airlock.k8s.ControlPlaneExtension;
import dev.airlock.policy.Reason;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12: the dashboard on {@code backend: kubernetes} is the local daemon's page, against a real
 * kube-apiserver (no kubelet: the test marks the pods Ready). A claimed pod is in the sessions panel;
 * a denial a gateway pod forwards into the daemon's audit chain (through the real ingest endpoint,
 * with the project's token from the Secret the daemon made) is in the denials panel and its plot;
 * the weekly panel plots the claim; the audits panel says plainly that this backend runs none. The
 * page is laid out by headless Chromium at 1400 px (no horizontal scroll) and a screenshot kept.
 */
@ExtendWith(ControlPlaneExtension.class)
class DaemonKubernetesDashboardIT {

    private static final String SOURCE = "airlock-payments-gateway-6b9f7c-abcde";

    @Test
    void dashboard_onKubernetes_showsTheClaimedPodTheForwardedDenialTheWeekAndNoAudits(ControlPlane cp, @TempDir Path dir) throws Exception {
        String ns = cp.newNamespace();
        int ingestPort;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            ingestPort = s.getLocalPort();
        }
        Files.writeString(dir.resolve("airlock.yaml"), "version: 1\nproject: payments\nnetwork:\n  allow:\n    - github.com\n");
        Files.writeString(dir.resolve("org.yaml"), "version: 1\nproduction:\n  - cidr: 198.19.20.0/24\n");
        Path config = Files.writeString(dir.resolve("daemon.yaml"), "version: 1\nstate: state\nsocket: state/daemon.sock\norg: org.yaml\n"
                + "backend: kubernetes\nkubernetes:\n  kubeconfig: " + cp.kubeconfig() + "\n  namespace: " + ns + "\n"
                + "  gatewayImage: registry.test/airlock:0.1.0\n  agentImage: registry.test/devbox:1\n"
                + "  auditListen: 127.0.0.1:" + ingestPort + "\n  auditUrl: https://127.0.0.1:" + ingestPort + "/v1/audit/records\n"
                + "projects:\n  - policy: airlock.yaml\n    size: 2\n");
        Path socket = dir.resolve("state/daemon.sock");
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8))) {
            DaemonClient client = DaemonClient.ifRunning(socket).orElseThrow();
            await("2 agent pods", () -> cp.admin().pods().inNamespace(ns).withLabel("airlock.dev/project", "payments").list().getItems().size() == 2);
            cp.markAllReady(ns);
            await("2 ready", () -> page(socket).contains("<td class=\"ready\">2</td>"));

            // before: no session, no denial (the panels the claim and the forward fill below)
            String before = page(socket);
            assertThat(before).contains("<p id=\"sessions\" class=\"muted\">none claimed").contains("<p id=\"denials\" class=\"muted\">none</p>")
                    .contains("no denials in the last 48 hours").contains("payments: no claims recorded yet");

            DaemonClient.Response claimed = client.post("/v1/claims", JsonNodeFactory.instance.objectNode().put("project", "payments"));
            assertThat(claimed.status()).as(claimed.body().toString()).isEqualTo(201);
            String id = claimed.body().path("sandbox").asText();

            // a gateway pod's denial, written by the gateway's own log writer, forwarded with the project's token
            String token = new String(Base64.getDecoder().decode(cp.admin().secrets().inNamespace(ns).withName("airlock-payments-audit-token").get()
                    .getData().get("token")), StandardCharsets.US_ASCII).strip();
            Path gatewayLog = dir.resolve("gateway-audit.log");
            try (AuditLog log = AuditLog.open(gatewayLog, Clock.systemUTC())) {
                assertThat(log.submit(new AuditEvent(AuditEvent.Event.DECISION, id, "payments", AuditEvent.Via.EXPLICIT, "10.244.0.7",
                        "evil.test", 443, List.of(), AuditEvent.Decision.DENY, "-", Reason.NO_RULE, 0, 0, 0))).isTrue();
                assertThat(log.submit(new AuditEvent(AuditEvent.Event.DECISION, id, "payments", AuditEvent.Via.DNS, "10.244.0.7",
                        "<b>dns.test</b>", 0, List.of(), AuditEvent.Decision.DENY, "-", Reason.NO_RULE, 0, 0, 0))).isTrue();
                assertThat(log.awaitWritten(Duration.ofSeconds(10))).isTrue();
            }
            // sent as a gateway pod sends it: over TLS, trusting only the CA the daemon publishes in the project's ConfigMap
            Path tokenFile = Files.writeString(dir.resolve("audit-token"), token);
            Path caFile = Files.writeString(dir.resolve("audit-ca.crt"),
                    cp.admin().configMaps().inNamespace(ns).withName("airlock-payments-audit-ca").get().getData().get("ca.crt"));
            new HttpIngestClient(URI.create("https://127.0.0.1:" + ingestPort + "/v1/audit/records"), tokenFile, caFile)
                    .send(SOURCE, Files.readAllLines(gatewayLog, StandardCharsets.US_ASCII));

            await("the forwarded denial on the page", () -> page(socket).contains("<td class=\"target\">evil.test:443</td>"));
            String after = page(socket);
            assertThat(after).contains("<tr data-sandbox=\"" + id + "\"><td>" + id + "</td><td>—</td><td>payments</td><td>session</td><td>warm</td>")
                    .contains("<td class=\"idle\">—</td>");
            assertThat(after).contains("<td>" + id + "</td><td>payments</td><td class=\"target\">evil.test:443</td><td>explicit</td>"
                    + "<td class=\"reason\">no-rule</td>");
            assertThat(after).as("a DNS question has no port, and a name is escaped").contains("<td class=\"target\">&lt;b&gt;dns.test&lt;/b&gt;</td>")
                    .doesNotContain("<b>dns.test").doesNotContain("dns.test&lt;/b&gt;:0");
            assertThat(after).as("the advice names the project's policy file").contains(dir.resolve("airlock.yaml").toString());
            assertThat(after).contains("<svg class=\"plot\" id=\"denials-plot\"").contains("data-value=\"2\" data-reason=\"no-rule\"");
            assertThat(after).contains("<svg class=\"plot\" id=\"week-payments\"").contains("the fixed size 2 (line)")
                    .contains("<rect class=\"bar\" data-value=\"1.000\"");
            assertThat(after).contains("<p id=\"last-audit\" class=\"muted\">continuous audits do not run on backend: kubernetes")
                    .doesNotContain("overdue");
            assertThat(after).contains("backend: kubernetes, namespace " + ns);

            // as a person sees it at 1400 px: readable, the three plots drawn; the picture docs/kubernetes.md shows
            String still = after.replace("<meta http-equiv=\"refresh\" content=\"5\">", "");
            PageInBrowser browser = PageInBrowser.require(dir);
            PageInBrowser.Layout layout = browser.layout(still, 1400);
            layout.assertReadable();
            assertThat(layout.plots()).as("hit rate per hour, payments' week, the denials").isEqualTo(3);
            browser.screenshot(Files.writeString(dir.resolve("dashboard.html"), still), Path.of("target", "screenshots", "dashboard-kubernetes.png"),
                    1400, 1500);

            assertThat(client.delete("/v1/sandboxes/" + id).status()).isEqualTo(200);
            await("the session gone from the page", () -> page(socket).contains("<p id=\"sessions\" class=\"muted\">none claimed"));
        }
    }

    /** The dashboard as the daemon serves it on its socket ({@code GET /}). */
    private static String page(Path socket) {
        try (java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            ch.connect(java.net.UnixDomainSocketAddress.of(socket));
            ch.write(java.nio.ByteBuffer.wrap("GET / HTTP/1.1\r\nHost: airlock\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
            java.io.InputStream in = new java.io.BufferedInputStream(java.nio.channels.Channels.newInputStream(ch));
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                int b = in.read();
                assertThat(b).as("the response head so far: " + head).isNotNegative();
                head.append((char) b);
            }
            assertThat(head.toString()).startsWith("HTTP/1.1 200").containsIgnoringCase("content-type: text/html");
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
            assertThat(m.find()).as(head.toString()).isTrue();
            return new String(in.readNBytes(Integer.parseInt(m.group(1))), StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        for (int i = 0; i < 600; i++) {
            if (condition.getAsBoolean()) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("not within 60 s: " + what);
    }
}
