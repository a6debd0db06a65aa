package dev.airlock.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.airlock.server.DaemonClient;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "list",
        aliases = "ls",
        mixinStandardHelpOptions = true,
        description = {"List the claimed sessions.",
            "",
            "Per session: sandbox id, name, project, warm or cold start, age, idle time",
            "(or the number of commands running), idle timeout, and how long until that",
            "timeout stops it. Then the cold runs in progress: `airlock run`s of policies",
            "the daemon does not pool, each in a sandbox of its own (project, age, the",
            "user it runs as, the caller's directory). Then the kept work: released",
            "sandboxes whose changes were not exported yet, and when they are removed."},
        footer = {"", "Exit codes: 0 listed (also when there are none); 125 no daemon answers."})
final class SandboxListCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = {"-a", "--all"}, description = "Also the sandboxes of one-shot `airlock run`s in progress.")
    boolean all;

    @Option(names = {"-q", "--quiet"}, description = "Print only the sandbox ids, one a line.")
    boolean quiet;

    @Option(names = "--json", description = "Print the sessions, the cold runs and the kept work as the daemon describes them (GET /v1/sandboxes), as a JSON array.")
    boolean json;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Optional<DaemonClient> daemon = SessionDaemon.connect(err);
        if (daemon.isEmpty()) {
            return ExitCodes.AIRLOCK_ERROR;
        }
        DaemonClient.Response r = daemon.get().get("/v1/sandboxes");
        if (!r.ok()) {
            err.println("airlock: " + r.error());
            return ExitCodes.AIRLOCK_ERROR;
        }
        List<JsonNode> rows = SessionTable.claimed(r.body(), all);
        List<JsonNode> cold = SessionTable.coldRuns(r.body());
        List<JsonNode> kept = SessionTable.kept(r.body());
        if (json) {
            ObjectMapper m = new ObjectMapper();
            ArrayNode a = m.createArrayNode();
            rows.forEach(a::add);
            cold.forEach(a::add);
            kept.forEach(a::add);
            out.println(m.writerWithDefaultPrettyPrinter().writeValueAsString(a));
        } else if (quiet) {
            rows.forEach(n -> out.println(n.path("sandbox").asText()));
        } else {
            SessionTable.printSessions(out, rows, all, Instant.now());
            SessionTable.printColdRuns(out, cold, Instant.now());
            SessionTable.printKept(out, kept, Instant.now());
        }
        return ExitCodes.OK;
    }
}
