package dev.airlock.k8s;

import io.fabric8.kubernetes.client.dsl.ExecWatch;
import java.io.IOException;
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
 * <p>{@code v4.channel.k8s.io}, the WebSocket exec protocol of API servers before 1.30 and the
 * one fabric8 8.0 speaks, has no half-close ({@code v5.channel.k8s.io} added a close signal). So a
 * piped command runs under the pod's stdin relay ({@link PodExec#RELAY}): {@link #stdin()} frames
 * the bytes for it and {@link #endInput()} sends the end, on which the command reads end-of-file.
 * On a terminal the input is the keys (^D is one of them); closing this ends the exec.
 */
public final class PodCommand implements AutoCloseable {

    /** What a command that ended without an exit status gets (the exec failed, or the stream broke). */
    public static final int NO_STATUS = 126;

    /** Why a relayed exec may not start: a pod made without the relay's init container. */
    static final String RELAY_HINT = "; if the pod has no " + PodExec.RELAY + " (a pod made before Airlock added its init container, or"
            + " a kubernetes.image without /usr/lib/airlock/airlock-exec), kubectl describe pod shows it. Fix: delete the pod (the pool"
            + " makes a new one) or set kubernetes.image (or gatewayImage) to an image built by scripts/build-oci-image.sh of this release";

    private final ExecWatch watch;
    private final boolean terminal;
    private final String pod;
    /** The relay's framing of a piped command's input; null on a terminal or without input. */
    private final FramedStdin framed;

    PodCommand(ExecWatch watch, boolean terminal, boolean relayed, String pod) {
        this.watch = watch;
        this.terminal = terminal;
        this.pod = pod;
        this.framed = relayed && watch.getInput() != null ? new FramedStdin(watch.getInput()) : null;
    }

    /** Bytes for the command's stdin (or its terminal's input); discarded when it was started without input. */
    public OutputStream stdin() {
        if (framed != null) {
            return framed;
        }
        OutputStream in = watch.getInput();
        return in == null ? OutputStream.nullOutputStream() : in;
    }

    /**
     * The input has ended: a piped command reads end-of-file once it has read what came before
     * (the relay's end frame). Nothing on a terminal, where ^D is the end, or without input.
     */
    public void endInput() throws IOException {
        if (framed != null) {
            framed.end();
        }
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
                        + " run the command, or the stream broke)" + (framed == null ? "" : RELAY_HINT)));
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
