package dev.airlock.gateway.audit;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * Reads an audit log written by {@link AuditLog}: streams its lines, and verifies its hash chain.
 *
 * <p>Verification walks the file once and stops at the first line that breaks the chain. Per line,
 * in this order: the line must be complete (end in a newline), parse strictly in the writer's exact
 * form, carry the hash of its own content, have {@code seq} one more than the line before (the first
 * is 1), and carry the previous record's hash as {@code prev} (the first carries 64 zeros). So an
 * edited byte, a deleted, inserted, duplicated or reordered line, and a cut-off last line are each
 * reported with the line where the chain first fails. Whole records removed from the <em>end</em>
 * leave a shorter chain that is still valid; only an anchor ({@link ChainHead} recorded elsewhere)
 * shows them, so {@link #verify(Path, Optional)} accepts one.
 */
public final class AuditLogReader {

    /** Far above any record (every string is cut to about 320 characters); a longer line is junk. */
    public static final int MAX_LINE_BYTES = 1 << 20;

    /** Read size; lines are split in this buffer rather than byte by byte. */
    private static final int CHUNK = 64 * 1024;

    /**
     * Read size backwards from the end for the last line: a record is well under 4 KiB, and a
     * writer re-reads the last line under the append lock whenever another writer appended.
     */
    private static final int TAIL_CHUNK = 4 * 1024;

    private AuditLogReader() {
    }

    /** One line of the file, numbered from 1. */
    public sealed interface Line permits Entry, Unreadable {
        long number();
    }

    /**
     * A line that is a record in the writer's exact form. Its hash and place in the chain are not
     * checked here: that is {@link #verify}'s job.
     *
     * @param text        the line as written, without its newline: printable ASCII JSON
     * @param hashMatches whether the record's hash is the hash of its own content
     */
    public record Entry(long number, String text, AuditRecord record, boolean hashMatches) implements Line {
    }

    /** A line that is not a record, and why (never echoing raw bytes from the line). */
    public record Unreadable(long number, String why) implements Line {
    }

    /** Where the chain first fails. */
    public record Break(long line, String why) {
    }

    /**
     * @param records how many records verified before the first break (all of them when intact)
     * @param head    the last record that verified, or {@link ChainHead#EMPTY}
     */
    public record Verification(long records, ChainHead head, Optional<Break> firstBreak) {
        public boolean intact() {
            return firstBreak.isEmpty();
        }
    }

    /**
     * Streams the lines of {@code file} as it was at the call (appends after it are not seen, and no
     * half-written line of a concurrent append either); close the stream.
     */
    public static Stream<Line> lines(Path file) throws IOException {
        return lines(committed(file));
    }

    /**
     * The file cut at its length taken under the append lock: every writer appends whole batches
     * of lines under that lock, so that length ends at a line boundary unless a write was cut short
     * (which verification must then report). Bytes before it never change, so the rest is read
     * without the lock. Without the lock file (a copy, a log no writer locked yet), or after
     * {@link #READER_PATIENCE_NANOS} without the lock, the whole file as it is now.
     *
     * <p>The file is opened first and its length taken from the open file, never from the path: an
     * operator who moves the log away (rotation) at any moment in between cannot make the length of
     * one file cut the bytes of another. The stream reads the file the path named at the call.
     */
    private static InputStream committed(Path file) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        try {
            Optional<Long> locked = Optional.empty();
            Optional<AppendLock> lock = AppendLock.forReading(file);
            if (lock.isPresent()) {
                try (AppendLock l = lock.get()) {
                    locked = l.holding(READER_PATIENCE_NANOS, ch::size);
                }
            }
            long length = locked.isPresent() ? locked.get() : ch.size();
            return new Prefix(Channels.newInputStream(ch), length);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /**
     * How long a reader waits for the append lock before it reads without it (and may then see a
     * partial last line): appends take microseconds, so only a writer stopped mid-append (SIGSTOP)
     * holds it this long, and a reader must not hang behind it.
     */
    private static final long READER_PATIENCE_NANOS = 2_000_000_000L;

    /** The first {@code remaining} bytes of a stream. */
    private static final class Prefix extends FilterInputStream {
        private long remaining;

        Prefix(InputStream in, long length) {
            super(in);
            this.remaining = length;
        }

        @Override
        public int read() throws IOException {
            if (remaining <= 0) {
                return -1;
            }
            int b = super.read();
            if (b >= 0) {
                remaining--;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (remaining <= 0) {
                return -1;
            }
            int n = super.read(b, off, (int) Math.min(len, remaining));
            if (n > 0) {
                remaining -= n;
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long skipped = super.skip(Math.min(n, remaining));
            remaining -= skipped;
            return skipped;
        }

        @Override
        public int available() throws IOException {
            return (int) Math.min(super.available(), remaining);
        }
    }

    /** The file beside {@code log} where writers move a partial last line: {@code <log>.torn}. */
    public static Path tornFileOf(Path log) {
        return log.resolveSibling(log.getFileName() + ".torn");
    }

    /** Partial last lines that writers moved from a log to {@code file}, {@code count} of them. */
    public record TornLines(Path file, long count) {
    }

    /**
     * The partial last lines writers moved aside from {@code log} (an append cut short by kill -9,
     * a crash or a power cut: their records are lost), or empty when there is no such file. The
     * writer adds a header line ({@code # time: N bytes cut from the end of ...}) and then the
     * partial line itself, which never holds a newline; so headers are the even lines, and a
     * partial line that happens to start with {@code "# "} is not counted. Never follows a link.
     */
    public static Optional<TornLines> tornLines(Path log) throws IOException {
        Path file = tornFileOf(log);
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        long count = 0;
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS))) {
            long line = 0;
            int column = 0;
            boolean hash = false;
            int b;
            while ((b = in.read()) >= 0) {
                if (b == '\n') {
                    line++;
                    column = 0;
                    continue;
                }
                if (line % 2 == 0 && column == 0) {
                    hash = b == '#';
                } else if (line % 2 == 0 && column == 1 && hash && b == ' ') {
                    count++;
                }
                column++;
            }
        }
        return Optional.of(new TornLines(file, count));
    }

    /** Streams the lines of {@code in}, and closes it when the stream is closed. */
    static Stream<Line> lines(InputStream in) {
        Splitter splitter = new Splitter(in);
        return StreamSupport.stream(Spliterators.spliteratorUnknownSize(splitter, Spliterator.ORDERED | Spliterator.NONNULL), false)
                .onClose(() -> {
                    try {
                        in.close();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
    }

    /** Verifies the whole chain in {@code file}. */
    public static Verification verify(Path file) throws IOException {
        return verify(file, Optional.empty());
    }

    /**
     * Verifies the whole chain in {@code file} and, given an anchor, that the record with the
     * anchor's seq exists and carries the anchor's hash.
     */
    public static Verification verify(Path file, Optional<ChainHead> anchor) throws IOException {
        return verify(committed(file), anchor);
    }

    static Verification verify(InputStream in, Optional<ChainHead> anchor) throws IOException {
        ChainHead head = ChainHead.EMPTY;
        long records = 0;
        long lastLine = 0;
        try (Stream<Line> lines = lines(in)) {
            Iterator<Line> it = lines.iterator();
            while (it.hasNext()) {
                Line line = it.next();
                lastLine = line.number();
                String why = switch (line) {
                    case Unreadable u -> u.why();
                    case Entry e -> check(e, head, anchor);
                };
                if (why != null) {
                    return new Verification(records, head, Optional.of(new Break(line.number(), why)));
                }
                head = ((Entry) line).record().head();
                records++;
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        if (anchor.isPresent() && head.seq() < anchor.get().seq()) {
            return new Verification(records, head, Optional.of(new Break(lastLine + 1, "the log ends at seq " + head.seq()
                    + ", but the anchor shows seq " + anchor.get().seq() + " was written: records were removed from the end")));
        }
        return new Verification(records, head, Optional.empty());
    }

    /** Why this record breaks the chain after {@code before}, or null if it continues it. */
    private static String check(Entry e, ChainHead before, Optional<ChainHead> anchor) {
        AuditRecord r = e.record();
        if (!e.hashMatches()) {
            return "hash mismatch: the record was changed after it was written";
        }
        long expected = before.seq() + 1;
        if (r.seq() < expected) {
            return "seq " + r.seq() + " follows seq " + before.seq() + ": lines were reordered or duplicated";
        }
        if (r.seq() > expected) {
            return before.seq() == 0
                    ? "the log starts at seq " + r.seq() + ", not 1: records were removed from the start"
                    : "seq jumps from " + before.seq() + " to " + r.seq() + ": records were removed or reordered";
        }
        if (!r.prev().equals(before.hash())) {
            return before.seq() == 0
                    ? "prev of the first record is not 64 zeros: this is not the start of a chain"
                    : "prev does not match the hash of line " + (e.number() - 1) + ": a record was replaced";
        }
        if (anchor.isPresent() && anchor.get().seq() == r.seq() && !anchor.get().hash().equals(r.hash())) {
            return "record seq " + r.seq() + " differs from the anchor " + anchor.get()
                    + ": the log was rewritten at or before this line";
        }
        return null;
    }

    /**
     * The last line of an open log, read backwards from the end, so that opening a large log does
     * not read all of it. Its number is not known this way and is 0.
     */
    static Optional<Line> lastLine(FileChannel ch) throws IOException {
        long size = ch.size();
        if (size == 0) {
            return Optional.empty();
        }
        if (readFully(ch, size - 1, 1)[0] != '\n') {
            return Optional.of(new Unreadable(0, TRUNCATED));
        }
        long end = size - 1;
        long start = 0;
        long pos = end;
        search:
        while (pos > 0) {
            int n = (int) Math.min(TAIL_CHUNK, pos);
            byte[] chunk = readFully(ch, pos - n, n);
            for (int i = n - 1; i >= 0; i--) {
                if (chunk[i] == '\n') {
                    start = pos - n + i + 1;
                    break search;
                }
            }
            pos -= n;
            if (end - pos > MAX_LINE_BYTES) {
                return Optional.of(new Unreadable(0, OVERLONG));
            }
        }
        if (end - start > MAX_LINE_BYTES) {
            return Optional.of(new Unreadable(0, OVERLONG));
        }
        return Optional.of(toLine(0, readFully(ch, start, (int) (end - start)), true, false));
    }

    static byte[] readFully(FileChannel ch, long position, int length) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(length);
        while (buf.hasRemaining()) {
            if (ch.read(buf, position + buf.position()) < 0) {
                throw new IOException("the file shrank while it was read");
            }
        }
        return buf.array();
    }

    /**
     * Parses one whole line (without its newline) exactly as {@link #lines} does: an {@link Entry}
     * when it is a record in the writer's exact form, else {@link Unreadable} with the reason.
     */
    public static Line parseLine(long number, byte[] line) {
        return toLine(number, line, true, line.length > MAX_LINE_BYTES);
    }

    private static final String TRUNCATED = "truncated: the last line has no newline at its end"
            + " (a write was cut short by a crash or a full disk, or the file was cut)";
    private static final String OVERLONG = "longer than " + MAX_LINE_BYTES + " bytes: not a record";

    private static Line toLine(long number, byte[] bytes, boolean terminated, boolean overlong) {
        if (overlong) {
            return new Unreadable(number, OVERLONG);
        }
        if (!terminated) {
            return new Unreadable(number, TRUNCATED);
        }
        if (bytes.length == 0) {
            return new Unreadable(number, "empty line");
        }
        return switch (AuditCodec.parse(bytes)) {
            case AuditCodec.Parsed p -> new Entry(number, new String(bytes, StandardCharsets.US_ASCII), p.record(), p.hashMatches());
            case AuditCodec.Bad b -> new Unreadable(number, b.why());
        };
    }

    /** Splits a byte stream at {@code \n}, remembering whether the last line had one. */
    private static final class Splitter implements Iterator<Line> {
        private final InputStream in;
        private final byte[] buf = new byte[CHUNK];
        private final ByteArrayOutputStream current = new ByteArrayOutputStream();
        private int pos;
        private int limit;
        private boolean eof;
        private long number;
        private Line next;

        Splitter(InputStream in) {
            this.in = in;
        }

        @Override
        public boolean hasNext() {
            if (next == null && !eof) {
                try {
                    next = read();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            return next != null;
        }

        @Override
        public Line next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            Line l = next;
            next = null;
            return l;
        }

        private Line read() throws IOException {
            current.reset();
            boolean overlong = false;
            while (true) {
                if (pos == limit) {
                    int n = in.read(buf);
                    if (n < 0) {
                        eof = true;
                        return current.size() == 0 && !overlong ? null : toLine(++number, current.toByteArray(), false, overlong);
                    }
                    pos = 0;
                    limit = n;
                }
                int nl = -1;
                for (int i = pos; i < limit; i++) {
                    if (buf[i] == '\n') {
                        nl = i;
                        break;
                    }
                }
                int end = nl < 0 ? limit : nl;
                if (!overlong) {
                    current.write(buf, pos, end - pos);
                    if (current.size() > MAX_LINE_BYTES) {
                        overlong = true;
                        current.reset();
                    }
                }
                pos = nl < 0 ? limit : nl + 1;
                if (nl >= 0) {
                    return toLine(++number, current.toByteArray(), true, overlong);
                }
            }
        }
    }
}
