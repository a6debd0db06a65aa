package dev.airlock.gateway.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Every edit of a written log is detected, wherever it falls: the property form of
 * {@link AuditLogReaderTest}'s table. Each property also checks the break is reported at the line
 * that was touched (never later), and, where the chain alone cannot see a change (whole records cut
 * from the end), that the anchor does.
 */
class AuditChainPropertiesTest {

    private static final int RECORDS = 120;
    private static final byte[] LOG = AuditFixtures.chain(RECORDS);
    /** Offsets of the first byte of each line; LINE_START[RECORDS] is the file's length. */
    private static final int[] LINE_START = lineStarts(LOG);
    private static final ChainHead HEAD = verify(LOG, Optional.empty()).head();

    @Property(tries = 200)
    void verify_anyByteChanged_isDetectedAtItsLine(@ForAll @IntRange(min = 0, max = Integer.MAX_VALUE) int where,
            @ForAll byte value) {
        int at = where % LOG.length;
        byte replacement = value == LOG[at] ? (byte) (value ^ 0x01) : value;
        byte[] edited = LOG.clone();
        edited[at] = replacement;
        AuditLogReader.Verification v = verify(edited, Optional.empty());
        assertThat(v.intact()).as("byte %d changed to 0x%02x", at, replacement).isFalse();
        assertThat(v.firstBreak().orElseThrow().line()).isEqualTo(lineOf(at));
        assertThat(verify(edited, Optional.of(HEAD)).intact()).isFalse();
    }

    @Property(tries = 120)
    void verify_anyLineDeleted_isDetected(@ForAll @IntRange(min = 1, max = RECORDS) int line) {
        byte[] edited = join(without(lines(), line));
        AuditLogReader.Verification anchored = verify(edited, Optional.of(HEAD));
        assertThat(anchored.intact()).isFalse();
        assertThat(anchored.firstBreak().orElseThrow().line()).isEqualTo(line);
        // Without an anchor, only the removal of the very last record goes unseen.
        assertThat(verify(edited, Optional.empty()).intact()).isEqualTo(line == RECORDS);
    }

    @Property(tries = 200)
    void verify_anyTwoLinesSwapped_isDetected(@ForAll @IntRange(min = 1, max = RECORDS) int a,
            @ForAll @IntRange(min = 1, max = RECORDS) int b) {
        if (a == b) {
            return;
        }
        List<byte[]> l = lines();
        byte[] t = l.get(a - 1);
        l.set(a - 1, l.get(b - 1));
        l.set(b - 1, t);
        AuditLogReader.Verification v = verify(join(l), Optional.empty());
        assertThat(v.intact()).isFalse();
        assertThat(v.firstBreak().orElseThrow().line()).isEqualTo(Math.min(a, b));
    }

    @Property(tries = 200)
    void verify_truncatedAnywhere_isDetected(@ForAll @IntRange(min = 0, max = Integer.MAX_VALUE) int where) {
        int length = where % LOG.length; // strictly shorter than the log
        byte[] cut = Arrays.copyOf(LOG, length);
        assertThat(verify(cut, Optional.of(HEAD)).intact()).isFalse();
        boolean atLineBoundary = Arrays.binarySearch(LINE_START, length) >= 0;
        assertThat(verify(cut, Optional.empty()).intact()).as("cut at %d", length).isEqualTo(atLineBoundary);
    }

    @Property(tries = 200)
    void verify_forgedLineAppended_isDetected(@ForAll @IntRange(min = 1, max = RECORDS) int copied,
            @ForAll @IntRange(min = 0, max = Integer.MAX_VALUE) int where, @ForAll byte value) {
        // A forger copies some record, makes it the next one in the chain, and changes one byte of it
        // (or none), but cannot produce the hash that goes with it.
        List<byte[]> l = lines();
        AuditRecord last = record(l.get(RECORDS - 1));
        String text = new String(l.get(copied - 1), java.nio.charset.StandardCharsets.US_ASCII);
        AuditRecord r = record(l.get(copied - 1));
        text = text.replace("\"seq\":" + r.seq() + ",", "\"seq\":" + (RECORDS + 1) + ",")
                .replace("\"prev\":\"" + r.prev() + "\"", "\"prev\":\"" + last.hash() + "\"");
        byte[] forged = text.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        int at = where % (forged.length + 1);
        if (at < forged.length && value != '\n') {
            forged[at] = value;
        }
        l.add(forged);
        AuditLogReader.Verification v = verify(join(l), Optional.empty());
        assertThat(v.intact()).isFalse();
        assertThat(v.firstBreak().orElseThrow().line()).isEqualTo(RECORDS + 1);
    }

    // ---- helpers -----------------------------------------------------------------------------------

    private static AuditLogReader.Verification verify(byte[] log, Optional<ChainHead> anchor) {
        try {
            return AuditLogReader.verify(new ByteArrayInputStream(log), anchor);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static AuditRecord record(byte[] line) {
        return ((AuditCodec.Parsed) AuditCodec.parse(line)).record();
    }

    private static int[] lineStarts(byte[] log) {
        int[] starts = new int[RECORDS + 1];
        int n = 1;
        for (int i = 0; i < log.length; i++) {
            if (log[i] == '\n') {
                starts[n++] = i + 1;
            }
        }
        assertThat(n).isEqualTo(RECORDS + 1);
        return starts;
    }

    /** The 1-based line holding byte {@code at} (a newline belongs to the line it ends). */
    private static int lineOf(int at) {
        int i = Arrays.binarySearch(LINE_START, at);
        return i >= 0 ? i + 1 : -i - 1;
    }

    /** The lines without their newlines. */
    private static List<byte[]> lines() {
        List<byte[]> l = new ArrayList<>();
        for (int i = 0; i < RECORDS; i++) {
            l.add(Arrays.copyOfRange(LOG, LINE_START[i], LINE_START[i + 1] - 1));
        }
        return l;
    }

    private static List<byte[]> without(List<byte[]> l, int line) {
        l.remove(line - 1);
        return l;
    }

    private static byte[] join(List<byte[]> lines) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(LOG.length + 1024);
        for (byte[] l : lines) {
            out.writeBytes(l);
            out.write('\n');
        }
        return out.toByteArray();
    }
}
