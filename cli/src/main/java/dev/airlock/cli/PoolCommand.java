package dev.airlock.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code airlock pool …}: the warm pools' status and sizing. */
@Command(name = "pool",
        mixinStandardHelpOptions = true,
        description = "The warm pools: their state (from the daemon), and their size from usage: a recommendation per hour of the week, or a replayed trace.",
        subcommands = {
            PoolStatusCommand.class,
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
