package dev.airlock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HelpTextTest {

    @Test
    void paragraphs_joinsTheLinesOfOneParagraph_keepsBlankIndentedAndListLines() {
        String[] in = {"Each hour gets the smallest size whose expected warm", "hit rate meets the target.", "",
            "Examples:", "  airlock pool recommend --json", "Exit codes:", "- 0 recommended", "- 1 bad input", "Plain again", "and joined."};
        assertThat(HelpText.paragraphs(in)).containsExactly("Each hour gets the smallest size whose expected warm hit rate meets the target.",
                "", "Examples:", "  airlock pool recommend --json", "Exit codes:", "- 0 recommended", "- 1 bad input", "Plain again and joined.");
    }

    @Test
    void help_everyCommand_hasNoLineCutToAFragment() {
        for (String[] args : new String[][] {{"--help"}, {"run", "--help"}, {"pool", "recommend", "--help"}, {"demo", "--help"},
            {"audit", "--help"}, {"evidence", "--help"}, {"sandbox", "--help"}, {"log", "--help"}}) {
            Cli c = Cli.run(args);
            String[] lines = c.out().split("\n");
            for (int i = 0; i + 1 < lines.length; i++) {
                // A prose line of the description wrapped by picocli is long; a short one followed by more prose was a cut.
                boolean prose = !lines[i].isBlank() && !Character.isWhitespace(lines[i].charAt(0)) && !lines[i].endsWith(":")
                        && !lines[i].startsWith("Usage:");
                boolean nextProse = !lines[i + 1].isBlank() && Character.isLowerCase(lines[i + 1].charAt(0));
                assertThat(prose && nextProse && lines[i].length() < 60).as("%s: '%s' then '%s'", String.join(" ", args), lines[i], lines[i + 1])
                        .isFalse();
            }
        }
    }
}
