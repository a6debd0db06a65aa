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
        if (args.length > 0 && args[0].equals("run")) {
            java.util.Optional<Integer> pooled = PooledRun.fastPath(java.util.Arrays.copyOfRange(args, 1, args.length));
            if (pooled.isPresent()) {
                return pooled.get();
            }
            // `airlock run` is started per agent command: build only its own command line, not the
            // twenty others (each one's classes loaded and annotations read), to start sooner.
            return runCommandLine().execute(java.util.Arrays.copyOfRange(args, 1, args.length));
        }
        return commandLine().execute(args);
    }

    static CommandLine runCommandLine() {
        CommandLine cmd = new CommandLine(new RunCommand());
        cmd.setCommandName("airlock run");
        configure(cmd);
        return cmd;
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
        configure(cmd);
        return cmd;
    }

    private static void configure(CommandLine cmd) {
        exitCodes(cmd);
        HelpText.reflow(cmd);
        cmd.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            commandLine.getErr().println("airlock: internal error: " + ex);
            if (System.getenv("AIRLOCK_DEBUG") != null) {
                ex.printStackTrace(commandLine.getErr());
            } else {
                commandLine.getErr().println("airlock: set AIRLOCK_DEBUG=1 for the stack trace");
            }
            return ExitCodes.AIRLOCK_ERROR;
        });
    }

    /** picocli keeps exit codes per command, so every subcommand gets them. */
    private static void exitCodes(CommandLine cmd) {
        cmd.getCommandSpec().exitCodeOnInvalidInput(ExitCodes.BAD_INPUT);
        cmd.getCommandSpec().exitCodeOnExecutionException(ExitCodes.AIRLOCK_ERROR);
        cmd.getSubcommands().values().forEach(Main::exitCodes);
        Object command = cmd.getCommandSpec().userObject();
        if (command instanceof RunCommand || command instanceof SandboxExecCommand || command instanceof SandboxAttachCommand) {
            // they return the command's own codes; their own failures are 125.
            cmd.getCommandSpec().exitCodeOnInvalidInput(ExitCodes.AIRLOCK_ERROR);
        }
    }
}
