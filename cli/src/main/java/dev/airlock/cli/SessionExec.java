package dev.airlock.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.airlock.runtime.CallerEnvironment;
import dev.airlock.runtime.CallerTerminal;
import dev.airlock.server.DaemonClient;
import dev.airlock.server.DaemonException;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A command in a claimed session, its stdio streamed through the daemon, its exit status returned
 * ({@code sandbox exec} and {@code sandbox attach}). The one place the session commands call the
 * daemon's exec, with a terminal for interactive use.
 */
final class SessionExec {

    private SessionExec() {
    }

    /**
     * Runs {@code command} in {@code sandbox}. {@code interactive}: this process's stdin goes up,
     * else the command reads end-of-file. {@code tty}: when stdin is a terminal too, the command
     * gets a terminal of its own in the sandbox and this one goes raw meanwhile (docker's
     * {@code exec -it}). The caller's terminal variables (TERM, LANG, ...) go with it, under the
     * explicit {@code env}.
     */
    static int run(DaemonClient daemon, String sandbox, List<String> command, Map<String, String> env, boolean interactive, boolean tty,
            PrintWriter err) {
        Optional<CallerTerminal> terminal = Optional.empty();
        try {
            if (interactive && tty) {
                terminal = CallerTerminal.rawIfTerminal();
            }
            Map<String, String> vars = new LinkedHashMap<>(CallerEnvironment.select(System.getenv(), List.of(), List.of()));
            vars.putAll(env);
            InputStream stdin = interactive ? new FileInputStream(FileDescriptor.in) : InputStream.nullInputStream();
            Optional<DaemonClient.Tty> size = terminal.map(t -> new DaemonClient.Tty(t.size(), t::onResize));
            JsonNode last = daemon.exec(sandbox, command, vars, size, stdin, new FileOutputStream(FileDescriptor.out),
                    new FileOutputStream(FileDescriptor.err));
            return last.path("exit").asInt(ExitCodes.AIRLOCK_ERROR);
        } catch (CallerEnvironment.BadOption e) {
            err.println("airlock: " + e.getMessage());
            return ExitCodes.AIRLOCK_ERROR;
        } catch (DaemonException e) {
            err.println("airlock: " + e.getMessage());
            return ExitCodes.AIRLOCK_ERROR;
        } catch (IOException e) {
            err.println("airlock: the daemon failed: " + e.getMessage() + ". Fix: see its log; `airlock sandbox list` shows whether the session lives.");
            return ExitCodes.AIRLOCK_ERROR;
        } finally {
            terminal.ifPresent(CallerTerminal::close); // on every way out (and its shutdown hook on SIGTERM/SIGHUP)
        }
    }

    /** {@code K=V} options as a map, or empty with the error printed. */
    static java.util.Optional<Map<String, String>> env(List<String> pairs, PrintWriter err) {
        Map<String, String> vars = new java.util.LinkedHashMap<>();
        for (String kv : pairs) {
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                err.println("airlock: --env " + kv + ": write NAME=VALUE");
                return java.util.Optional.empty();
            }
            vars.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        return java.util.Optional.of(vars);
    }
}
