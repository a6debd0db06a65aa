package dev.airlock.gateway.proxy;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import java.io.IOException;
import java.util.Optional;

/**
 * Resizes a pipe ({@code fcntl(F_SETPIPE_SZ)}): the kernel operation behind {@link SplicePipe}'s
 * capacity, injected so that tests can refuse it. A pipe holds 16 pages by default, and splice(2)
 * moves at most one pipe's worth per call, in slots that a TCP socket often fills only partly;
 * a larger pipe moves more per call and per wake-up.
 */
@FunctionalInterface
interface PipeSizing {

    /**
     * Asks for a pipe of {@code bytes} on the pipe whose end is {@code fd}.
     *
     * @return the capacity the kernel granted (it rounds up to a power of two pages)
     * @throws IOException when the kernel refuses (over {@code /proc/sys/fs/pipe-max-size} or the
     *     user's pipe budget, {@code pipe-user-pages-soft}), or the call is not available
     */
    int resize(int fd, int bytes) throws IOException;

    /** Why this sizing can never resize, known before any pipe is opened; empty when it may. */
    default Optional<String> unavailable() {
        return Optional.empty();
    }

    /** The kernel's answer through libc. */
    static PipeSizing kernel() {
        return Fcntl.SIZING;
    }

    /** Never resizes: every pipe keeps the kernel's default. */
    static PipeSizing none() {
        return new Unavailable("pipe resizing is off");
    }

    /** libc's fcntl through JNA, loaded on first use; a missing library refuses every resize. */
    final class Fcntl {
        /** F_LINUX_SPECIFIC_BASE + 7, from linux/fcntl.h. */
        static final int F_SETPIPE_SZ = 1031;

        interface LibC extends Library {
            int fcntl(int fd, int cmd, int arg) throws LastErrorException;
        }

        static final PipeSizing SIZING = sizing();

        private Fcntl() {
        }

        private static PipeSizing sizing() {
            LibC libc;
            try {
                libc = Native.load("c", LibC.class);
            } catch (LinkageError | RuntimeException e) {
                return new Unavailable("libc's fcntl is not available through JNA (" + e.getMessage() + ")");
            }
            return (fd, bytes) -> {
                try {
                    return libc.fcntl(fd, F_SETPIPE_SZ, bytes);
                } catch (LastErrorException e) {
                    throw new IOException("fcntl(F_SETPIPE_SZ, " + bytes + ") refused: errno " + e.getErrorCode(), e);
                }
            };
        }
    }

    /** A sizing that refuses every resize, for the reason it gives before any pipe is opened. */
    record Unavailable(String why) implements PipeSizing {
        @Override
        public int resize(int fd, int bytes) throws IOException {
            throw new IOException(why);
        }

        @Override
        public Optional<String> unavailable() {
            return Optional.of(why);
        }
    }
}
