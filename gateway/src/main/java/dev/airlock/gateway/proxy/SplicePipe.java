package dev.airlock.gateway.proxy;

import io.netty.channel.epoll.Native;
import io.netty.channel.unix.FileDescriptor;
import java.io.IOException;

/**
 * The kernel pipe one direction of a {@link SpliceRelay} moves bytes through: socket → pipe →
 * socket, never through the JVM. It counts the bytes it holds, because a full pipe and an empty
 * socket both make splice(2) return "nothing now".
 */
final class SplicePipe implements AutoCloseable {

    /** A Linux pipe's default capacity (16 pages); what a pipe keeps when a resize is refused. */
    static final int DEFAULT_CAPACITY = 64 * 1024;

    private final FileDescriptor readEnd;
    private final FileDescriptor writeEnd;
    private final int capacity;
    private int held;

    private SplicePipe(FileDescriptor[] ends, int capacity) {
        this.readEnd = ends[0];
        this.writeEnd = ends[1];
        this.capacity = capacity;
    }

    /**
     * Opens a pipe and asks {@code sizing} for {@code wanted} bytes of capacity. A refusal is no
     * error: the pipe keeps the kernel's default and the relay moves less per call.
     */
    static SplicePipe open(PipeSizing sizing, int wanted) throws IOException {
        FileDescriptor[] ends = FileDescriptor.pipe();
        int capacity = DEFAULT_CAPACITY;
        if (wanted > DEFAULT_CAPACITY) {
            try {
                capacity = sizing.resize(ends[1].intValue(), wanted);
            } catch (IOException e) {
                capacity = DEFAULT_CAPACITY;
            }
        }
        return new SplicePipe(ends, capacity);
    }

    /** Bytes this pipe holds at most: splice moves at most this much per call. */
    int capacity() {
        return capacity;
    }

    /** Bytes taken from a socket that have not reached the other socket yet. */
    int held() {
        return held;
    }

    /**
     * Moves what the socket has into the pipe. Zero means the socket has nothing now or is at its
     * end; only the caller knows which (it has seen the FIN or not). Call only on an empty pipe:
     * a full pipe would also answer zero.
     */
    int fill(FileDescriptor socket) throws IOException {
        int n = Native.splice(socket.intValue(), -1, writeEnd.intValue(), -1, capacity);
        held += n;
        return n;
    }

    /** Moves held bytes into the socket; zero when its send buffer is full. */
    int drain(FileDescriptor socket) throws IOException {
        int n = Native.splice(readEnd.intValue(), -1, socket.intValue(), -1, held);
        held -= n;
        return n;
    }

    boolean isOpen() {
        return readEnd.isOpen() || writeEnd.isOpen();
    }

    @Override
    public void close() {
        closeQuietly(readEnd);
        closeQuietly(writeEnd);
    }

    private static void closeQuietly(FileDescriptor fd) {
        try {
            fd.close();
        } catch (IOException e) {
            // Closing a pipe end fails only when it is already closed: nothing is left to free.
        }
    }
}
