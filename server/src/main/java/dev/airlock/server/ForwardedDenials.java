package dev.airlock.server;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.audit.AuditLogReader;
import dev.airlock.gateway.audit.AuditRecord;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Arrays;
import java.util.Objects;

/**
 * The denials in the daemon's audit chain on {@code backend: kubernetes}, where the gateway pods
 * decide and forward their records into it ({@link AuditIngestServer}): the dashboard's denials are
 * read from the chain itself, not from a second feed that could disagree with it. Each {@link #poll}
 * reads the lines appended since the last one (the first reads the whole file, so what arrived
 * before a restart shows too); a line still being written is left for the next poll. A rotated
 * (replaced or shorter) file is read from its start; denials already shown stay.
 */
final class ForwardedDenials {

    private final Path file;
    private final RecentDenials denials = new RecentDenials();
    /** Bytes of {@link #fileKey}'s file read so far, always up to the end of a line. */
    private long offset;
    private Object fileKey;
    private long line;

    /** Bytes read from the file at a time (tests make it small, to put lines across chunks). */
    private final int chunk;

    ForwardedDenials(Path file) {
        this(file, 1 << 20);
    }

    ForwardedDenials(Path file, int chunk) {
        this.file = file;
        this.chunk = chunk;
    }

    RecentDenials denials() {
        return denials;
    }

    /** Reads what was appended since the last call. */
    synchronized void poll() throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Object key = Files.readAttributes(file, BasicFileAttributes.class).fileKey();
            long size = ch.size();
            if (!Objects.equals(key, fileKey) || size < offset) {
                fileKey = key;
                offset = 0;
                line = 0;
            }
            read(ch, size);
        } catch (NoSuchFileException e) {
            // no record forwarded yet: the log is made by the first one
        }
    }

    /**
     * The complete lines from {@link #offset} to {@code end}, a chunk at a time. Each chunk is
     * searched as a Latin-1 string, whose {@code indexOf} the JVM runs as vector instructions: the
     * first poll of a chain of hundreds of megabytes is a scan of it, and most of its lines are
     * allowed connections, skipped without being copied. A line that runs past a chunk is carried
     * to the front of the next one.
     */
    private void read(FileChannel ch, long end) throws IOException {
        if (end <= offset) {
            return;
        }
        // room for the longest record and a chunk after it; a poll that finds a few lines appended needs no more than those
        byte[] buf = new byte[(int) Math.min(AuditLogReader.MAX_LINE_BYTES + (long) chunk, end - offset)];
        int kept = 0; // buf[0, kept): the start of a line the last chunk did not finish
        boolean overlong = false; // in a line longer than a record can be, skipped up to its newline
        for (long position = offset; position < end; ) {
            int n = ch.read(ByteBuffer.wrap(buf, kept, (int) Math.min(Math.min(chunk, buf.length - kept), end - position)), position);
            if (n <= 0) {
                break;
            }
            position += n;
            int length = kept + n;
            long base = position - length; // the file position of buf[0]
            String text = new String(buf, 0, length, StandardCharsets.ISO_8859_1);
            int start = 0;
            int deny = text.indexOf(DENY);
            for (int newline; (newline = text.indexOf('\n', start)) >= 0; start = newline + 1) {
                line++;
                if (deny >= 0 && deny < start) {
                    deny = text.indexOf(DENY, start);
                }
                // the canonical form escapes every quote inside a value, so a value cannot spell the field; a match is still parsed in full
                if (!overlong && deny >= 0 && deny < newline && newline - start <= AuditLogReader.MAX_LINE_BYTES) {
                    take(Arrays.copyOfRange(buf, start, newline));
                }
                overlong = false;
                offset = base + newline + 1;
            }
            kept = length - start;
            if (overlong || kept > AuditLogReader.MAX_LINE_BYTES) {
                // not a record (`airlock log verify` says so): skipped up to its newline, without holding it in memory
                overlong = true;
                kept = 0;
            } else {
                System.arraycopy(buf, start, buf, 0, kept);
            }
        }
        // a line without its newline yet (an append in progress) is read again at the next poll
    }

    /** A line that spells a denial: shown if it is an intact record of this chain. */
    private void take(byte[] bytes) {
        if (AuditLogReader.parseLine(line, bytes) instanceof AuditLogReader.Entry e && e.hashMatches() && e.record().denied()) {
            AuditRecord r = e.record();
            // a gateway of this version writes only reasons this version knows; another code stays in `airlock log`
            r.reason().known().ifPresent(reason -> denials.add(r.time(), new AuditEvent(r.event(), r.sandbox(), r.project(), r.via(), r.client(),
                    r.name(), r.port(), r.addresses(), r.decision(), r.rule(), reason, r.bytesUp(), r.bytesDown(), r.durationMs())));
        }
    }

    /** The field as the writer spells a denial. */
    private static final String DENY = "\"decision\":\"deny\"";
}
