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

    /** A Linux pipe's default capacity (16 pages); splice moves at most this much per call. */
    static final int CAPACITY = 64 * 1024;

    private final FileDescriptor readEnd;
    private final FileDescriptor writeEnd;
    private int held;

    private SplicePipe(FileDescriptor[] ends) {
        this.readEnd = ends[0];
        this.writeEnd = ends[1];
    }

    static SplicePipe open() throws IOException {
        return new SplicePipe(FileDescriptor.pipe());
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
        int n = Native.splice(socket.intValue(), -1, writeEnd.intValue(), -1, CAPACITY);
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
