package dev.airlock.sandbox;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A pseudo-terminal made in a sandbox's own devpts, for a command that needs a terminal.
 *
 * <p>Design: root opens the {@code ptmx} of the devpts instance that bubblewrap mounted for the
 * sandbox ({@code /proc/PID/root/dev/pts/ptmx}, PID a process inside), so the terminal is one the
 * sandbox can name: {@code tty} prints {@code /dev/pts/N} and that device exists there. The
 * terminal side (the "slave") is opened with {@code TIOCGPTPEER} from the master itself, not by
 * path (no race with what the path names), and handed to the sandbox user. The caller's own
 * terminal never enters the sandbox: what the sandbox can do with TIOCSTI it does to this pty,
 * i.e. to its own input. Every descriptor here is opened with {@code O_NOCTTY}, so a daemon that
 * happens to be a session leader never acquires the pty as its controlling terminal.
 *
 * <p>Native calls go through JNA (open, ioctl, read, write, close, fchown): Java's own I/O cannot
 * open a pty, set its size or ask its number. The master is read and written by platform threads
 * (a blocking native call pins a virtual thread's carrier).
 */
public final class Pty implements AutoCloseable {

    /** The libc calls this class makes; errno comes back as {@link LastErrorException}. */
    interface LibC extends Library {
        int open(String path, int flags) throws LastErrorException;

        int ioctl(int fd, long request, int[] arg) throws LastErrorException;

        int ioctl(int fd, long request, short[] arg) throws LastErrorException;

        int ioctl(int fd, long request, long arg) throws LastErrorException;

        long read(int fd, byte[] buf, long count) throws LastErrorException;

        long write(int fd, byte[] buf, long count) throws LastErrorException;

        int fchown(int fd, int uid, int gid) throws LastErrorException;

        int close(int fd) throws LastErrorException;
    }

    // Linux's generic values (x86-64, arm64): fcntl.h and asm-generic/ioctls.h.
    static final int O_RDWR = 02;
    static final int O_NOCTTY = 0400;
    static final int O_NOFOLLOW = 0400000;
    static final int O_CLOEXEC = 02000000;
    static final long TIOCSWINSZ = 0x5414;
    static final long TIOCGWINSZ = 0x5413;
    static final long TIOCGPTN = 0x80045430L;
    static final long TIOCSPTLCK = 0x40045431L;
    /** Linux 4.13+: opens the peer of a master without a path lookup. */
    static final long TIOCGPTPEER = 0x5441;
    static final int EINTR = 4;
    /** What reading a master returns once no process holds its terminal side any more. */
    static final int EIO = 5;

    private static volatile LibC libc;

    static LibC libc() {
        LibC l = libc;
        if (l == null) {
            synchronized (Pty.class) {
                if (libc == null) {
                    libc = Native.load("c", LibC.class);
                }
                l = libc;
            }
        }
        return l;
    }

    private final int master;
    private int slave;
    private final int number;
    /**
     * Reads, writes and resizes hold the read lock; {@link #close} takes the write lock, so the
     * master's descriptor number is never used after it was closed (and perhaps reused for another
     * file of this process). A blocked call returns once the terminal side is closed everywhere
     * (EIO), which {@link #commandEnded} and the sandbox's end bring about.
     */
    private final java.util.concurrent.locks.ReentrantReadWriteLock use = new java.util.concurrent.locks.ReentrantReadWriteLock();
    private boolean masterClosed;
    /** How long {@link #close} waits for a read or write still in the kernel before it leaves the descriptor open. */
    private static final long CLOSE_WAIT_SECONDS = 10;

    private Pty(int master, int slave, int number) {
        this.master = master;
        this.slave = slave;
        this.number = number;
    }

    /**
     * A new pty in the devpts of the sandbox that process {@code pid} runs in, its terminal side
     * owned by {@code uid}/{@code gid} (the sandbox user, who opens it by {@link #path()}), sized
     * {@code size}. Refused when {@code pid}'s devpts is the host's (the sandbox is not set up yet).
     */
    static Pty openIn(long pid, int uid, int gid, WindowSize size) throws SandboxException {
        Path ptmx = Path.of("/proc", Long.toString(pid), "root", "dev", "pts", "ptmx");
        LibC c = libc();
        int m;
        try {
            m = c.open(ptmx.toString(), O_RDWR | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW);
        } catch (LastErrorException e) {
            throw new SandboxException("cannot open " + ptmx + " (errno " + e.getErrorCode() + "). Fix: the sandbox's /dev/pts is missing;"
                    + " release it and claim another.", e);
        }
        int s = -1;
        try {
            Object hostDev = Files.getAttribute(Path.of("/dev/pts/ptmx"), "unix:dev");
            Object ours = Files.getAttribute(Path.of("/proc/self/fd/" + m), "unix:dev");
            if (hostDev.equals(ours)) {
                throw new SandboxException("the terminal for process " + pid + " would be the host's own devpts, not the sandbox's."
                        + " Fix: this is a bug in the caller (the sandbox is not set up yet); nothing was started.");
            }
            int[] n = new int[1];
            c.ioctl(m, TIOCGPTN, n); // only a pty master answers this
            c.ioctl(m, TIOCSPTLCK, new int[] {0});
            s = c.ioctl(m, TIOCGPTPEER, (long) (O_RDWR | O_NOCTTY | O_CLOEXEC));
            c.fchown(s, uid, gid);
            Pty p = new Pty(m, s, n[0]);
            p.resize(size);
            return p;
        } catch (LastErrorException | IOException e) {
            if (s >= 0) {
                closeQuietly(s);
            }
            closeQuietly(m);
            throw new SandboxException("cannot set up a terminal in the sandbox of process " + pid + ": " + e.getMessage()
                    + ". Fix: Linux 4.13 or later is needed (TIOCGPTPEER); see the daemon's log.", e);
        } catch (SandboxException e) {
            if (s >= 0) {
                closeQuietly(s);
            }
            closeQuietly(m);
            throw e;
        }
    }

    /** The terminal's path inside the sandbox: {@code /dev/pts/N}. */
    public String path() {
        return "/dev/pts/" + number;
    }

    /** Sets the window size; the kernel sends SIGWINCH to the terminal's foreground process group. */
    public void resize(WindowSize size) throws SandboxException {
        use.readLock().lock();
        try {
            if (masterClosed) {
                throw new SandboxException("the terminal is closed");
            }
            libc().ioctl(master, TIOCSWINSZ, new short[] {(short) size.rows(), (short) size.cols(), 0, 0});
        } catch (LastErrorException e) {
            throw new SandboxException("cannot resize the terminal (errno " + e.getErrorCode() + ")", e);
        } finally {
            use.readLock().unlock();
        }
    }

    /** The size the terminal has now (what the sandbox's {@code stty size} reads). */
    public WindowSize size() throws SandboxException {
        short[] ws = new short[4];
        use.readLock().lock();
        try {
            if (masterClosed) {
                throw new SandboxException("the terminal is closed");
            }
            libc().ioctl(master, TIOCGWINSZ, ws);
        } catch (LastErrorException e) {
            throw new SandboxException("cannot read the terminal's size (errno " + e.getErrorCode() + ")", e);
        } finally {
            use.readLock().unlock();
        }
        return new WindowSize(Short.toUnsignedInt(ws[0]), Short.toUnsignedInt(ws[1]));
    }

    /**
     * What the command wrote: up to {@code buf.length} bytes, or -1 once nothing in the sandbox
     * holds the terminal any more (after {@link #commandEnded}) and everything was read.
     */
    public int read(byte[] buf) throws IOException {
        use.readLock().lock();
        try {
            if (masterClosed) {
                return -1;
            }
            return readOpen(buf);
        } finally {
            use.readLock().unlock();
        }
    }

    private int readOpen(byte[] buf) throws IOException {
        while (true) {
            try {
                long n = libc().read(master, buf, buf.length);
                return n <= 0 ? -1 : (int) n;
            } catch (LastErrorException e) {
                if (e.getErrorCode() == EINTR) {
                    continue;
                }
                if (e.getErrorCode() == EIO) {
                    return -1;
                }
                throw new IOException("reading the terminal failed (errno " + e.getErrorCode() + ")", e);
            }
        }
    }

    /** Input for the command, as if typed: the line discipline turns ^C, ^Z and ^\ into signals. */
    public void write(byte[] b, int off, int len) throws IOException {
        use.readLock().lock();
        try {
            if (masterClosed) {
                throw new IOException("the terminal is closed");
            }
            writeOpen(b, off, len);
        } finally {
            use.readLock().unlock();
        }
    }

    private void writeOpen(byte[] b, int off, int len) throws IOException {
        byte[] rest = off == 0 && len == b.length ? b : java.util.Arrays.copyOfRange(b, off, off + len);
        while (rest.length > 0) {
            long n;
            try {
                n = libc().write(master, rest, rest.length);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == EINTR) {
                    continue;
                }
                throw new IOException("writing to the terminal failed (errno " + e.getErrorCode() + ")", e);
            }
            rest = java.util.Arrays.copyOfRange(rest, (int) n, rest.length);
        }
    }

    /**
     * The command has exited: this side lets go of the terminal side, so that {@link #read} ends
     * (with -1) once the output still buffered is read.
     */
    public synchronized void commandEnded() {
        if (slave >= 0) {
            closeQuietly(slave);
            slave = -1;
        }
    }

    /**
     * Both sides; idempotent. Waits for a read or write in progress (they end once nothing in the
     * sandbox holds the terminal); if one does not end in time the master stays open rather than
     * be closed under it.
     */
    @Override
    public void close() {
        commandEnded();
        try {
            if (!use.writeLock().tryLock(CLOSE_WAIT_SECONDS, java.util.concurrent.TimeUnit.SECONDS)) {
                return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        try {
            if (!masterClosed) {
                masterClosed = true;
                closeQuietly(master);
            }
        } finally {
            use.writeLock().unlock();
        }
    }

    private static void closeQuietly(int fd) {
        try {
            libc().close(fd);
        } catch (LastErrorException e) {
            // nothing to do: the descriptor is gone either way
        }
    }
}
