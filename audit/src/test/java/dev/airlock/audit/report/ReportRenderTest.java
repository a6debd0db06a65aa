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
                .contains("2026-11-27 00:00:00 UTC").contains("tproxy");
        assertThat(html.split("<tr class=", -1)).hasSize(run.results().size() + 1);
        assertThat(html).contains("data-probe=\"host-service:listener\" data-status=\"fail\"");
        assertThat(html).contains("id=\"verdict\" class=\"verdict fail\"");
    }

    @Test
    void html_opensWithCountsPerCategory_andKeepsObservedLinesApart() {
        String html = ReportHtml.render(run);
        assertThat(html.indexOf("id=\"summary\"")).isLessThan(html.indexOf("id=\"probes\""));
        assertThat(html).contains("<tr data-category=\"tampering\"><td><a href=\"#category-tampering\">tampering</a></td>"
                + "<td class=\"n\" data-status=\"pass\">0</td><td class=\"n\" data-status=\"fail\">0</td>"
                + "<td class=\"n bad\" data-status=\"error\">1</td><td class=\"n\" data-status=\"not-reachable-here\">0</td><td class=\"n\">1</td></tr>");
        assertThat(html).doesNotContain("data-category=\"fronting\"").contains("td.observed{white-space:pre-wrap}");
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
