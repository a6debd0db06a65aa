package dev.airlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.audit.report.PageInBrowser;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard as a browser shows it: headless Chromium (Debian {@code chromium}) loads the page
 * from the daemon's TCP listener on loopback, with the token, and the test reads the rendered DOM;
 * a screenshot is kept in {@code target/dashboard.png}. The TCP listener refuses requests without
 * the token.
 */
class DashboardIT {

    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final String TOKEN = "0123456789abcdef0123456789abcdef0123456789abcdef";

    @TempDir
    Path tmp;

    @BeforeAll
    static void requirements() {
        Root.require();
        if (!Files.isExecutable(CHROMIUM)) {
            String why = "dashboard test needs Debian's chromium (apt-get install chromium)";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                Assertions.fail(why + ", and CI=true requires it");
            }
            Assumptions.abort(why + " (with CI=true this fails instead)");
        }
    }

    @Test
    void dashboard_showsThePool_theSessions_theHitRate_andTheRecentDenials_onlyWithTheToken() throws Exception {
        Path token = tmp.resolve("token");
        Files.writeString(token, TOKEN + "\n");
        Files.setPosixFilePermissions(token, PosixFilePermissions.fromString("rw-------"));
        Path config = DaemonFixture.write(tmp, 1, 4, "listen: 127.0.0.1:0", "tokenFile: " + token);
        try (DaemonServer server = DaemonServer.start(DaemonConfig.load(config), System.err)) {
            DaemonClient c = DaemonClient.ifRunning(tmp.resolve("state/daemon.sock")).orElseThrow();
            DaemonIT.eventually(() -> DaemonIT.status(c).path("ready").asInt() == 1, "one sandbox warm");
            c.run("daemon-it", List.of("/bin/bash", "-c", "gw=${HTTP_PROXY#http://}; exec 3<>/dev/tcp/${gw%:*}/${gw#*:};"
                    + " printf 'GET http://prod.example.test/ HTTP/1.1\\r\\nHost: prod.example.test\\r\\n\\r\\n' >&3; head -1 <&3"),
                    Map.of(), new ByteArrayInputStream(new byte[0]), new ByteArrayOutputStream(), new ByteArrayOutputStream(), s -> { });
            DaemonIT.eventually(() -> DaemonIT.status(c).path("ready").asInt() == 1, "refilled");
            String session = c.post("/v1/claims", new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode().put("project", "daemon-it")
                    .put("name", "dash-it")).body().path("sandbox").asText();
            DaemonIT.eventually(() -> DaemonIT.status(c).path("ready").asInt() == 1, "refilled after the session's claim");
            String base = "http://127.0.0.1:" + server.tcpAddress().orElseThrow().getPort();

            HttpClient http = HttpClient.newHttpClient();
            assertThat(http.send(HttpRequest.newBuilder(URI.create(base + "/v1/status")).build(), HttpResponse.BodyHandlers.ofString())
                    .statusCode()).as("no token").isEqualTo(401);
            assertThat(http.send(HttpRequest.newBuilder(URI.create(base + "/v1/status")).header("Authorization", "Bearer " + TOKEN).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).as("with the token").isEqualTo(200);

            String dom = chromium(tmp, base + "/?token=" + TOKEN, "--dump-dom");
            assertThat(dom).contains("<tr data-project=\"daemon-it\">");
            assertThat(dom).containsPattern("<td class=\"ready\">1</td>");
            assertThat(dom).contains("<td class=\"hit-rate\">100.0%</td>");
            assertThat(dom).contains("id=\"hit-rate-chart\"").contains("<rect class=\"bar\" data-value=\"1.000\"");
            assertThat(dom).contains("prod.example.test:80").contains("<td class=\"reason\">no-rule</td>");
            assertThat(dom).contains("id=\"last-audit\"");
            assertThat(dom).contains("<tr data-sandbox=\"" + session + "\"><td>" + session + "</td><td>dash-it</td><td>daemon-it</td><td>session</td>")
                    .contains("<td>8h</td>");
            assertThat(dom).containsPattern("<td class=\"time\" title=\"\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC\">");

            // As a person sees it at 1400 px: no horizontal scroll, every plot drawn with data; the picture docs/ shows.
            String page = http.send(HttpRequest.newBuilder(URI.create(base + "/")).header("Authorization", "Bearer " + TOKEN).build(),
                    HttpResponse.BodyHandlers.ofString()).body().replace("<meta http-equiv=\"refresh\" content=\"5\">", "");
            PageInBrowser browser = PageInBrowser.require(tmp);
            PageInBrowser.Layout layout = browser.layout(page, 1400);
            layout.assertReadable();
            assertThat(layout.plots()).as("hit rate per hour, the weekly plot of daemon-it, the denials plot").isEqualTo(3);
            browser.screenshot(Files.writeString(tmp.resolve("dashboard.html"), page), Path.of("target", "screenshots", "dashboard.png"), 1400, 1500);

            String refused = chromium(tmp, base + "/", "--dump-dom");
            assertThat(refused).contains("Authorization").doesNotContain("data-project");
        }
    }

    /** Runs headless Chromium with the flags that keep it off the network, and returns its stdout. */
    static String chromium(Path tmp, String url, String... extra) throws Exception {
        Path profile = Files.createTempDirectory(tmp, "chromium");
        List<String> cmd = new java.util.ArrayList<>(List.of(CHROMIUM.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + profile));
        cmd.addAll(List.of(extra));
        cmd.add(url);
        Process p = new ProcessBuilder(cmd).redirectError(tmp.resolve("chromium.err").toFile()).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("chromium finished").isTrue();
        return new String(out, StandardCharsets.UTF_8);
    }
}
