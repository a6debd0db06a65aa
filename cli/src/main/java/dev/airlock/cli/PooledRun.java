package dev.airlock.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.airlock.policy.load.PolicyException;
import dev.airlock.runtime.CallerEnvironment;
import dev.airlock.runtime.CallerTerminal;
import dev.airlock.runtime.PolicyEnvNames;
import dev.airlock.runtime.SandboxRun;
import dev.airlock.server.DaemonClient;
import dev.airlock.server.DaemonException;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code airlock run} through the daemon: from its warm pool when it pools the project, else (a
 * daemon that can) in a sandbox it prepares for this run in the caller's directory.
 */
final class PooledRun {

    private PooledRun() {
    }

    /**
     * {@code airlock run} straight to the daemon, before picocli is even loaded (its classes, built
     * for old JVMs, cannot come from the class cache, and building its model is most of a pooled
     * run's start). Only the plain form is taken: {@code [--policy F] [--env NAME[=VALUE]]... -- CMD...} with
     * a daemon socket present. Anything else (another option, {@code --opt=value}, help, a missing
     * {@code --}) returns empty and goes through picocli as usual, so the two can never disagree
     * on what a command line means; nor does this path run anything when the daemon does not pool
     * the project (empty again: the caller's regular path decides).
     */
    static Optional<Integer> fastPath(String[] args) {
        Path policy = Path.of("airlock.yaml");
        List<String> envOptions = new java.util.ArrayList<>();
        int i = 0;
        for (; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--")) {
                break;
            }
            if (i + 1 >= args.length) {
                return Optional.empty();
            }
            if (a.equals("--policy")) {
                policy = Path.of(args[++i]);
            } else if (a.equals("--env")) {
                envOptions.add(args[++i]);
            } else {
                return Optional.empty();
            }
        }
        if (i >= args.length - 1 || !java.nio.file.Files.exists(DaemonSocket.path())) {
            return Optional.empty();
        }
        List<String> command = List.of(java.util.Arrays.copyOfRange(args, i + 1, args.length));
        Map<String, String> env;
        try {
            env = CallerEnvironment.select(System.getenv(), PolicyEnvNames.of(policy), envOptions);
        } catch (CallerEnvironment.BadOption | PolicyException e) {
            return Optional.empty(); // the regular path says what is wrong
        }
        PrintStream err = new PrintStream(new java.io.FileOutputStream(FileDescriptor.err), true, java.nio.charset.StandardCharsets.UTF_8);
        return attempt(policy, Optional.of(new DaemonClient.ColdWorkspace(Path.of("").toAbsolutePath(), false,
                dev.airlock.runtime.RunAs.sudoCaller(System.getenv()))), command, env, err, true);
    }

    /**
     * The command's exit code, or empty when no daemon pools this project (the caller runs it here,
     * as {@code instead} describes, and this says so when the caller evidently expected a daemon).
     */
    static Optional<Integer> attempt(Path policy, Optional<DaemonClient.ColdWorkspace> cold, List<String> command, Map<String, String> env,
            PrintStream err, String instead) {
        Path socket = DaemonSocket.path();
        Optional<DaemonClient> daemon = DaemonClient.ifRunning(socket);
        if (daemon.isEmpty()) {
            noDaemonNote(socket, System.getenv(), java.nio.file.Files.exists(socket), instead).ifPresent(err::println);
            return Optional.empty();
        }
        return attempt(daemon, policy, cold, command, env, err, false);
    }

    /**
     * Said when no daemon answers where the caller pointed ({@code AIRLOCK_STATE} or
     * {@code AIRLOCK_DAEMON_SOCKET} set) or where a socket is left: the run that follows is a cold
     * one with this command line's policy files and resolver, not the daemon's hosts map and
     * organisation policy. Nothing when no daemon was ever expected.
     */
    static Optional<String> noDaemonNote(Path socket, Map<String, String> environment, boolean socketExists, String instead) {
        String where;
        if (!blank(environment.get("AIRLOCK_DAEMON_SOCKET"))) {
            where = "AIRLOCK_DAEMON_SOCKET=" + environment.get("AIRLOCK_DAEMON_SOCKET");
        } else if (!blank(environment.get("AIRLOCK_STATE"))) {
            where = "AIRLOCK_STATE=" + environment.get("AIRLOCK_STATE");
        } else if (socketExists) {
            where = "a socket left by a daemon that no longer runs";
        } else {
            return Optional.empty();
        }
        return Optional.of("airlock: no daemon answers at " + socket + " (" + where + "); running in a fresh sandbox here instead: "
                + instead + ", not a daemon's. Fix: set AIRLOCK_STATE to the running daemon's state directory, or start one there"
                + " (as root: airlock daemon --config FILE).");
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }

    /** {@code quiet}: say nothing when falling back (the regular path that follows says it once). */
    private static Optional<Integer> attempt(Path policy, Optional<DaemonClient.ColdWorkspace> cold, List<String> command,
            Map<String, String> env, PrintStream err, boolean quiet) {
        Optional<DaemonClient> daemon = DaemonClient.ifRunning(DaemonSocket.path());
        if (daemon.isEmpty()) {
            return Optional.empty();
        }
        return attempt(daemon, policy, cold, command, env, err, quiet);
    }

    /**
     * What the caller is told when the pooled command starts: which sandbox, warm or cold, and
     * where it works, which is never {@code callerDir}: the project's template at a named commit, or
     * (no {@code workspace:} in the policy) an empty directory of the sandbox's own.
     */
    static String startLine(JsonNode start, Path callerDir) {
        StringBuilder b = new StringBuilder("airlock: sandbox ").append(start.path("sandbox").asText()).append(" from the daemon's pool (")
                .append(start.path("warm").asBoolean() ? "warm" : "cold").append(", claimed in ")
                .append(Math.round(start.path("claimMs").asDouble() * 10) / 10.0).append(" ms");
        if (start.has("template")) {
            String commit = start.path("template").asText();
            b.append("; /workspace is the project at ").append(start.path("ref").asText("its branch")).append(' ')
                    .append(commit, 0, Math.min(12, commit.length()));
            if (start.has("behind")) {
                int atStart = start.path("behindAtStart").asInt();
                int caughtUp = start.path("behind").asInt();
                b.append(atStart == 0 ? ", at HEAD" : ", " + atStart + " commit(s) behind HEAD")
                        .append(caughtUp > 0 ? ", caught up " + caughtUp + " commit(s)" : "");
            }
            b.append(", not ").append(callerDir).append(')');
        } else if (start.path("workspace").asText().equals("empty")) {
            b.append("; /workspace is an empty directory of its own, not ").append(callerDir)
                    .append(": the policy has no workspace:. To work in this directory: airlock run --no-daemon; to pool the project at HEAD:")
                    .append(" give the policy a workspace: source)");
        } else {
            b.append(')');
        }
        return b.toString();
    }

    /**
     * With a daemon at hand (the class-cache training calls this with a stand-in). With {@code cold},
     * a policy the daemon does not pool runs there too, in that directory, as a cold run would.
     */
    static Optional<Integer> attempt(Optional<DaemonClient> daemon, Path policy, Optional<DaemonClient.ColdWorkspace> cold, List<String> command,
            Map<String, String> env, PrintStream err, boolean quiet) {
        Optional<CallerTerminal> terminal;
        try {
            // With a terminal on stdin the command gets one of its own in the sandbox; this one goes raw meanwhile.
            terminal = CallerTerminal.rawIfTerminal();
        } catch (IOException e) {
            err.println("airlock: cannot set up the terminal: " + e.getMessage() + ". Fix: run with stdin redirected, or check `stty -a`.");
            return Optional.of(SandboxRun.AIRLOCK_ERROR);
        }
        // raw output: a line needs its carriage return
        String eol = terminal.isPresent() ? "\r\n" : System.lineSeparator();
        try {
            // The daemon knows its projects by their policy files: no policy is parsed here, so a
            // pooled run starts sooner. A policy the daemon does not pool runs there cold, or here
            // when the daemon cannot (an older one) or this run asked for what only its own can have.
            Path file = policy.toAbsolutePath().normalize();
            FileOutputStream stdout = new FileOutputStream(FileDescriptor.out);
            FileOutputStream stderr = new FileOutputStream(FileDescriptor.err);
            Optional<DaemonClient.Tty> tty = terminal.map(t -> new DaemonClient.Tty(t.size(), t::onResize));
            // A run of a policy the daemon does not pool says nothing at its start, as a cold run here would not.
            Optional<JsonNode> result = daemon.get().runPolicy(file, cold, command, env, tty, new FileInputStream(FileDescriptor.in), stdout,
                    stderr, start -> {
                        if (!start.path("cold").asBoolean()) {
                            err.print(startLine(start, Path.of("").toAbsolutePath()) + eol);
                        }
                    });
            terminal.ifPresent(CallerTerminal::close);
            if (result.isEmpty()) {
                if (!quiet) {
                    err.println("airlock: the daemon does not pool " + file + "; running in a fresh sandbox here");
                }
                return Optional.empty();
            }
            JsonNode last = result.get();
            err.print(last.path("summary").asText(""));
            return Optional.of(last.path("exit").asInt(SandboxRun.AIRLOCK_ERROR));
        } catch (DaemonException e) {
            err.println("airlock: " + e.getMessage());
            return Optional.of(SandboxRun.AIRLOCK_ERROR);
        } catch (IOException e) {
            err.println("airlock: the daemon failed: " + e.getMessage() + ". Fix: see its log, or run with --no-daemon.");
            return Optional.of(SandboxRun.AIRLOCK_ERROR);
        } finally {
            terminal.ifPresent(CallerTerminal::close); // on every way out (and its shutdown hook on SIGTERM/SIGHUP)
        }
    }
}
