package dev.airlock.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "audit",
        mixinStandardHelpOptions = true,
        description = "Check isolation: `audit static` reads Kubernetes NetworkPolicies and says whether pods could reach production.",
        subcommands = {AuditStaticCommand.class})
final class AuditCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getErr());
    }
}
