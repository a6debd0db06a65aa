package dev.airlock.cli;

import dev.airlock.server.DaemonConfig;
import dev.airlock.server.DaemonException;
import dev.airlock.server.DaemonServer;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "daemon",
        mixinStandardHelpOptions = true,
        description = {
            "Run the Airlock daemon (root): warm pools of sandboxes for the projects in the config file,",
            "the REST API on a unix socket (and optionally TCP with a token), /metrics and the dashboard.",
            "`airlock run` uses its pools while it runs. Stop it with SIGTERM or Ctrl-C: every sandbox it",
            "built is destroyed; after kill -9 the next start reaps them."
        },
        footer = {"", "Example (as root):", "  ./airlock daemon --config examples/daemon.yaml", "",
            "Documentation: docs/daemon.md. Exit codes: 0 stopped; 1 invalid config; 125 Airlock error."})
final class DaemonCommand implements Callable<Integer> {

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", defaultValue = "/etc/airlock/daemon.yaml",
            description = "The daemon's configuration (default: /etc/airlock/daemon.yaml).")
    Path config;

    @Override
    public Integer call() throws InterruptedException {
        var err = spec.commandLine().getErr();
        DaemonPreload.start();
        DaemonConfig c;
        try {
            c = DaemonConfig.load(config);
        } catch (DaemonConfig.ConfigException e) {
            err.println("airlock: " + e.getMessage());
            return 1;
        }
        DaemonServer server;
        try {
            server = DaemonServer.start(c, System.err, AirlockCommand.version());
        } catch (DaemonException e) {
            err.println("airlock: " + e.getMessage());
            return 125;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.err.println("airlock daemon: stopping; destroying its sandboxes");
            server.close();
            stopped.countDown();
        }, "airlock-daemon-stop"));
        stopped.await();
        return 0;
    }
}
