package dev.airlock.audit.report;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.audit.battery.BatteryRun;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ReportRenderTest {

    private final BatteryRun run = RunFixtures.mixed(Instant.parse("2026-11-27T00:00:00Z"));

    @Test
    void html_statesHashesVersionKernelTimeRulesetAndOneRowPerProbe() {
        String html = ReportHtml.render(run);
        assertThat(html).contains(RunFixtures.SHA_A).contains(RunFixtures.SHA_B).contains("0.1.0-test").contains("Linux 6.1.0")
                .contains("2026-11-27T00:00:00Z").contains("tproxy");
        assertThat(html.split("<tr class=", -1)).hasSize(run.results().size() + 1);
        assertThat(html).contains("data-probe=\"host-service:listener\" data-status=\"fail\"");
        assertThat(html).contains("id=\"verdict\" class=\"verdict fail\"");
    }

    @Test
    void html_hostileProbeText_isEscaped() {
        String html = ReportHtml.render(run);
        assertThat(html).doesNotContain("<script>").contains("&lt;script&gt;alert(1)&lt;/script&gt;");
    }

    @Test
    void html_isSelfContained() {
        String html = ReportHtml.render(run);
        assertThat(html).doesNotContain("<link").doesNotContain("src=").doesNotContain("@import").doesNotContain("url(");
    }

    @Test
    void markdown_hasOneTableRowPerProbeWithPipesEscaped() {
        String md = ReportMarkdown.render(run);
        assertThat(md).contains("**FAIL**").contains(RunFixtures.SHA_A).contains("tproxy");
        long rows = md.lines().filter(l -> l.startsWith("| ") && l.contains("`") && (l.contains("pass") || l.contains("**"))
                && l.contains(":")).filter(l -> l.matches("\\| (pass|\\*\\*[a-z-]+\\*\\*) \\| `.*")).count();
        assertThat(rows).isEqualTo(run.results().size());
        assertThat(md).contains("\\| pipe").doesNotContain("<script>");
    }

    @Test
    void json_resultIsFailWhenAProbeFailedOrErred() {
        assertThat(ReportJson.render(run)).contains("\"result\" : \"fail\"");
    }

    @Test
    void text_summary_listsEveryProbeThatDidNotPassAndTheCounts() {
        String t = ReportText.summary(run, java.nio.file.Path.of("/state/audits/x"));
        assertThat(t).contains("host-service:listener").contains("allowed:registry.acme.dev:443").contains("tampering:nft-list")
                .doesNotContain("production:api.acme.com").contains("FAIL: 4 probes, 1 pass, 1 fail, 1 not reachable here, 1 error");
    }
}
