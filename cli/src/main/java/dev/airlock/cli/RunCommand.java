package dev.airlock.cli;

import dev.airlock.runtime.SandboxRun;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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
            "stdio and the terminal pass through; afterwards stderr gets a summary of what was blocked,",
            "with the YAML that would allow it. When a daemon runs and pools this project, the sandbox",
            "comes from its warm pool (workspace: the project at HEAD) unless --workspace or --no-daemon is given."
        },
        footer = {"", "Example:", "  sudo ./airlock run --policy airlock.yaml -- bash",
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

    @Option(names = "--env", paramLabel = "K=V", description = "Environment variable for COMMAND (repeatable).")
    List<String> env = new ArrayList<>();

    @Option(names = "--events", paramLabel = "FILE", description = "Write this run's decisions as JSON lines.")
    Path events;

    @Parameters(paramLabel = "COMMAND", arity = "1..*", description = "The command and its arguments, after --.")
    List<String> command = new ArrayList<>();

    @Override
    public Integer call() {
        Map<String, String> vars = new LinkedHashMap<>();
        for (String kv : env) {
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                spec.commandLine().getErr().println("airlock: --env " + kv + ": write NAME=VALUE");
                return SandboxRun.AIRLOCK_ERROR;
            }
            vars.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        PrintStream err = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
        if (!noDaemon && workspace == null && events == null) {
            Optional<Integer> pooled = PooledRun.attempt(sources.policy, command, vars, err);
            if (pooled.isPresent()) {
                return pooled.get();
            }
        }
        return new SandboxRun(err).run(new SandboxRun.Options(sources.policy, PolicySources.orgPath(sources.org),
                Optional.ofNullable(sources.hosts), workspace == null ? Path.of(".") : workspace, vars, Optional.ofNullable(events), command,
                StateDirectory.root()));
    }
}
