package dev.airlock.audit.report;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.audit.battery.BatteryRun;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTML report in a real browser: headless Chromium (Debian {@code chromium}) loads the file
 * offline, its DOM is read back and a screenshot is taken (kept in target/ for a person to look
 * at). Chromium runs with networking features off and a throwaway profile.
 */
class ReportHtmlChromiumIT {

    static Path chromium;

    @BeforeAll
    static void findChromium() {
        for (String c : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")) {
            if (Files.isExecutable(Path.of(c))) {
                chromium = Path.of(c);
                return;
            }
        }
        String why = "headless Chromium is not installed (Debian: apt-get install chromium)";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            Assertions.fail(why + ", and CI=true requires this test");
        }
        Assumptions.abort(why);
    }

    private static String chromium(Path profile, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--user-data-dir=" + profile));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("chromium did not finish: " + cmd);
        }
        return out;
    }

    @Test
    void htmlReport_inHeadlessChromium_showsEveryProbeRowWithItsStatus(@TempDir Path tmp) throws Exception {
        BatteryRun run = RunFixtures.mixed(Instant.parse("2026-11-27T00:00:00Z"));
        Path html = Files.writeString(tmp.resolve("report.html"), ReportHtml.render(run));

        String dom = chromium(tmp.resolve("profile-dom"), "--dump-dom", html.toUri().toString());

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

        Path shot = Path.of("target", "audit-report-screenshot.png").toAbsolutePath();
        Files.deleteIfExists(shot);
        chromium(tmp.resolve("profile-shot"), "--screenshot=" + shot, "--window-size=1400,1000", "--hide-scrollbars", html.toUri().toString());
        assertThat(shot).exists();
        byte[] png = Files.readAllBytes(shot);
        assertThat(png.length).isGreaterThan(10_000);
        assertThat(new String(png, 1, 3, StandardCharsets.US_ASCII)).isEqualTo("PNG");
    }
}
