package dev.airlock.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code airlock pool …}: the warm pool's sizing (and, with the daemon, its status). */
@Command(name = "pool",
        mixinStandardHelpOptions = true,
        description = "Size the warm pool from usage: recommend a size per hour of the week, or replay a trace.",
        subcommands = {
            PoolRecommendCommand.class,
            PoolSimulateCommand.class,
        })
final class PoolCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getErr());
    }
}
