package dev.airlock.runtime;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.resolve.Resolver;
import dev.airlock.policy.Phase;
import dev.airlock.policy.PolicyEngine;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.policy.load.PolicyFiles;
import dev.airlock.policy.model.ProjectPolicy;
import dev.airlock.sandbox.LinkSafeFiles;
import dev.airlock.sandbox.SandboxException;
import dev.airlock.sandbox.SandboxLauncher;
import dev.airlock.sandbox.SandboxUser;
import dev.airlock.sandbox.TrustBundle;
import dev.airlock.sandbox.WorkspaceAccess;
import dev.airlock.sandbox.WorkspaceProtection;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code airlock run}: one command in one fresh sandbox on this host, with the gateway in this
 * process. Wired by hand, in one place.
 *
 * <p>Order matters for safety: the gateway listens before the sandbox's rules point at it; the
 * sandbox is registered before the command starts; and on every exit path the sandbox's kernel
 * objects are destroyed before the gateway stops, so the sandbox never outlives its gateway with
 * a live link (and if this process is killed, the rules send its traffic to a port nobody
 * answers: no egress at all until the next start reaps it).
 */
public final class SandboxRun {

    /** Exit code for Airlock's own failures (DESIGN.md §2). */
    public static final int AIRLOCK_ERROR = 125;
    public static final int NOT_RUNNABLE = 126;
    public static final int NOT_FOUND = 127;

    /**
     * What to run. {@code phase} picks the project's rules ({@link Phase#SETUP} adds
     * {@code network.setup.allow}, for a template's setup; production still applies). With
     * {@code output}, the command's stdout and stderr are appended to that file and its stdin is
     * empty, instead of passing through.
     */
    public record Options(Path policy, Optional<Path> org, Optional<Path> hosts, Path workspace, Map<String, String> env,
            Optional<Path> events, List<String> command, Path stateDir, Phase phase, Optional<Path> output,
            Optional<TemplateLayer> layer) {

        /** As given, on the project's image as it is (no root layer). */
        public Options(Path policy, Optional<Path> org, Optional<Path> hosts, Path workspace, Map<String, String> env,
                Optional<Path> events, List<String> command, Path stateDir, Phase phase, Optional<Path> output) {
            this(policy, org, hosts, workspace, env, events, command, stateDir, phase, output, Optional.empty());
        }

        /** A normal {@code airlock run}: {@link Phase#RUN}, stdio passed through. */
        public Options(Path policy, Optional<Path> org, Optional<Path> hosts, Path workspace, Map<String, String> env,
                Optional<Path> events, List<String> command, Path stateDir) {
            this(policy, org, hosts, workspace, env, events, command, stateDir, Phase.RUN, Optional.empty());
        }
    }

    private final PrintStream err;

    /**
     * Seals root layer {@code layer} of {@code project} in {@code stateDir} after a template's last
     * root step (docs/images.md, "Setup as root"), on a launcher of its own (reaping leftovers first,
     * as a run does).
     */
    public static void sealRootLayer(Path stateDir, String project, String layer, PrintStream err) throws SandboxException {
        try (SandboxLauncher launcher = SandboxSession.launcher(stateDir, err)) {
            launcher.sealRootLayer(project, layer);
        }
    }

    public SandboxRun(PrintStream err) {
        this.err = err;
    }

    public int run(Options o) {
        if (o.command().isEmpty()) {
            err.println("airlock: no command given; write: airlock run -- COMMAND [ARGS...]");
            return AIRLOCK_ERROR;
        }
        Path workspace = o.workspace().toAbsolutePath().normalize();
        if (!Files.isDirectory(workspace)) {
            err.println("airlock: workspace " + workspace + " is not a directory; pass --workspace DIR");
            return AIRLOCK_ERROR;
        }
        Optional<CommandLookup.Problem> lookup = CommandLookup.check(o.command().get(0), workspace);
        if (lookup.isPresent()) {
            boolean missing = lookup.get() == CommandLookup.Problem.NOT_FOUND;
            err.println("airlock: " + o.command().get(0) + ": " + (missing ? "command not found in the sandbox (PATH "
                    + CommandLookup.SANDBOX_PATH + ", or a path in the workspace)" : "not executable"));
            return missing ? NOT_FOUND : NOT_RUNNABLE;
        }
        try {
            SandboxLauncher.checkHost();
        } catch (SandboxException e) {
            err.println("airlock: " + e.getMessage());
            return AIRLOCK_ERROR;
        }
        ProjectPolicy project;
        try {
            project = PolicyFiles.loadProject(o.policy());
        } catch (PolicyException e) {
            e.problems().forEach(err::println);
            return AIRLOCK_ERROR;
        }
        // The host's own addresses and the production names' addresses, kept current for this run.
        try (PolicyContext context = PolicyContext.open(o.org(), o.hosts(), err);
                SandboxLauncher launcher = SandboxSession.launcher(o.stateDir(), err)) {
            // Airlock's own links (the gateway and every sandbox) are never opened, whatever a cidr says.
            PolicyEngine engine = context.engine(project, o.phase());
            return runIn(o, workspace, project, engine, context.resolver(), launcher, TrustBundle.of(context.org().trust(), project.trust()));
        } catch (SandboxException e) {
            err.println("airlock: " + e.getMessage());
            return AIRLOCK_ERROR;
        } catch (PolicyException e) {
            e.problems().forEach(err::println);
            return AIRLOCK_ERROR;
        } catch (IOException | RuntimeException e) {
            err.println("airlock: " + e);
            return AIRLOCK_ERROR;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("airlock: interrupted");
            return AIRLOCK_ERROR;
        }
    }

    private int runIn(Options o, Path workspace, ProjectPolicy project, PolicyEngine engine, Resolver resolver,
            SandboxLauncher launcher, TrustBundle trust) throws IOException, InterruptedException, SandboxException {
        // The --events file's directory is opened now, before the sandbox exists: the file is
        // written through this descriptor afterwards, so a link the sandbox plants on the path
        // (the file, or a directory above it) is never followed by root.
        LinkSafeFiles.Directory eventsDir = null;
        if (o.events().isPresent()) {
            Path parent = o.events().get().toAbsolutePath().normalize().getParent();
            try {
                eventsDir = LinkSafeFiles.openDirectory(parent);
            } catch (IOException e) {
                err.println("airlock: cannot open the directory of --events " + o.events().get() + ": " + e.getMessage()
                        + ". Fix: create the directory, or name a file in an existing one.");
                return AIRLOCK_ERROR;
            }
        }
        workspaceNotes(workspace, o.policy()).forEach(err::println);
        WorkspaceProtection protection = protection(o.policy(), o.org(), o.hosts(), project, o.phase());
        SandboxSession session = null;
        Process process = null;
        boolean failed = false;
        try {
            session = SandboxSession.open(launcher, o.stateDir().resolve("audit.log"), project, engine, resolver, workspace, protection, trust,
                    TemplateLayer.of(o.layer()));
            if (o.output().isPresent()) {
                ProcessBuilder.Redirect log = ProcessBuilder.Redirect.appendTo(o.output().get().toFile());
                process = session.start(o.command(), o.env(), ProcessBuilder.Redirect.from(new java.io.File("/dev/null")), log, log);
            } else if (CallerTerminal.stdinIsTerminal()) {
                return onTerminal(session, o);
            } else {
                process = session.start(o.command(), o.env(), ProcessBuilder.Redirect.INHERIT, ProcessBuilder.Redirect.INHERIT,
                        ProcessBuilder.Redirect.INHERIT);
            }
            Process started = process;
            Thread forward = new Thread(() -> {
                // SIGTERM/SIGINT to airlock: pass it on, then let the normal path clean up.
                if (started.isAlive()) {
                    started.destroy();
                }
            }, "airlock-signal");
            Runtime.getRuntime().addShutdownHook(forward);
            int code = process.waitFor();
            try {
                Runtime.getRuntime().removeShutdownHook(forward);
            } catch (IllegalStateException shuttingDown) {
                // the JVM is exiting: cleanup below still runs in this thread first
            }
            return code;
        } catch (IOException | SandboxException | RuntimeException e) {
            failed = true;
            throw e;
        } finally {
            if (process != null && process.isAlive()) {
                process.destroyForcibly();
            }
            List<AuditEvent> mine = List.of();
            if (session != null) {
                session.close();
                mine = session.events();
            }
            // A start that failed is reported by its error alone: "nothing was blocked" before it would only mislead.
            if (!failed || !mine.isEmpty()) {
                err.print(BlockedSummary.text(mine, project.file(), engine.classifier()));
            }
            if (eventsDir != null) {
                writeEvents(eventsDir, o.events().get(), mine);
            }
        }
    }

    /**
     * The command on a terminal of its own, joined to the caller's (raw while it runs, restored on
     * every way out). The caller's terminal itself never enters the sandbox.
     */
    private int onTerminal(SandboxSession session, Options o) throws IOException, InterruptedException, SandboxException {
        try (CallerTerminal caller = CallerTerminal.rawIfTerminal().orElseThrow(() -> new IOException("stdin is no longer a terminal"))) {
            TerminalCommand c = session.startWithTerminal(o.command(), o.env(), caller.size());
            Thread forward = new Thread(() -> {
                // SIGTERM/SIGHUP to airlock: end the command, then let the normal path clean up.
                if (c.process().isAlive()) {
                    c.process().destroy();
                }
            }, "airlock-signal");
            Runtime.getRuntime().addShutdownHook(forward);
            try {
                return TerminalRelay.run(c, caller, new java.io.FileInputStream(java.io.FileDescriptor.in),
                        new java.io.FileOutputStream(java.io.FileDescriptor.out));
            } finally {
                try {
                    Runtime.getRuntime().removeShutdownHook(forward);
                } catch (IllegalStateException shuttingDown) {
                    // the JVM is exiting: cleanup still runs in this thread first
                }
            }
        }
    }

    /**
     * What a cold run says about its workspace before the command starts (stderr lines): that the
     * policy lies inside it (and is read-only there), and that the sandbox user cannot write it,
     * with the fix. A daemon's run of a policy it does not pool says the same.
     */
    public static List<String> workspaceNotes(Path workspace, Path policy) {
        return workspaceNotes(workspace, policy, SandboxUser.current());
    }

    /** As {@link #workspaceNotes(Path, Path)}, for a sandbox that runs as {@code as} (the daemon's caller's sudo user). */
    public static List<String> workspaceNotes(Path workspace, Path policy, RunAs as) {
        return workspaceNotes(workspace, policy, as.sandboxUser());
    }

    private static List<String> workspaceNotes(Path workspace, Path policy, SandboxUser user) {
        List<String> notes = new ArrayList<>();
        try {
            if (WorkspaceProtection.inside(workspace.toRealPath(), policy).isPresent()) {
                notes.add("airlock: the policy " + policy + " is inside the workspace; it is read-only in the sandbox.");
            }
        } catch (IOException | SandboxException e) {
            // the launcher says what is wrong with the workspace, or refuses a policy reached through a link in it
        }
        WorkspaceAccess.problem(workspace, user).ifPresent(p -> notes.add("airlock: " + p));
        return notes;
    }

    /**
     * What stays read-only in the sandbox: the project's .git/hooks and .git/config (unless it opts
     * out, or this is a template's setup), and {@code policy}, {@code org}, {@code hosts} and the
     * project's {@code trust:} CA files when they lie in the workspace, so that the sandbox cannot
     * edit what the next run loads. A daemon's run of a policy it does not pool protects the same.
     */
    public static WorkspaceProtection protection(Path policy, Optional<Path> org, Optional<Path> hosts, ProjectPolicy project, Phase phase) {
        List<Path> files = new ArrayList<>();
        files.add(policy);
        org.ifPresent(files::add);
        hosts.ifPresent(files::add);
        // The project's trust: files too: a CA the sandbox planted there would be trusted by the next run.
        project.trust().forEach(ca -> files.add(Path.of(ca.file())));
        // A template's setup (Phase.SETUP) may write git's metadata (git submodule update --init): nobody
        // runs git on the host in a template tree; root only in the mirror, catch-up inside a sandbox.
        return new WorkspaceProtection(!project.writableGitConfig() && phase != Phase.SETUP, files);
    }

    private void writeEvents(LinkSafeFiles.Directory dir, Path file, List<AuditEvent> events) {
        ObjectMapper json = new ObjectMapper();
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (Writer w = new java.io.OutputStreamWriter(bytes, StandardCharsets.UTF_8)) {
            for (AuditEvent e : events) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("event", e.event().code);
                m.put("sandbox", e.sandbox());
                m.put("project", e.project());
                m.put("via", e.via().code);
                m.put("client", e.client());
                m.put("name", e.name());
                m.put("port", e.port());
                m.put("addresses", new ArrayList<>(e.addresses()));
                m.put("decision", e.decision().code);
                m.put("rule", e.rule());
                m.put("reason", e.reason().code);
                m.put("bytesUp", e.bytesUp());
                m.put("bytesDown", e.bytesDown());
                m.put("durationMs", e.durationMs());
                w.write(json.writeValueAsString(m));
                w.write('\n');
            }
        } catch (IOException e) {
            err.println("airlock: could not write --events " + file + ": " + e.getMessage());
            return;
        }
        try (dir) {
            dir.replace(file.getFileName().toString(), bytes.toByteArray());
        } catch (IOException e) {
            err.println("airlock: could not write --events " + file + ": " + e.getMessage());
        }
    }
}
