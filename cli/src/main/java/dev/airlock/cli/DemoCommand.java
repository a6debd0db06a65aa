package dev.airlock.cli;

import dev.airlock.runtime.demo.Demo;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "demo",
        mixinStandardHelpOptions = true,
        description = {
            "Show Airlock stopping the near-miss, on this machine, in under a minute (root).",
            "Builds a small world in network namespaces (git host, package registry, production",
            "payments API and database, fake cloud metadata), runs a scripted agent in a sandbox that",
            "clones, installs, tests and then calls production, shows what was allowed and blocked",
            "and the audit trail, and removes everything it created. Installs missing Debian packages.",
            "Headings are bold only on a terminal, and never with NO_COLOR set."
        },
        footer = {"", "Exit codes: 0 production stayed unreachable; 1 it was reached (a bug); 125 the demo could not run."})
final class DemoCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        return new Demo(out, Demo.colour(System.getenv(), Demo.stdoutIsTerminal())).run(StateDirectory.root());
    }
}
