package dev.airlock.cli;

import dev.airlock.server.DaemonClient;
import dev.airlock.server.DaemonException;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "stop",
        aliases = "rm",
        mixinStandardHelpOptions = true,
        description = {"Stop sessions and destroy their sandboxes.",
            "",
            "The daemon releases each sandbox (commands still running in it are killed),",
            "brings its work back (its commits as branch airlock/ID and the rest as a",
            "patch in the project's repository; kept 24h when that fails, see `export`)",
            "and destroys it. Prints each stopped id on stdout, and on stderr the summary",
            "of what its commands were denied, with the YAML that would allow it (as",
            "`airlock run` does) and where the work went. SESSION is a sandbox id, a unique prefix of one, or",
            "the session's name."},
        footer = {"", "Example (as root):", "  airlock sandbox stop fix-login alk3f2",
            "", "Exit codes: 0 all stopped; 1 a SESSION is unknown or ambiguous (the others are stopped); 125 no daemon or it failed."})
final class SandboxStopCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "SESSION", description = "Sandbox ids, unique id prefixes, or session names.")
    List<String> sessions = new ArrayList<>();

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Optional<DaemonClient> daemon = SessionDaemon.connect(err);
        if (daemon.isEmpty()) {
            return ExitCodes.AIRLOCK_ERROR;
        }
        int code = ExitCodes.OK;
        for (String ref : sessions) {
            String id;
            try {
                id = daemon.get().resolveSession(ref);
            } catch (DaemonException e) {
                err.println("airlock: " + e.getMessage());
                code = Math.max(code, ExitCodes.BAD_INPUT);
                continue;
            }
            DaemonClient.Response r = daemon.get().delete("/v1/sandboxes/" + id);
            if (!r.ok()) {
                err.println("airlock: stopping " + id + ": " + r.error());
                code = r.status() == 404 ? Math.max(code, ExitCodes.BAD_INPUT) : ExitCodes.AIRLOCK_ERROR;
                continue;
            }
            out.println(id);
            err.print(r.body().path("summary").asText("")); // what was denied, and where the work went
            err.flush(); // print() does not flush, and picocli's writers are not flushed at exit
        }
        return code;
    }
}
