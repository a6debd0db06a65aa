package dev.airlock.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.airlock.server.DaemonClient;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "export",
        mixinStandardHelpOptions = true,
        description = {
            "Bring a session's work into a git repository.",
            "",
            "Its new commits become the branch airlock/ID, its uncommitted changes",
            "(untracked files too, binary-safe) the patch .git/airlock/ID.patch; prints",
            "one line on how to review and merge them.",
            "Works on a claimed sandbox (it keeps running) and on kept work (a released",
            "sandbox's work that could not be exported; see `airlock sandbox list`).",
            "Nothing the sandbox wrote changes the repository but that branch and that",
            "file: git runs inside the sandbox to produce them, never on the host in the",
            "sandbox's repository. Default REPO: the project's local workspace.source."
        },
        footer = {"", "Exit codes: 0 exported, or nothing new; 1 refused (say, the branch exists)",
            "or no such sandbox; 125 no daemon answers."})
final class SandboxExportCommand implements Callable<Integer> {

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "ID", description = "The sandbox, e.g. alk1234abcd.")
    String id;

    @Option(names = "--to", paramLabel = "REPO", description = "The git repository to export into (default: the project's workspace.source).")
    Path to;

    @Option(names = "--json", description = "Print the daemon's JSON.")
    boolean json;

    /** Where the daemon is; tests replace it. */
    Path socket = DaemonSocket.path();

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (!id.matches("alk[0-9a-f]{8}")) {
            err.println("airlock: '" + id + "' is not a sandbox id. Fix: give one of `airlock sandbox list`, e.g. alk1234abcd.");
            return ExitCodes.BAD_INPUT;
        }
        Optional<DaemonClient> c = DaemonClient.ifRunning(socket);
        if (c.isEmpty()) {
            err.println("airlock: no daemon answers on " + socket + ". Fix: start one as root with `airlock daemon --config FILE`,"
                    + " or set AIRLOCK_DAEMON_SOCKET.");
            return ExitCodes.AIRLOCK_ERROR;
        }
        ObjectNode body = JsonNodeFactory.instance.objectNode();
        if (to != null) {
            body.put("to", to.toAbsolutePath().normalize().toString());
        }
        DaemonClient.Response r = c.get().post("/v1/sandboxes/" + id + "/export", body);
        if (!r.ok()) {
            err.println("airlock: " + r.error());
            return ExitCodes.BAD_INPUT;
        }
        if (json) {
            out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(r.body()));
        } else {
            out.println(r.body().path("summary").asText());
        }
        return ExitCodes.OK;
    }
}
