package dev.airlock.k8s;

import java.io.IOException;
import java.io.OutputStream;

/**
 * A piped command's input as {@code airlock-exec} in the pod reads it (packaging/exec): each write
 * becomes frames of a 4-byte big-endian length and at most {@link #MAX_FRAME} bytes, and
 * {@link #end()} sends the frame of length 0, on which the relay closes the command's stdin. This
 * is how the end of input reaches a command over {@code v4.channel.k8s.io}, which has no
 * half-close of its own. Not thread-safe: one writer (the stream's work thread) at a time.
 */
final class FramedStdin extends OutputStream {

    /** The largest payload per frame; the relay refuses lengths over 1 MiB as garbage. */
    static final int MAX_FRAME = 64 * 1024;

    private final OutputStream exec;
    private boolean ended;

    FramedStdin(OutputStream exec) {
        this.exec = exec;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        if (ended) {
            throw new IOException("the command's input has ended");
        }
        while (len > 0) {
            int n = Math.min(len, MAX_FRAME);
            byte[] frame = new byte[4 + n];
            header(frame, n);
            System.arraycopy(b, off, frame, 4, n);
            exec.write(frame); // one message per frame: header and payload travel together
            off += n;
            len -= n;
        }
    }

    @Override
    public void flush() throws IOException {
        exec.flush();
    }

    /** Sends the end frame once: the command reads end-of-file after what was written. */
    void end() throws IOException {
        if (ended) {
            return;
        }
        ended = true;
        byte[] frame = new byte[4];
        exec.write(frame);
        exec.flush();
    }

    private static void header(byte[] frame, int n) {
        frame[0] = (byte) (n >>> 24);
        frame[1] = (byte) (n >>> 16);
        frame[2] = (byte) (n >>> 8);
        frame[3] = (byte) n;
    }
}
