package dev.airlock.k8s;

import io.fabric8.kubernetes.client.dsl.ExecWatch;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Optional;
import java.util.concurrent.ExecutionException;

/**
 * A command running in a pod through {@code pods/exec} ({@link PodExec#start}): its stdin, its
 * output streams, its terminal size, and its exit code from the exec's status channel (channel 3:
 * {@code Success}, or {@code Failure} with reason {@code NonZeroExitCode} and an {@code ExitCode}
 * cause).
 *
 * <p>The end of stdin cannot reach the command: {@code v4.channel.k8s.io}, the WebSocket exec
 * protocol of API servers before 1.30 and the one fabric8 8.0 speaks, has no half-close
 * ({@code v5.channel.k8s.io} added a close signal). A command that reads its input to the end
 * waits until it is cancelled; closing this ends the exec.
 */
public final class PodCommand implements AutoCloseable {

    /** What a command that ended without an exit status gets (the exec failed, or the stream broke). */
    public static final int NO_STATUS = 126;

    private final ExecWatch watch;
    private final boolean terminal;
    private final String pod;

    PodCommand(ExecWatch watch, boolean terminal, String pod) {
        this.watch = watch;
        this.terminal = terminal;
        this.pod = pod;
    }

    /** Bytes for the command's stdin (or its terminal's input); discarded when it was started without input. */
    public OutputStream stdin() {
        OutputStream in = watch.getInput();
        return in == null ? OutputStream.nullOutputStream() : in;
    }

    /** The command's stdout, or its terminal's one output. */
    public InputStream stdout() {
        return watch.getOutput();
    }

    /** Its stderr; empty on a terminal, where both go to {@link #stdout()}. */
    public Optional<InputStream> stderr() {
        return terminal ? Optional.empty() : Optional.of(watch.getError());
    }

    public boolean terminal() {
        return terminal;
    }

    /** The client's window has this size now (channel 4). */
    public void resize(PodExec.Window w) {
        if (terminal) {
            watch.resize(w.cols(), w.rows());
        }
    }

    /**
     * Waits for the command's end: its exit code, or {@link #NO_STATUS} with why when the exec
     * ended without one (the status channel said Failure without an exit code, or nothing).
     */
    public Exit waitFor() throws InterruptedException {
        try {
            Integer code = watch.exitCode().get();
            if (code == null || code < 0) {
                return new Exit(NO_STATUS, Optional.of("the exec in pod " + pod + " ended without an exit status (the kubelet or runtime could not"
                        + " run the command, or the stream broke)"));
            }
            return new Exit(code, Optional.empty());
        } catch (ExecutionException e) {
            return new Exit(NO_STATUS, Optional.of("the exec in pod " + pod + " failed: " + e.getCause()));
        }
    }

    /** How the command ended: its code, and a reason when that code is Airlock's, not the command's. */
    public record Exit(int code, Optional<String> problem) {
    }

    /** Ends the exec (closes the WebSocket); the kubelet ends the command's stream. */
    @Override
    public void close() {
        watch.close();
    }
}
