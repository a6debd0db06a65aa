package dev.airlock.policy;

import java.util.Arrays;

/**
 * Lists of packed rule references ({@link CompiledRules#ref}) stored as one {@code long}: the
 * reference itself when the list holds one rule (the usual case, read with no further memory
 * access), or a flag and an offset into a shared pool, which holds the count and then the
 * references.
 */
final class RefLists {

    /** No rule. A reference is never 0: its gate is at least 1. */
    static final long EMPTY = 0;
    private static final long POOLED = 1L << 63;

    private long[] pool = new long[16];
    private int used;

    /** The list as one long; appends to the pool when it has more than one reference. */
    long encode(long[] refs, int count) {
        if (count == 0) {
            return EMPTY;
        }
        if (count == 1) {
            return refs[0];
        }
        if (used + count + 1 > pool.length) {
            pool = Arrays.copyOf(pool, Math.max(pool.length * 2, used + count + 1));
        }
        int at = used;
        pool[used++] = count;
        System.arraycopy(refs, 0, pool, used, count);
        used += count;
        return POOLED | at;
    }

    /** The pool, trimmed: the decoder reads it. */
    long[] pool() {
        return Arrays.copyOf(pool, used);
    }

    static boolean pooled(long list) {
        return list < 0;
    }

    static int offset(long list) {
        return (int) list;
    }
}
