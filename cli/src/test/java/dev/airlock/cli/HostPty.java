package dev.airlock.cli;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A pseudo-terminal on the host that a test drives as a user at a terminal would: it types on the
 * master, reads what the terminal shows, and resizes the window (the kernel then sends SIGWINCH to
 * the terminal's foreground process group). The program under test gets the terminal side by
 * path ({@link #terminalPath()}), as its stdin, stdout, stderr and controlling terminal.
 */
final class HostPty implements AutoCloseable {

    interface C extends Library {
        int open(String path, int flags) throws LastErrorException;

        int ioctl(int fd, long request, int[] arg) throws LastErrorException;

        int ioctl(int fd, long request, short[] arg) throws LastErrorException;

        long read(int fd, byte[] buf, long count) throws LastErrorException;

        long write(int fd, byte[] buf, long count) throws LastErrorException;

        int close(int fd) throws LastErrorException;
    }

    private static final C LIBC = Native.load("c", C.class);
    private static final int O_RDWR = 02;
    private static final int O_NOCTTY = 0400;
    private static final int O_NONBLOCK = 04000;
    private static final int O_CLOEXEC = 02000000;
    private static final long TIOCGPTN = 0x80045430L;
    private static final long TIOCSPTLCK = 0x40045431L;
    private static final long TIOCSWINSZ = 0x5414;

    private final int master;
    private final String path;
    private final ByteArrayOutputStream shown = new ByteArrayOutputStream();
    private final Thread reader;
    private volatile boolean closed;

    private HostPty(int master, String path) {
        this.master = master;
        this.path = path;
        this.reader = Thread.ofPlatform().daemon().name("host-pty-reader").start(this::readAll);
    }

    static HostPty open(int rows, int cols) {
        int m = LIBC.open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        LIBC.ioctl(m, TIOCSPTLCK, new int[] {0});
        int[] n = new int[1];
        LIBC.ioctl(m, TIOCGPTN, n);
        LIBC.ioctl(m, TIOCSWINSZ, new short[] {(short) rows, (short) cols, 0, 0});
        return new HostPty(m, "/dev/pts/" + n[0]);
    }

    /** The terminal side, for the program under test. */
    String terminalPath() {
        return path;
    }

    java.io.File terminal() {
        return new java.io.File(path);
    }

    void type(String keys) {
        byte[] b = keys.getBytes(StandardCharsets.UTF_8);
        LIBC.write(master, b, b.length);
    }

    void resize(int rows, int cols) {
        LIBC.ioctl(master, TIOCSWINSZ, new short[] {(short) rows, (short) cols, 0, 0});
    }

    /** Everything the terminal has shown so far. */
    String shown() {
        synchronized (shown) {
            return shown.toString(StandardCharsets.UTF_8);
        }
    }

    int shownLength() {
        return shown().length();
    }

    /**
     * The first match of {@code regex} in what was shown after {@code from}; fails with everything
     * shown when none comes within {@code deadline} (a deadline for a hung run, not a timing claim).
     */
    Matcher await(int from, String regex, Duration deadline) throws InterruptedException {
        Pattern p = Pattern.compile(regex);
        long end = System.nanoTime() + deadline.toNanos();
        while (true) {
            String all = shown();
            Matcher m = p.matcher(all.substring(Math.min(from, all.length())));
            if (m.find()) {
                return m;
            }
            if (System.nanoTime() > end) {
                throw new AssertionError("the terminal never showed /" + regex + "/; it showed:\n" + all);
            }
            Thread.sleep(20);
        }
    }

    /**
     * What waits in the terminal's input queue (what the user's shell would read next), read from
     * the terminal side without blocking.
     */
    String pendingInput() {
        int fd = LIBC.open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        try {
            byte[] buf = new byte[4096];
            while (true) {
                long n;
                try {
                    n = LIBC.read(fd, buf, buf.length);
                } catch (LastErrorException e) {
                    break; // EAGAIN: nothing more
                }
                if (n <= 0) {
                    break;
                }
                got.write(buf, 0, (int) n);
            }
        } finally {
            LIBC.close(fd);
        }
        return got.toString(StandardCharsets.UTF_8);
    }

    private void readAll() {
        byte[] buf = new byte[8192];
        while (!closed) {
            long n;
            try {
                n = LIBC.read(master, buf, buf.length);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == 5) { // EIO: nobody holds the terminal side now; it may be opened again
                    try {
                        Thread.sleep(20);
                    } catch (InterruptedException ie) {
                        return;
                    }
                    continue;
                }
                return;
            }
            if (n <= 0) {
                return;
            }
            synchronized (shown) {
                shown.write(buf, 0, (int) n);
            }
        }
    }

    /**
     * Closes the master once the reader has stopped, so that its descriptor number (perhaps reused
     * by the next test's pty) is never read after it was closed; a reader still blocked (a process
     * holds the terminal side) leaves the descriptor open.
     */
    @Override
    public void close() throws InterruptedException {
        closed = true;
        reader.join(2_000);
        if (!reader.isAlive()) {
            LIBC.close(master);
        }
    }
}
