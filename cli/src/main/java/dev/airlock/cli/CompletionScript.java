package dev.airlock.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.AutoComplete;

/**
 * Writes the bash completion script of the whole command tree (the package's
 * /usr/share/bash-completion/completions/airlock). picocli's own AutoComplete main cannot make it:
 * it reads the tree from the root command's annotation, and the root names no commands there
 * ({@link AirlockCommand#COMMANDS}).
 */
final class CompletionScript {

    private CompletionScript() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: java -cp airlock.jar dev.airlock.cli.CompletionScript FILE");
            System.exit(2);
        }
        Files.writeString(Path.of(args[0]), AutoComplete.bash("airlock", Main.wholeTree()));
    }
}
