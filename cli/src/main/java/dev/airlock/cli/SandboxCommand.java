package dev.airlock.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code airlock sandbox …}: sessions in the daemon's warm pool that outlive one command. */
@Command(name = "sandbox",
        mixinStandardHelpOptions = true,
        description = {"Sessions: sandboxes from the daemon's warm pool that outlive one command.",
            "",
            "Create one, run several commands in it or attach a shell (its /workspace",
            "persists between them), list what is claimed, stop it. Stopping brings the",
            "agent's work back into the project's repository (branch airlock/ID and a",
            "patch; `export` does it on demand). A session idle for longer than its",
            "idle timeout (daemon config `sessions.idleTimeout`, default 8h) is stopped",
            "by the daemon. `airlock run` stays one-shot."},
        subcommands = {
            SandboxCreateCommand.class,
            SandboxListCommand.class,
            SandboxExecCommand.class,
            SandboxAttachCommand.class,
            SandboxExportCommand.class,
            SandboxStopCommand.class,
        },
        footer = {"", "Example (as root):",
            "  id=$(airlock sandbox create --policy airlock.yaml -q)",
            "  airlock sandbox exec $id -- make test",
            "  airlock sandbox attach $id",
            "  airlock sandbox stop $id",
            "", "Documentation: docs/daemon.md, section \"Sessions\"."})
final class SandboxCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getErr());
    }
}
