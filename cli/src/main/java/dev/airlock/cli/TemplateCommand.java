package dev.airlock.cli;

import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.pool.template.BuildResult;
import dev.airlock.pool.template.ProgressSink;
import dev.airlock.pool.template.SandboxSetupRunner;
import dev.airlock.pool.template.Template;
import dev.airlock.pool.template.TemplateException;
import dev.airlock.pool.template.TemplateManager;
import dev.airlock.sandbox.SandboxException;
import dev.airlock.sandbox.SandboxLauncher;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "template",
        mixinStandardHelpOptions = true,
        description = {"Project templates: the workspace at the tracked branch's HEAD with its setup done,",
            "which sandboxes mount copy-on-write. See docs/templates.md."},
        subcommands = {TemplateCommand.Build.class, TemplateCommand.ListTemplates.class})
final class TemplateCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getErr());
    }

    /** True when stderr, where progress goes, is a terminal (a bar then; plain lines otherwise). */
    static boolean stderrIsTerminal() {
        try {
            String target = java.nio.file.Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
        } catch (java.io.IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** Where templates live: Airlock's state directory (AIRLOCK_STATE, else /var/lib/airlock as root). */
    static Path state() {
        return StateDirectory.root();
    }

    @Command(name = "build",
            mixinStandardHelpOptions = true,
            description = {"Build or refresh the project's template (root): fetch workspace.source, check out the",
                "HEAD of workspace.ref, run workspace.setup once in a sandbox (the project policy plus",
                "network.setup.allow), and make it current. Prints the template id on stdout."},
            footer = {"", "Example (as root):", "  ./airlock template build --policy airlock.yaml",
                "", "Exit codes: 0 built (or already current); 1 setup failed (the last good template stays current;",
                "the log's path and its last lines go to stderr); 125 Airlock error."})
    static final class Build implements Callable<Integer> {

        @Spec
        CommandSpec spec;

        @Mixin
        PolicySources sources;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            ProjectPolicy policy;
            try {
                policy = sources.project();
            } catch (PolicyException e) {
                e.problems().forEach(p -> err.println(p));
                return ExitCodes.AIRLOCK_ERROR;
            }
            if (policy.workspace().map(w -> !w.setup().isEmpty()).orElse(false)) {
                try {
                    SandboxLauncher.checkHost();
                } catch (SandboxException e) {
                    err.println("airlock: " + e.getMessage());
                    return ExitCodes.AIRLOCK_ERROR;
                }
            }
            boolean tty = stderrIsTerminal();
            try {
                TemplateManager m = new TemplateManager(state(), AirlockCommand.version(), new SandboxSetupRunner(sources.policy,
                        PolicySources.orgPath(sources.org), Optional.ofNullable(sources.hosts), state()), Clock.systemUTC());
                BuildResult r = m.build(policy, ProgressSink.console(err, tty));
                return switch (r) {
                    case BuildResult.Built b -> {
                        out.println(b.template().id().name());
                        yield ExitCodes.OK;
                    }
                    case BuildResult.Failed f -> {
                        err.println("airlock: setup of template " + f.attempted().name() + " failed (exit " + f.exitCode() + "); "
                                + f.kept().map(t -> "template " + t.id().name() + " stays current").orElse("there is no current template"));
                        err.println("airlock: setup log: " + f.log());
                        err.println("---- last lines of the log ----");
                        err.println(f.tail());
                        yield ExitCodes.BAD_INPUT;
                    }
                };
            } catch (TemplateException e) {
                err.println("airlock: " + e.getMessage());
                return ExitCodes.AIRLOCK_ERROR;
            } finally {
                err.flush();
                out.flush();
            }
        }
    }

    @Command(name = "list",
            mixinStandardHelpOptions = true,
            description = "List each project's templates, newest first; * marks the current one.",
            footer = {"", "Exit codes: 0; 125 the templates cannot be read (run as root)."})
    static final class ListTemplates implements Callable<Integer> {

        @Spec
        CommandSpec spec;

        @Option(names = "--project", paramLabel = "NAME", description = "Only this project.")
        String project;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            try {
                TemplateManager m = new TemplateManager(state(), AirlockCommand.version(), r -> {
                    throw new TemplateException("list does not run setups");
                }, Clock.systemUTC());
                List<String> projects = project != null ? List.of(project) : m.projects();
                if (projects.isEmpty()) {
                    out.println("no templates in " + state().resolve("templates") + " (build one with `airlock template build`)");
                    return ExitCodes.OK;
                }
                out.printf("%-3s %-20s %-27s %-14s %-12s %s%n", "", "PROJECT", "TEMPLATE", "COMMIT", "BRANCH", "BUILT");
                for (String p : projects) {
                    Optional<Template> current = m.current(p);
                    for (Template t : m.list(p)) {
                        boolean cur = current.map(c -> c.id().equals(t.id())).orElse(false);
                        out.printf("%-3s %-20s %-27s %-14s %-12s %s%n", cur ? "*" : "", p, t.id().name(), t.id().commit().substring(0, 12),
                                t.ref(), t.built());
                    }
                }
                return ExitCodes.OK;
            } catch (TemplateException e) {
                err.println("airlock: " + e.getMessage());
                return ExitCodes.AIRLOCK_ERROR;
            } finally {
                out.flush();
            }
        }
    }
}
