package dev.airlock.cli;

import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * Help text that wraps evenly. The commands' texts are written as lines of about 100 characters;
 * picocli prints each line as its own paragraph and wraps it at 80 columns, so every line ended
 * in a short fragment (issue 19). Here the lines of one paragraph are joined before picocli wraps
 * them. A line stays a line of its own when it is empty, indented (examples, lists), a list item,
 * or follows a line that ends in a colon (what comes next is a list).
 */
final class HelpText {

    private HelpText() {
    }

    /** Reflows the texts of {@code cmd} and of every subcommand. */
    static void reflow(CommandLine cmd) {
        CommandSpec spec = cmd.getCommandSpec();
        spec.usageMessage().description(paragraphs(spec.usageMessage().description()));
        spec.usageMessage().footer(paragraphs(spec.usageMessage().footer()));
        spec.usageMessage().header(paragraphs(spec.usageMessage().header()));
        for (OptionSpec o : List.copyOf(spec.options())) {
            String[] flowed = paragraphs(o.description());
            if (!List.of(flowed).equals(List.of(o.description()))) {
                // Option specs are immutable: replace the option with a copy that has the flowed text.
                spec.remove(o);
                spec.addOption(OptionSpec.builder(o).description(flowed).build());
            }
        }
        for (PositionalParamSpec p : List.copyOf(spec.positionalParameters())) {
            String[] flowed = paragraphs(p.description());
            if (!List.of(flowed).equals(List.of(p.description()))) {
                spec.remove(p);
                spec.addPositional(PositionalParamSpec.builder(p).description(flowed).build());
            }
        }
        cmd.getSubcommands().values().forEach(HelpText::reflow);
    }

    static String[] paragraphs(String[] lines) {
        List<String> out = new ArrayList<>();
        for (String line : lines) {
            String last = out.isEmpty() ? null : out.get(out.size() - 1);
            if (last == null || ownLine(line) || ownLine(last) || last.endsWith(":") || last.endsWith("%n")) {
                out.add(line);
            } else {
                out.set(out.size() - 1, last.stripTrailing() + " " + line.strip());
            }
        }
        return out.toArray(String[]::new);
    }

    private static boolean ownLine(String line) {
        return line.isBlank() || Character.isWhitespace(line.charAt(0)) || line.startsWith("- ") || line.startsWith("* ")
                || line.startsWith("•");
    }
}
