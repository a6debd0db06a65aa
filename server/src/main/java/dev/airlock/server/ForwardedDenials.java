package dev.airlock.server;

import dev.airlock.gateway.audit.AuditEvent;
import dev.airlock.gateway.audit.AuditLogReader;
import dev.airlock.gateway.audit.AuditRecord;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
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

    ForwardedDenials(Path file) {
        this.file = file;
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
            read(new BoundedChannelStream(ch, offset, size));
        } catch (NoSuchFileException e) {
            // no record forwarded yet: the log is made by the first one
        }
    }

    private void read(InputStream in) throws IOException {
        ByteArrayOutputStream current = new ByteArrayOutputStream();
        boolean overlong = false;
        byte[] buf = new byte[64 * 1024];
        long base = offset; // the file position of buf[0]
        for (int n; (n = in.read(buf)) > 0; base += n) {
            int start = 0;
            for (int i = 0; i < n; i++) {
                if (buf[i] == '\n') {
                    if (!overlong) {
                        current.write(buf, start, i - start);
                        take(current.toByteArray());
                    }
                    current.reset();
                    overlong = false;
                    start = i + 1;
                    offset = base + i + 1;
                }
            }
            if (!overlong) {
                current.write(buf, start, n - start);
                if (current.size() > AuditLogReader.MAX_LINE_BYTES) {
                    // not a record (`airlock log verify` says so): skipped up to its newline, without holding it in memory
                    current.reset();
                    overlong = true;
                }
            }
        }
        // a line without its newline yet (an append in progress) is read again at the next poll
    }

    private void take(byte[] bytes) {
        line++;
        // most records are allowed connections: a line without the field as the writer spells a denial is not parsed
        // (the canonical form escapes every quote inside a value, so a value cannot spell it; a match is still parsed in full)
        if (indexOf(bytes, DENY) < 0) {
            return;
        }
        if (AuditLogReader.parseLine(line, bytes) instanceof AuditLogReader.Entry e && e.hashMatches() && e.record().denied()) {
            AuditRecord r = e.record();
            // a gateway of this version writes only reasons this version knows; another code stays in `airlock log`
            r.reason().known().ifPresent(reason -> denials.add(r.time(), new AuditEvent(r.event(), r.sandbox(), r.project(), r.via(), r.client(),
                    r.name(), r.port(), r.addresses(), r.decision(), r.rule(), reason, r.bytesUp(), r.bytesDown(), r.durationMs())));
        }
    }

    private static final byte[] DENY = "\"decision\":\"deny\"".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private static int indexOf(byte[] in, byte[] what) {
        outer:
        for (int i = 0; i <= in.length - what.length; i++) {
            for (int j = 0; j < what.length; j++) {
                if (in[i + j] != what[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** {@code ch} from {@code from} to {@code to}: what was appended, and no further. */
    private static final class BoundedChannelStream extends InputStream {
        private final FileChannel ch;
        private long position;
        private final long end;

        BoundedChannelStream(FileChannel ch, long from, long to) {
            this.ch = ch;
            this.position = from;
            this.end = to;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (position >= end) {
                return -1;
            }
            int n = ch.read(ByteBuffer.wrap(b, off, (int) Math.min(len, end - position)), position);
            if (n > 0) {
                position += n;
            }
            return n;
        }
    }
}
