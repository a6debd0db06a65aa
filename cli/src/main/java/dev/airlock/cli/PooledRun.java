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

/** {@code airlock run} through the daemon's warm pool, when one runs and pools the project. */
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
        return attempt(policy, command, env, err, true);
    }

    /** The command's exit code, or empty when no daemon pools this project (the caller runs it here). */
    static Optional<Integer> attempt(Path policy, List<String> command, Map<String, String> env, PrintStream err) {
        return attempt(policy, command, env, err, false);
    }

    /** {@code quiet}: say nothing when falling back (the regular path that follows says it once). */
    private static Optional<Integer> attempt(Path policy, List<String> command, Map<String, String> env, PrintStream err, boolean quiet) {
        Optional<DaemonClient> daemon = DaemonClient.ifRunning(DaemonSocket.path());
        if (daemon.isEmpty()) {
            return Optional.empty();
        }
        return attempt(daemon, policy, command, env, err, quiet);
    }

    /** With a daemon at hand (the class-cache training calls this with a stand-in). */
    static Optional<Integer> attempt(Optional<DaemonClient> daemon, Path policy, List<String> command, Map<String, String> env,
            PrintStream err, boolean quiet) {
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
            // pooled run starts sooner. A policy the daemon does not pool runs here instead.
            Path file = policy.toAbsolutePath().normalize();
            FileOutputStream stdout = new FileOutputStream(FileDescriptor.out);
            FileOutputStream stderr = new FileOutputStream(FileDescriptor.err);
            Optional<DaemonClient.Tty> tty = terminal.map(t -> new DaemonClient.Tty(t.size(), t::onResize));
            Optional<JsonNode> result = daemon.get().runPolicy(file, command, env, tty, new FileInputStream(FileDescriptor.in), stdout, stderr,
                    start -> err.print("airlock: sandbox " + start.path("sandbox").asText() + " from the daemon's pool ("
                            + (start.path("warm").asBoolean() ? "warm" : "cold") + ", claimed in "
                            + Math.round(start.path("claimMs").asDouble() * 10) / 10.0 + " ms"
                            + (start.has("behind") ? "; workspace " + (start.path("behindAtStart").asInt() == 0 ? "at HEAD" : start.path("behindAtStart").asInt()
                                    + " commit(s) behind HEAD") + (start.path("behind").asInt() > 0 ? ", caught up " + start.path("behind").asInt()
                                    + " commit(s)" : "") : "") + ")" + eol));
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
