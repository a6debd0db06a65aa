package dev.airlock.cli;

import dev.airlock.policy.load.PolicyException;
import dev.airlock.runtime.CallerEnvironment;
import dev.airlock.runtime.PolicyEnvNames;
import dev.airlock.runtime.RunAs;
import dev.airlock.runtime.SandboxRun;
import dev.airlock.server.DaemonClient;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "run",
        mixinStandardHelpOptions = true,
        description = {
            "Run COMMAND in a fresh sandbox (root): its own network namespace whose only exit is",
            "Airlock's gateway, enforced by nftables; bubblewrap for files and processes; cgroup limits.",
            "stdio and signals pass through; when stdin is a terminal, COMMAND gets a terminal of its own",
            "in the sandbox (yours is raw meanwhile and follows resizes; never shared with the sandbox).",
            "Afterwards stderr gets a summary of what was blocked, with the YAML that would allow it.",
            "When a daemon runs and pools this project, the sandbox comes from its warm pool",
            "(workspace: the project at HEAD) unless --workspace or --no-daemon is given. A daemon that",
            "does not pool it runs it too, as here: in this directory (or --workspace), a sandbox of its own,",
            "under the daemon's organisation policy; --org, --hosts, --events and --no-daemon run it here."
        },
        footer = {"", "Example (as root):", "  ./airlock run --policy airlock.yaml --env ANTHROPIC_API_KEY -- bash -i",
            "", "Exit codes: COMMAND's own; 125 Airlock error (not root, missing kernel feature or package,",
            "invalid policy); 126 COMMAND not runnable; 127 COMMAND not found."})
final class RunCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    PolicySources sources;

    @Option(names = "--workspace", paramLabel = "DIR",
            description = {"Directory mounted read-write at /workspace and used as the working directory (default: .).",
                "Given, it also means: run here, not in the daemon's pool."})
    Path workspace;

    @Option(names = "--no-daemon", description = "Build a fresh sandbox here even when a daemon with a warm pool runs.")
    boolean noDaemon;

    @Option(names = "--env", paramLabel = "NAME[=VALUE]", description = {
        "Environment variable for COMMAND (repeatable): NAME=VALUE sets it, NAME passes the caller's value.",
        "Besides these, COMMAND gets only TERM, COLORTERM, LANG, LANGUAGE, LC_* and the names the policy",
        "lists under env:, from the caller's environment; nothing else of it."})
    List<String> env = new ArrayList<>();

    @Option(names = "--events", paramLabel = "FILE", description = "Write this run's decisions as JSON lines.")
    Path events;

    @Parameters(paramLabel = "COMMAND", arity = "1..*", description = "The command and its arguments, after --.")
    List<String> command = new ArrayList<>();

    /**
     * Where a daemon may run this policy when it does not pool it (docs/daemon.md, "Policies the daemon
     * does not pool"): the caller's directory, or {@code --workspace} (then even when it pools it);
     * empty when this run names what only a run of its own can have: another organisation policy or
     * resolver (the daemon's gateway has its own), or an {@code --events} file (written by the
     * process whose gateway decided). It runs as the sudo user of {@code environment} (SUDO_UID and
     * SUDO_GID), as this run would here; none named, as nobody.
     */
    static Optional<DaemonClient.ColdWorkspace> coldWorkspace(Map<String, String> environment, Path org, Path hosts, Path events,
            Path workspace) {
        if (org != null || hosts != null || events != null) {
            return Optional.empty();
        }
        return Optional.of(new DaemonClient.ColdWorkspace((workspace == null ? Path.of("") : workspace).toAbsolutePath().normalize(),
                workspace != null, RunAs.sudoCaller(environment)));
    }

    @Override
    public Integer call() {
        Map<String, String> vars;
        try {
            vars = CallerEnvironment.select(System.getenv(), PolicyEnvNames.of(sources.policy), env);
        } catch (CallerEnvironment.BadOption e) {
            spec.commandLine().getErr().println("airlock: " + e.getMessage());
            return SandboxRun.AIRLOCK_ERROR;
        } catch (PolicyException e) {
            e.problems().forEach(spec.commandLine().getErr()::println);
            return SandboxRun.AIRLOCK_ERROR;
        }
        PrintStream err = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
        Optional<DaemonClient.ColdWorkspace> cold = coldWorkspace(System.getenv(), sources.org, sources.hosts, events, workspace);
        if (!noDaemon && events == null && (workspace == null || cold.isPresent())) {
            Optional<Path> org = PolicySources.orgPath(sources.org);
            String instead = "workspace " + Path.of("").toAbsolutePath() + ", policy " + sources.policy + ", "
                    + org.map(o -> "organisation policy " + o).orElse("no organisation policy") + ", "
                    + (sources.hosts == null ? "names from the system resolver" : "names from " + sources.hosts);
            Optional<Integer> pooled = PooledRun.attempt(sources.policy, cold, command, vars, err, instead);
            if (pooled.isPresent()) {
                return pooled.get();
            }
        }
        return new SandboxRun(err).run(new SandboxRun.Options(sources.policy, PolicySources.orgPath(sources.org),
                Optional.ofNullable(sources.hosts), workspace == null ? Path.of(".") : workspace, vars, Optional.ofNullable(events), command,
                StateDirectory.root()));
    }
}
