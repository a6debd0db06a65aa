package dev.airlock.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.airlock.server.DaemonClient;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "create",
        mixinStandardHelpOptions = true,
        description = {"Claim a sandbox from the warm pool for a session; print its id.",
            "",
            "The project is the one whose policy file the daemon's configuration lists",
            "as --policy (default ./airlock.yaml), or --project. The session lives until",
            "`airlock sandbox stop`, its idle timeout (no command running for that long;",
            "default 8h) or the daemon's stop."},
        footer = {"", "Examples (as root):", "  airlock sandbox create --policy airlock.yaml --name fix-login",
            "  id=$(airlock sandbox create --project payments -q)",
            "", "Exit codes: 0 created; 1 invalid input; 125 no daemon, the project is not pooled, or the claim failed."})
final class SandboxCreateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    static final class Project {
        @Option(names = "--policy", paramLabel = "FILE", description = "The project's policy file, as the daemon's configuration lists it (default: ./airlock.yaml).")
        Path policy;

        @Option(names = "--project", paramLabel = "NAME", description = "The project by name (`project:` in its airlock.yaml).")
        String project;
    }

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Project which = new Project();

    @Option(names = "--name", paramLabel = "NAME",
            description = "A name for the session, unique among live ones: 1-40 of a-z, 0-9, '.', '_', '-'. Usable wherever an id is.")
    String name;

    @Option(names = {"-q", "--quiet"}, description = "Print only the sandbox id (for scripts).")
    boolean quiet;

    @Option(names = "--json", description = "Print the daemon's answer as JSON.")
    boolean json;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Optional<DaemonClient> daemon = SessionDaemon.connect(err);
        if (daemon.isEmpty()) {
            return ExitCodes.AIRLOCK_ERROR;
        }
        ObjectNode req = new ObjectMapper().createObjectNode();
        if (which != null && which.project != null) {
            req.put("project", which.project);
        } else {
            Path policy = which == null || which.policy == null ? Path.of("airlock.yaml") : which.policy;
            req.put("policy", policy.toAbsolutePath().normalize().toString());
        }
        if (name != null) {
            req.put("name", name);
        }
        DaemonClient.Response r = daemon.get().post("/v1/claims", req);
        if (!r.ok()) {
            err.println("airlock: " + r.error());
            return r.status() == 400 ? ExitCodes.BAD_INPUT : ExitCodes.AIRLOCK_ERROR;
        }
        JsonNode s = r.body();
        String id = s.path("sandbox").asText();
        if (quiet) {
            out.println(id);
        } else if (json) {
            out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(s));
        } else {
            String ref = s.path("name").isTextual() ? s.path("name").asText() : id;
            out.println(id);
            err.println("airlock: session " + id + (s.path("name").isTextual() ? " (" + ref + ")" : "") + " of " + s.path("project").asText()
                    + " from the daemon's pool (" + (s.path("warm").asBoolean() ? "warm" : "cold") + ", claimed in "
                    + String.format(Locale.ROOT, "%.1f", s.path("claimMs").asDouble()) + " ms); idle timeout "
                    + SessionTable.timeout(s.get("idleTimeout")));
            err.println("airlock: next: `airlock sandbox exec " + ref + " -- CMD`, `airlock sandbox attach " + ref + "`, `airlock sandbox stop "
                    + ref + "`");
        }
        return ExitCodes.OK;
    }
}
