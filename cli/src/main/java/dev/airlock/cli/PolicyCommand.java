package dev.airlock.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "policy",
        mixinStandardHelpOptions = true,
        description = "Validate a policy, explain its decisions, export it.",
        subcommands = {PolicyCheckCommand.class, PolicyExplainCommand.class, PolicyExportCommand.class})
final class PolicyCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getErr());
    }
}
