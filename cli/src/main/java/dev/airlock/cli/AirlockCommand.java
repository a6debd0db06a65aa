package dev.airlock.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Properties;
import picocli.CommandLine.Command;

@Command(name = "airlock",
        mixinStandardHelpOptions = true,
        versionProvider = AirlockCommand.Version.class,
        description = {
            "Runs AI coding agents in sandboxes that reach what development needs and never production.",
            "",
            "Start with:  airlock policy explain --policy airlock.yaml TARGET"
        },
        footer = {"", "Exit codes: 0 success; 1 invalid input; 3 denied (policy explain); 125 Airlock error.",
            "Documentation: README.md and docs/ in the Airlock repository."})
final class AirlockCommand implements Runnable {

    /**
     * The commands, in the order `airlock --help` lists them. Not in the annotation: picocli reads
     * every subcommand's annotations when the command line is made, and a command names one
     * ({@link Main#commandLine(String...)}).
     */
    static final List<Class<?>> COMMANDS = List.of(RunCommand.class, DemoCommand.class, PolicyCommand.class, GatewayCommand.class,
            LogCommand.class, GcCommand.class, DaemonCommand.class, PoolCommand.class, AuditCommand.class, EvidenceCommand.class,
            TemplateCommand.class, SandboxCommand.class);

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getErr());
    }

    static final class Version implements picocli.CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return lines(version(), System.getProperty("airlock.package"));
        }

        /** An installed launcher names its package (-Dairlock.package), so a report says which install ran. */
        static String[] lines(String version, String installedAs) {
            String first = "airlock " + version + (installedAs == null || installedAs.isBlank() ? "" : " (" + installedAs + ")");
            return new String[] {first, "Java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")"};
        }
    }

    /** The version the build stamped into the jar. */
    static String version() {
        Properties p = new Properties();
        try (InputStream in = AirlockCommand.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            return "unknown";
        }
        return p.getProperty("version", "unknown");
    }
}
