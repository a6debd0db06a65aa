package dev.airlock.audit.report;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * One page (report, evidence bundle, dashboard) as a person sees it: real headless Chromium
 * (Debian {@code chromium}) at a given window width, offline (networking features off, a throwaway
 * profile). The pages carry no script; for the layout check the test loads a copy with one
 * measuring script appended, which writes what the browser laid out into the DOM that
 * {@code --dump-dom} returns. Shared by the audit and server browser tests (test-jar).
 */
public final class PageInBrowser {

    /** What the browser laid out: the numbers the pages promise (no horizontal scroll, ids on one line, plots with data). */
    public record Layout(int viewportWidth, int documentWidth, List<String> wrappedIds, List<String> offscreenHeaders,
            List<String> emptyPlots, int plots) {

        public void assertReadable() {
            assertThat(documentWidth).as("page width at a %d px window (horizontal overflow)", viewportWidth).isLessThanOrEqualTo(viewportWidth);
            assertThat(wrappedIds).as("ids that wrap onto a second line").isEmpty();
            assertThat(offscreenHeaders).as("table columns past the right edge of the window").isEmpty();
            assertThat(emptyPlots).as("plots drawn without data").isEmpty();
        }
    }

    /*
     * Measured after load: the document's scroll width; every element marked as an id (td.probe code,
     * [data-one-line]) whose text is laid out in more than one line box; every table header whose right
     * edge is past the window; every svg.plot without a visible data mark ([data-value] with a
     * non-empty box).
     */
    private static final String MEASURE = """
            <script>
            addEventListener('load', () => {
              const r = {viewportWidth: innerWidth, documentWidth: document.documentElement.scrollWidth,
                         wrappedIds: [], offscreenHeaders: [], emptyPlots: [], plots: 0};
              for (const e of document.querySelectorAll('td.probe code, [data-one-line]')) {
                const range = document.createRange(); range.selectNodeContents(e);
                const lines = new Set([...range.getClientRects()].map(x => Math.round(x.top)));
                if (lines.size > 1) r.wrappedIds.push(e.textContent);
              }
              for (const th of document.querySelectorAll('th')) {
                if (th.getBoundingClientRect().right > innerWidth + 0.5) r.offscreenHeaders.push(th.textContent);
              }
              for (const svg of document.querySelectorAll('svg.plot')) {
                r.plots++;
                const marks = [...svg.querySelectorAll('[data-value]')].filter(m => { const b = m.getBoundingClientRect(); return b.width > 0 && b.height > 0; });
                if (marks.length === 0) r.emptyPlots.push(svg.id || svg.getAttribute('aria-label'));
              }
              const out = document.createElement('pre'); out.id = 'layout-measured'; out.textContent = JSON.stringify(r);
              document.body.appendChild(out);
            });
            </script>
            """;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path chromium;
    private final Path work;

    private PageInBrowser(Path chromium, Path work) {
        this.chromium = chromium;
        this.work = work;
    }

    /** Finds Debian's chromium; fails with CI=true (the browser tests are part of CI), elsewhere skips saying why. */
    public static PageInBrowser require(Path work) {
        for (String c : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")) {
            if (Files.isExecutable(Path.of(c))) {
                return new PageInBrowser(Path.of(c), work);
            }
        }
        String why = "headless Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            Assertions.fail(why + ", and CI=true requires this test");
        }
        Assumptions.abort(why);
        throw new AssertionError("unreachable");
    }

    /** The DOM after load, as Chromium built it. */
    public String dom(Path html, int width) throws IOException, InterruptedException {
        return run("--window-size=" + width + ",1000", "--dump-dom", html.toUri().toString());
    }

    /** Lays out a copy of the page with the measuring script appended, at {@code width} px. */
    public Layout layout(String html, int width) throws IOException, InterruptedException {
        Path copy = Files.createTempFile(work, "measured", ".html");
        Files.writeString(copy, html.replace("</body>", MEASURE + "</body>"), StandardCharsets.UTF_8);
        String dom = dom(copy, width);
        int at = dom.indexOf("<pre id=\"layout-measured\">");
        assertThat(at).as("the measuring script ran (no JSON in the DOM)").isGreaterThanOrEqualTo(0);
        String json = dom.substring(at + "<pre id=\"layout-measured\">".length(), dom.indexOf("</pre>", at)).replace("&quot;", "\"")
                .replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
        JsonNode n = JSON.readTree(json);
        return new Layout(n.path("viewportWidth").asInt(), n.path("documentWidth").asInt(), strings(n.path("wrappedIds")),
                strings(n.path("offscreenHeaders")), strings(n.path("emptyPlots")), n.path("plots").asInt());
    }

    /** A full-page PNG of the page at {@code width} px (height {@code height}), checked to be a real image. */
    public Path screenshot(Path html, Path png, int width, int height) throws IOException, InterruptedException {
        Files.createDirectories(png.toAbsolutePath().getParent());
        Files.deleteIfExists(png);
        run("--screenshot=" + png.toAbsolutePath(), "--window-size=" + width + "," + height, "--hide-scrollbars", html.toUri().toString());
        byte[] bytes = Files.readAllBytes(png);
        assertThat(bytes.length).as("screenshot size").isGreaterThan(10_000);
        assertThat(new String(bytes, 1, 3, StandardCharsets.US_ASCII)).isEqualTo("PNG");
        return png;
    }

    private static List<String> strings(JsonNode a) {
        List<String> out = new ArrayList<>();
        a.forEach(x -> out.add(x.asText()));
        return out;
    }

    private String run(String... args) throws IOException, InterruptedException {
        Path profile = Files.createTempDirectory(work, "chromium-profile");
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
}
