package dev.airlock.cli;

import dev.airlock.server.DaemonClient;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "attach",
        mixinStandardHelpOptions = true,
        description = {"Open an interactive login shell in a session.",
            "",
            "Like `docker exec -it ID bash`: bash when the sandbox has it, else sh, in",
            "the session's /workspace, with a terminal of its own in the sandbox when",
            "stdin is a terminal. Leaving the shell (exit, Ctrl-D) or losing the",
            "connection ends that shell and whatever it still runs; the session and its",
            "workspace stay, and attaching again gives a new shell in the same sandbox.",
            "Keep long jobs in a client that stays (e.g. inside tmux on your side).",
            "SESSION is a sandbox id, a unique prefix of one, or the session's name."},
        footer = {"", "Example (as root):", "  airlock sandbox attach fix-login",
            "", "Exit codes: the shell's own; 125 Airlock error (no daemon, no such session, the daemon failed)."})
final class SandboxAttachCommand implements Callable<Integer> {

    /** A login shell: bash when the sandbox's root has it, else the POSIX shell. */
    static final List<String> LOGIN_SHELL = List.of("/bin/sh", "-c",
            "if command -v bash >/dev/null 2>&1; then exec bash -l -i; fi; exec sh -l -i");

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SESSION", description = "Sandbox id, unique id prefix, or session name.")
    String session;

    @Override
    public Integer call() throws IOException {
        PrintWriter err = spec.commandLine().getErr();
        Optional<DaemonClient> daemon = SessionDaemon.connect(err);
        if (daemon.isEmpty()) {
            return ExitCodes.AIRLOCK_ERROR;
        }
        Optional<String> resolved = SessionDaemon.resolve(daemon.get(), session, err);
        if (resolved.isEmpty()) {
            return ExitCodes.AIRLOCK_ERROR;
        }
        String id = resolved.get();
        err.println("airlock: a new shell in session " + id + "; `exit` or Ctrl-D leaves it (the session stays, `airlock sandbox stop " + id
                + "` ends it)");
        err.flush();
        return SessionExec.run(daemon.get(), id, LOGIN_SHELL, Map.of(), true, true, err);
    }
}
