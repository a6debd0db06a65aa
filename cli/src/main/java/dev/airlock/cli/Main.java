package dev.airlock.cli;

import picocli.CommandLine;

/** Entry point of the {@code airlock} launcher. Wires the commands; no logic of its own. */
public final class Main {

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    public static int run(String... args) {
        return commandLine().execute(args);
    }

    /** Runs a command line with the given streams and returns its exit code (tests call this). */
    static int run(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
        CommandLine cmd = commandLine();
        cmd.setOut(out);
        cmd.setErr(err);
        int code = cmd.execute(args);
        out.flush();
        err.flush();
        return code;
    }

    static CommandLine commandLine() {
        CommandLine cmd = new CommandLine(new AirlockCommand());
        exitCodes(cmd);
        cmd.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            commandLine.getErr().println("airlock: internal error: " + ex);
            if (System.getenv("AIRLOCK_DEBUG") != null) {
                ex.printStackTrace(commandLine.getErr());
            } else {
                commandLine.getErr().println("airlock: set AIRLOCK_DEBUG=1 for the stack trace");
            }
            return ExitCodes.AIRLOCK_ERROR;
        });
        return cmd;
    }

    /** picocli keeps exit codes per command, so every subcommand gets them. */
    private static void exitCodes(CommandLine cmd) {
        cmd.getCommandSpec().exitCodeOnInvalidInput(ExitCodes.BAD_INPUT);
        cmd.getCommandSpec().exitCodeOnExecutionException(ExitCodes.AIRLOCK_ERROR);
        cmd.getSubcommands().values().forEach(Main::exitCodes);
        if (cmd.getCommandSpec().userObject() instanceof RunCommand) {
            // airlock run returns the command's own codes; its own failures are 125.
            cmd.getCommandSpec().exitCodeOnInvalidInput(ExitCodes.AIRLOCK_ERROR);
        }
    }
}
