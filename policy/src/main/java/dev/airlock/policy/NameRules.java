package dev.airlock.policy;

import dev.airlock.policy.name.HostNames;
import dev.airlock.policy.name.NamePattern;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The name rules of all three lists (production, deny, allow) in two flat hash tables, answering
 * "which rule decides this name on this port" with one walk over the name, without allocating.
 *
 * <p>Semantics (as the per-list reversed-label tries before it): a name's matching rules, in order
 * of specificity, are the exact rules at the name, then the {@code *.} rules of its nearest parent,
 * then of farther parents (a {@code *.x} rule matches strict subdomains of {@code x} at any depth,
 * never {@code x} itself); rules at the same name keep the order they were written in. The
 * decisive rule is the first production rule on the port, else the first deny rule on the port,
 * else the first allow rule on the port; failing all three, the first allow rule on any port
 * explains a port denial.
 *
 * <p>Design: two open-addressing tables keyed by anchor name (the name a pattern is written at):
 * one for anchors with exact rules, one for anchors with {@code *.} rules. A slot holds part of the
 * key's 64-bit polynomial hash, where its text is in one shared string, and the rule list
 * ({@link RefLists}: the rule itself when there is one, with its gate, id and ports). A lookup
 * hashes the name once, left to right, and derives each parent suffix's hash from that and the
 * prefix hash (polynomial hashes allow it), so no label is cut out. It probes the exact table with
 * the full name, then the {@code *.} table with each parent suffix, but only with suffixes that
 * have as many labels as some {@code *.} rule's anchor. A candidate is confirmed by comparing the
 * text, so a hash collision can never match a rule. A small Bloom filter per table turns away most
 * absent names before the table is touched. An allowed name usually costs a probe and a text
 * compare: the Rule objects are not read until a decision is built.
 *
 * <p>Immutable after {@link #freeze}, so safe to share between threads.
 */
final class NameRules {

    /** Lookup outcomes besides the gates of {@link CompiledRules}: nothing matched, or only on other ports. */
    static final int NO_MATCH = 0;
    static final int OTHER_PORT = 4;

    /** Polynomial base: odd, so multiplication is invertible modulo 2^64. */
    private static final long BASE = 0x9E37_79B9_7F4A_7C15L;
    /** BASE^k, for suffix hashes of names up to the longest valid name. */
    private static final long[] POWERS = new long[HostNames.MAX_NAME_LENGTH + 2];
    /** Ends every key in {@link #keys}; never in a canonical name, so a match cannot run past a key. */
    private static final char END = ' ';

    static {
        POWERS[0] = 1;
        for (int k = 1; k < POWERS.length; k++) {
            POWERS[k] = POWERS[k - 1] * BASE;
        }
    }

    private final CompiledRules rules;
    private Map<String, Anchor> building = new LinkedHashMap<>();
    /** Anchors with exact rules, and anchors with {@code *.} rules: two small tables, not one large one. */
    private Table exact;
    private Table subdomains;
    private String keys;
    private long[] pool;
    /** Bit d (63 for 63 and more): some {@code *.} rule is anchored at a name of d labels. */
    private long subdomainDepths;

    /** Rules written at one name, in the order they were added. */
    private static final class Anchor {
        long[] exact = new long[1];
        int exactCount;
        long[] subdomains = new long[1];
        int subdomainCount;
    }

    /**
     * Open addressing, linear probing, load at most 3/4. A slot is two longs: the high half of the
     * key's hash with the key's offset in {@link #keys} (never 0: the text starts with {@link #END}),
     * and the rule list. 16 bytes a slot, so 100,000 names fit in 2-4 MiB.
     */
    private static final class Table {
        final long[] slots;
        final int mask;
        /**
         * A one-hash Bloom filter of the keys, 8 bits a key (at most 2^24 bits): most names that
         * are not in the table are turned away here, in a bit set small enough to stay in cache,
         * instead of by a probe of the table, which at 100,000 rules is a cache miss.
         */
        final long[] filter;
        final int filterMask;

        Table(int entries) {
            // The smallest power of two with room for 4/3 of the entries: load at most 3/4, so a
            // miss scans a few adjacent slots (four to a cache line) in a table half the size.
            int capacity = Integer.highestOneBit(Math.max(2, entries + entries / 3 + 1) - 1) << 1;
            slots = new long[capacity * 2];
            mask = capacity - 1;
            int bits = Integer.highestOneBit(Math.min(1 << 24, Math.max(64, entries * 8)) - 1) << 1;
            filter = new long[bits >>> 6];
            filterMask = bits - 1;
        }

        /** False only when no key has this hash; true may be a false positive. */
        boolean mayContain(long hash) {
            int bit = filterBit(hash);
            return (filter[bit >>> 6] & (1L << bit)) != 0;
        }

        /** Bits 40-63 of the spread hash; the slot index uses the low bits. */
        private int filterBit(long hash) {
            return (int) (spread(hash) >>> 40) & filterMask;
        }

        void put(long hash, int offset, long list) {
            int bit = filterBit(hash);
            filter[bit >>> 6] |= 1L << bit;
            int at = (int) spread(hash) & mask;
            while (slots[at * 2] != 0) {
                at = (at + 1) & mask;
            }
            slots[at * 2] = (hash & 0xFFFF_FFFF_0000_0000L) | (offset & 0xFFFF_FFFFL);
            slots[at * 2 + 1] = list;
        }
    }

    NameRules(CompiledRules rules) {
        this.rules = rules;
    }

    void put(NamePattern pattern, long ref) {
        Anchor a = building.computeIfAbsent(pattern.name(), k -> new Anchor());
        if (pattern instanceof NamePattern.Exact) {
            a.exact = append(a.exact, a.exactCount++, ref);
        } else {
            a.subdomains = append(a.subdomains, a.subdomainCount++, ref);
            subdomainDepths |= depthBit(labels(pattern.name()));
        }
    }

    private static long[] append(long[] refs, int count, long ref) {
        long[] out = count < refs.length ? refs : Arrays.copyOf(refs, count * 2);
        out[count] = ref;
        return out;
    }

    void freeze() {
        int exactCount = 0;
        int subdomainCount = 0;
        for (Anchor a : building.values()) {
            exactCount += a.exactCount > 0 ? 1 : 0;
            subdomainCount += a.subdomainCount > 0 ? 1 : 0;
        }
        exact = new Table(exactCount);
        subdomains = new Table(subdomainCount);
        StringBuilder text = new StringBuilder().append(END);
        RefLists lists = new RefLists();
        for (Map.Entry<String, Anchor> e : building.entrySet()) {
            String name = e.getKey();
            Anchor a = e.getValue();
            long h = hash(name);
            int offset = text.length();
            if (a.exactCount > 0) {
                exact.put(h, offset, lists.encode(a.exact, a.exactCount));
            }
            if (a.subdomainCount > 0) {
                subdomains.put(h, offset, lists.encode(a.subdomains, a.subdomainCount));
            }
            text.append(name).append(END);
        }
        keys = text.toString();
        pool = lists.pool();
        building = null;
    }

    /**
     * The rule that decides {@code name} on {@code port}: {@code outcome << 32 | ruleId}, the outcome
     * being a gate of {@link CompiledRules} or {@link #OTHER_PORT} or {@link #NO_MATCH}. Port 0 asks
     * for the DNS screen, which has no port: production and allow rules on any port count, deny
     * rules only when they cover every port.
     *
     * @param name a canonical name
     */
    long match(String name, int port) {
        int n = name.length();
        long full = 0;
        int dots = 0;
        for (int i = 0; i < n; i++) {
            char c = name.charAt(i);
            full = full * BASE + c;
            if (c == '.') {
                dots++;
            }
        }
        long acc = scan(find(exact, name, 0, n, full), port, 0);
        if (subdomainDepths != 0 && dots > 0) {
            long prefix = 0;
            int labels = dots + 1;
            for (int i = 0; i < n && gateOf(acc) != CompiledRules.PRODUCTION; i++) {
                char c = name.charAt(i);
                prefix = prefix * BASE + c;
                if (c == '.') {
                    labels--; // the suffix after this dot has this many labels
                    if ((subdomainDepths & depthBit(labels)) != 0) {
                        int from = i + 1;
                        acc = scan(find(subdomains, name, from, n - from, full - prefix * POWERS[n - from]), port, acc);
                    }
                }
            }
        }
        return outcome(acc);
    }

    // The accumulator: the decisive rule so far as gate << 28 | id in the high int (0: none), and
    // 1 + the first allow rule on any port in the low int (0: none).

    private long scan(long list, int port, long acc) {
        if (list == RefLists.EMPTY) {
            return acc;
        }
        if (!RefLists.pooled(list)) {
            return consider(list, port, acc);
        }
        int at = RefLists.offset(list);
        int end = at + 1 + (int) pool[at];
        for (int k = at + 1; k < end && gateOf(acc) != CompiledRules.PRODUCTION; k++) {
            acc = consider(pool[k], port, acc);
        }
        return acc;
    }

    /** Rules arrive most specific first: a rule replaces the decisive one only from a stronger gate. */
    private long consider(long ref, int port, long acc) {
        int gate = CompiledRules.gate(ref);
        int id = CompiledRules.id(ref);
        long decisive = acc >>> 32;
        long anyPort = acc & 0xFFFF_FFFFL;
        if (gate > gateOf(acc) && applies(ref, gate, port)) {
            decisive = (long) gate << 28 | id;
        }
        if (gate == CompiledRules.ALLOW && anyPort == 0) {
            anyPort = id + 1L;
        }
        return decisive << 32 | anyPort;
    }

    private boolean applies(long ref, int gate, int port) {
        if (port == 0) {
            return gate != CompiledRules.DENY || CompiledRules.anyPort(ref);
        }
        return rules.allows(ref, port);
    }

    private static int gateOf(long acc) {
        return (int) (acc >>> 60);
    }

    private static long outcome(long acc) {
        int gate = gateOf(acc);
        if (gate != 0) {
            return (long) gate << 32 | ((acc >>> 32) & 0x0FFF_FFFFL);
        }
        long anyPort = acc & 0xFFFF_FFFFL;
        return anyPort == 0 ? (long) NO_MATCH << 32 : (long) OTHER_PORT << 32 | (anyPort - 1);
    }

    static int outcomeOf(long match) {
        return (int) (match >>> 32);
    }

    static int ruleOf(long match) {
        return (int) match;
    }

    /** The rule list of the anchor equal to {@code name[from, from + len)} in {@code t}, or EMPTY. */
    private long find(Table t, String name, int from, int len, long h) {
        if (!t.mayContain(h)) {
            return RefLists.EMPTY;
        }
        long[] s = t.slots;
        long tag = h & 0xFFFF_FFFF_0000_0000L;
        for (int at = (int) spread(h) & t.mask; ; at = (at + 1) & t.mask) {
            long key = s[at * 2];
            if (key == 0) {
                return RefLists.EMPTY;
            }
            int offset = (int) key;
            if ((key & 0xFFFF_FFFF_0000_0000L) == tag && name.regionMatches(from, keys, offset, len)
                    && keys.charAt(offset + len) == END) {
                return s[at * 2 + 1];
            }
        }
    }

    private static long hash(String name) {
        long h = 0;
        for (int i = 0; i < name.length(); i++) {
            h = h * BASE + name.charAt(i);
        }
        return h;
    }

    /** The finaliser of MurmurHash3: spreads the polynomial hash's high bits into the index bits. */
    private static long spread(long h) {
        h ^= h >>> 33;
        h *= 0xFF51_AFD7_ED55_8CCDL;
        h ^= h >>> 33;
        h *= 0xC4CE_B9FE_1A85_EC53L;
        return h ^ (h >>> 33);
    }

    private static int labels(String name) {
        int n = 1;
        for (int i = 0; i < name.length(); i++) {
            if (name.charAt(i) == '.') {
                n++;
            }
        }
        return n;
    }

    private static long depthBit(int labels) {
        return 1L << Math.min(labels, 63);
    }
}
