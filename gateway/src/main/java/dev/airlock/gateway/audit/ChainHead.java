package dev.airlock.gateway.audit;

import java.util.HexFormat;

/**
 * The end of an audit log's hash chain: the last record's {@code seq} and {@code hash}. Written as
 * {@code SEQ:HASH}. A chain alone cannot show that records were cut from its end; a head recorded
 * somewhere else (an anchor) can, so {@code airlock log verify} prints it and accepts it back.
 *
 * @param seq  the last record's seq; 0 for an empty log
 * @param hash the last record's hash; {@link #GENESIS_HASH} for an empty log
 */
public record ChainHead(long seq, String hash) {

    /** The {@code prev} of the first record: there is nothing before it. */
    public static final String GENESIS_HASH = "0".repeat(64);

    /** The head of an empty log. */
    public static final ChainHead EMPTY = new ChainHead(0, GENESIS_HASH);

    public ChainHead {
        if (seq < 0) {
            throw new IllegalArgumentException("seq must not be negative: " + seq);
        }
        if (!isHash(hash)) {
            throw new IllegalArgumentException("hash must be 64 lower-case hex digits");
        }
    }

    /** Parses {@code SEQ:HASH}, as {@link #toString()} writes it. */
    public static ChainHead parse(String text) {
        int colon = text.indexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("expected SEQ:HASH, e.g. 1042:" + GENESIS_HASH.substring(0, 8) + "…");
        }
        long seq;
        try {
            seq = Long.parseLong(text.substring(0, colon));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("SEQ must be a number");
        }
        return new ChainHead(seq, text.substring(colon + 1));
    }

    /** 64 lower-case hex digits. A loop, not a regex: the audit writer checks every record's head. */
    static boolean isHash(String s) {
        if (s == null || s.length() != 64) {
            return false;
        }
        for (int i = 0; i < 64; i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
                return false;
            }
        }
        return true;
    }

    static String hex(byte[] digest) {
        return HexFormat.of().formatHex(digest);
    }

    @Override
    public String toString() {
        return seq + ":" + hash;
    }
}
