package dev.airlock.gateway.audit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * How far the daemon has acknowledged a log's records: the last acknowledged record's head, and
 * the byte offset in the log just after its line. Kept in {@code <log>.forwarded} beside the log,
 * written whole (a temporary file renamed over it), so a forwarder killed at any moment restarts
 * from the last acknowledgement it saw: at worst it sends records the daemon already holds, which
 * the daemon recognises by (source, seq) and skips. Never further: a record is never skipped.
 *
 * @param acked  the daemon's last acknowledged record of this log ({@link ChainHead#EMPTY}: none)
 * @param offset where the next line to send starts
 */
public record ForwardCursor(ChainHead acked, long offset) {

    public static final ForwardCursor START = new ForwardCursor(ChainHead.EMPTY, 0);

    public ForwardCursor {
        if (offset < 0) {
            throw new IllegalArgumentException("offset must not be negative: " + offset);
        }
    }

    /** {@code <log>.forwarded}. */
    public static Path fileOf(Path log) {
        return log.resolveSibling(log.getFileName() + ".forwarded");
    }

    /** The cursor in {@code file}; {@link #START} when there is none yet or it is not one (then everything is sent again, and de-duplicated). */
    static ForwardCursor read(Path file) throws IOException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.US_ASCII).strip();
        } catch (NoSuchFileException e) {
            return START;
        }
        String[] parts = text.split(" ");
        try {
            return new ForwardCursor(ChainHead.parse(parts[0]), Long.parseLong(parts[1]));
        } catch (RuntimeException e) {
            return START;
        }
    }

    /** Writes the cursor whole: a crash leaves the old one or the new one, never a mix. */
    void write(Path file) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.writeString(Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(AuditLog.FILE_MODE))),
                acked + " " + offset + "\n", StandardCharsets.US_ASCII);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
