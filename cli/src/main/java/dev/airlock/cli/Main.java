package dev.airlock.cli;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;
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
            Optional<Integer> pooled = PooledRun.fastPath(Arrays.copyOfRange(args, 1, args.length));
            if (pooled.isPresent()) {
                return pooled.get();
            }
            // `airlock run` is started per agent command: build only its own command line, not the
            // twenty others (each one's classes loaded and annotations read), to start sooner.
            return runCommandLine().execute(Arrays.copyOfRange(args, 1, args.length));
        }
        return commandLine(args).execute(args);
    }

    static CommandLine runCommandLine() {
        CommandLine cmd = new CommandLine(new RunCommand());
        cmd.setCommandName("airlock run");
        configure(cmd);
        return cmd;
    }

    /** Runs a command line with the given streams and returns its exit code (tests call this). */
    static int run(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
        CommandLine cmd = commandLine(args);
        cmd.setOut(out);
        cmd.setErr(err);
        int code = cmd.execute(args);
        out.flush();
        err.flush();
        return code;
    }

    /** The whole command tree: what `airlock --help`, an unknown command and shell completion need. */
    static CommandLine wholeTree() {
        return commandLine(AirlockCommand.COMMANDS);
    }

    /**
     * The command tree for {@code args}: only the command they name when they name one. picocli
     * reads the annotations of every command in the tree before it parses; the other eleven and
     * their subcommands cost each JVM command about a third of its start.
     */
    static CommandLine commandLine(String... args) {
        if (args.length == 1 && (args[0].equals("--version") || args[0].equals("-V"))) {
            return commandLine(List.of());
        }
        if (args.length > 0) {
            for (Class<?> c : AirlockCommand.COMMANDS) {
                CommandLine.Command named = c.getAnnotation(CommandLine.Command.class);
                if (named.name().equals(args[0]) || Arrays.asList(named.aliases()).contains(args[0])) {
                    return commandLine(List.of(c));
                }
            }
        }
        return wholeTree();
    }

    private static CommandLine commandLine(List<Class<?>> commands) {
        CommandLine cmd = new CommandLine(new AirlockCommand());
        commands.forEach(cmd::addSubcommand);
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
