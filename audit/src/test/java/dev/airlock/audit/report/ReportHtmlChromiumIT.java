package dev.airlock.audit.report;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.audit.battery.BatteryRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTML report in a real browser: headless Chromium (Debian {@code chromium}) loads the file
 * offline, its DOM is read back, its layout measured at 1400 px, and a screenshot is taken
 * ({@code target/screenshots/audit-report.png}, the picture docs/ shows).
 */
class ReportHtmlChromiumIT {

    @TempDir
    static Path tmp;

    static PageInBrowser browser;

    @BeforeAll
    static void findChromium() {
        browser = PageInBrowser.require(tmp);
    }

    @Test
    void htmlReport_inHeadlessChromium_showsEveryProbeRowWithItsStatus() throws Exception {
        BatteryRun run = RunFixtures.mixed(Instant.parse("2026-11-27T00:00:00Z"));
        Path html = Files.writeString(tmp.resolve("report.html"), ReportHtml.render(run));

        String dom = browser.dom(html, 1400);

        Matcher m = Pattern.compile("<tr class=\"[a-z-]+\" data-probe=\"([^\"]+)\" data-status=\"([a-z-]+)\"><td class=\"status\">([a-z-]+)</td>")
                .matcher(dom);
        List<String> rows = new ArrayList<>();
        while (m.find()) {
            assertThat(m.group(3)).isEqualTo(m.group(2));
            rows.add(m.group(1) + "=" + m.group(2));
        }
        assertThat(rows).containsExactlyInAnyOrder("production:api.acme.com:443:transparent=pass", "host-service:listener=fail",
                "allowed:registry.acme.dev:443=not-reachable-here", "tampering:nft-list=error");
        assertThat(dom).contains("id=\"verdict\" class=\"verdict fail\"").doesNotContain("<script>alert");
        assertThat(dom).contains("<tr data-category=\"host-service\">").containsPattern(
                "<tr data-category=\"host-service\">.*?<td class=\"n bad\" data-status=\"fail\">1</td>");
    }

    @Test
    void htmlReport_fullBatteryAt1400And800px_fitsTheWindow_idsOnOneLine_controlColumnVisible() throws Exception {
        String page = ReportHtml.render(RunFixtures.fullBattery(Instant.parse("2026-11-27T00:00:00Z")));

        PageInBrowser.Layout at1400 = browser.layout(page, 1400);
        at1400.assertReadable();
        assertThat(at1400.viewportWidth()).isEqualTo(1400);
        browser.layout(page, 800).assertReadable(); // a narrow window or half a screen: the same promises

        Path html = Files.writeString(tmp.resolve("full.html"), page);
        browser.screenshot(html, Path.of("target", "screenshots", "audit-report.png"), 1400, 1600);
        browser.screenshot(html, Path.of("target", "screenshots", "audit-report-800.png"), 800, 1600);
    }

    @Test
    void layoutCheck_canFail_onThePageBeforeIssue19() throws Exception {
        // The check's negative control: ids that wrap and a table wider than the window are caught.
        String page = "<!DOCTYPE html><html><body><table><tr><th>Probe</th><th>Positive control</th></tr><tr>"
                + "<td class=\"probe\" style=\"width:3em;display:block;white-space:normal;word-break:break-all\"><code>production:api.acme.com:443</code></td>"
                + "<td style=\"white-space:nowrap\">" + "x".repeat(400) + "</td></tr></table></body></html>";

        PageInBrowser.Layout l = browser.layout(page, 1400);

        assertThat(l.documentWidth()).isGreaterThan(1400);
        assertThat(l.wrappedIds()).containsExactly("production:api.acme.com:443");
        assertThat(l.offscreenHeaders()).containsExactly("Positive control");
    }
}
