package dev.airlock.cli;

import dev.airlock.server.DaemonClient;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "exec",
        mixinStandardHelpOptions = true,
        description = {"Run a command in a session.",
            "",
            "COMMAND runs in the session's /workspace (what earlier commands wrote is",
            "there). stdout and stderr stream back; with -i, stdin streams up (else",
            "COMMAND reads end-of-file); with -it and a terminal on stdin, COMMAND gets a",
            "terminal of its own in the sandbox. COMMAND dies with this client: if the client is",
            "killed or loses the daemon, COMMAND is killed too; the session stays.",
            "SESSION is a sandbox id, a unique prefix of one, or the session's name."},
        footer = {"", "Examples (as root):", "  airlock sandbox exec fix-login -- git status",
            "  echo data | airlock sandbox exec -i alk12 -- sh -c 'cat > input.txt'",
            "  airlock sandbox exec -it fix-login -- vi src/app.py",
            "", "Exit codes: COMMAND's own; 125 Airlock error (no daemon, no such session, the daemon failed)."})
final class SandboxExecCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = {"-i", "--interactive"}, description = "Stream this terminal's stdin to COMMAND.")
    boolean interactive;

    @Option(names = {"-t", "--tty"}, description = "With -i and a terminal on stdin: COMMAND gets a terminal of its own in the"
            + " sandbox (window size, Ctrl-C, job control), as docker exec -it.")
    boolean tty;

    @Option(names = {"-e", "--env"}, paramLabel = "K=V", description = "Environment variable for COMMAND (repeatable).")
    List<String> env = new ArrayList<>();

    @Parameters(index = "0", paramLabel = "SESSION", description = "Sandbox id, unique id prefix, or session name.")
    String session;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "COMMAND", description = "The command and its arguments, after --.")
    List<String> command = new ArrayList<>();

    @Override
    public Integer call() throws IOException {
        PrintWriter err = spec.commandLine().getErr();
        Optional<Map<String, String>> vars = SessionExec.env(env, err);
        if (vars.isEmpty()) {
            return ExitCodes.AIRLOCK_ERROR;
        }
        Optional<DaemonClient> daemon = SessionDaemon.connect(err);
        if (daemon.isEmpty()) {
            return ExitCodes.AIRLOCK_ERROR;
        }
        Optional<String> resolved = SessionDaemon.resolve(daemon.get(), session, err);
        if (resolved.isEmpty()) {
            return ExitCodes.AIRLOCK_ERROR;
        }
        String id = resolved.get();
        err.flush();
        return SessionExec.run(daemon.get(), id, command, vars.get(), interactive, tty, err);
    }
}
