package dev.airlock.cli;

import com.fasterxml.jackson.databind.JsonNode;
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

    /** The command's exit code, or empty when no daemon pools this project (the caller runs it here). */
    static Optional<Integer> attempt(Path policy, List<String> command, Map<String, String> env, PrintStream err) {
        Optional<DaemonClient> daemon = DaemonClient.ifRunning(DaemonSocket.path());
        if (daemon.isEmpty()) {
            return Optional.empty();
        }
        try {
            // The daemon knows its projects by their policy files: no policy is parsed here, so a
            // pooled run starts sooner. A policy the daemon does not pool runs here instead.
            Path file = policy.toAbsolutePath().normalize();
            FileOutputStream stdout = new FileOutputStream(FileDescriptor.out);
            FileOutputStream stderr = new FileOutputStream(FileDescriptor.err);
            Optional<JsonNode> result = daemon.get().runPolicy(file, command, env, new FileInputStream(FileDescriptor.in), stdout, stderr,
                    start -> err.println("airlock: sandbox " + start.path("sandbox").asText() + " from the daemon's pool ("
                            + (start.path("warm").asBoolean() ? "warm" : "cold") + ", claimed in "
                            + String.format(java.util.Locale.ROOT, "%.1f ms", start.path("claimMs").asDouble())
                            + (start.has("behind") ? "; workspace " + (start.path("behindAtStart").asInt() == 0 ? "at HEAD" : start.path("behindAtStart").asInt()
                                    + " commit(s) behind HEAD") + (start.path("behind").asInt() > 0 ? ", caught up " + start.path("behind").asInt()
                                    + " commit(s)" : "") : "") + ")"));
            if (result.isEmpty()) {
                err.println("airlock: the daemon does not pool " + file + "; running in a fresh sandbox here");
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
        }
    }
}
