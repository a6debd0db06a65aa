package dev.airlock.policy;

import dev.airlock.policy.name.HostNames;
import dev.airlock.policy.name.NamePattern;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The name rules of all three lists (production, deny, allow) in one flat table, answering "which
 * rule decides this name on this port" in one pass over the name, without allocating.
 *
 * <p>Semantics (as the per-list reversed-label tries before it): a name's matching rules, in order
 * of specificity, are the exact rules at the name, then the {@code *.} rules of its nearest parent,
 * then of farther parents (a {@code *.x} rule matches strict subdomains of {@code x} at any depth,
 * never {@code x} itself); rules at the same name keep the order they were written in. The
 * decisive rule is the first production rule on the port, else the first deny rule on the port,
 * else the first allow rule on the port; failing all three, the first allow rule on any port
 * explains a port denial.
 *
 * <p>Design: open addressing keyed by each anchor name (the name a pattern is written at), with
 * linear probing at load at most 1/2. A slot is four {@code long}s: the key's 64-bit polynomial
 * hash, where its text is in one shared string, and the exact and {@code *.} rule lists
 * ({@link RefLists}, the rule itself when there is one). A lookup hashes the name once, left to
 * right, and derives each parent suffix's hash from that and the prefix hash (polynomial hashes
 * allow it), so no label is cut out. It probes the full name for exact rules, then each parent
 * suffix for {@code *.} rules, but only suffixes with as many labels as some {@code *.} rule's
 * anchor has. A candidate slot is confirmed by comparing the text, so a hash collision can never
 * match a rule. An allowed name usually costs one probe, one text compare and nothing else: the
 * rule's gate, id and ports are in the slot.
 *
 * <p>Immutable after {@link #freeze}, so safe to share between threads.
 */
final class NameRules {

    /** Lookup outcomes besides the gates of {@link CompiledRules}: nothing matched, or only on other ports. */
    static final int NO_MATCH = 0;
    static final int OTHER_PORT = 4;

    private static final int STRIDE = 4;
    /** Polynomial base: odd, so multiplication is invertible modulo 2^64. */
    private static final long BASE = 0x9E37_79B9_7F4A_7C15L;
    /** BASE^k, for suffix hashes of names up to the longest valid name. */
    private static final long[] POWERS = new long[HostNames.MAX_NAME_LENGTH + 2];

    static {
        POWERS[0] = 1;
        for (int k = 1; k < POWERS.length; k++) {
            POWERS[k] = POWERS[k - 1] * BASE;
        }
    }

    private final CompiledRules rules;
    private Map<String, Anchor> building = new LinkedHashMap<>();
    private long[] slots;
    private int mask;
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
        int capacity = Integer.highestOneBit(Math.max(1, building.size()) * 2 - 1) << 1;
        slots = new long[capacity * STRIDE];
        mask = capacity - 1;
        StringBuilder text = new StringBuilder();
        RefLists lists = new RefLists();
        for (Map.Entry<String, Anchor> e : building.entrySet()) {
            String name = e.getKey();
            Anchor a = e.getValue();
            long h = hash(name);
            int at = (int) spread(h) & mask;
            while (slots[at * STRIDE + 1] != 0) {
                at = (at + 1) & mask;
            }
            int s = at * STRIDE;
            slots[s] = h;
            // Never 0 (the empty mark): a name has at least one character.
            slots[s + 1] = (long) text.length() << 16 | name.length();
            slots[s + 2] = lists.encode(a.exact, a.exactCount);
            slots[s + 3] = lists.encode(a.subdomains, a.subdomainCount);
            text.append(name);
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
        long acc = 0;
        int slot = find(name, 0, n, full);
        if (slot >= 0) {
            acc = scan(slots[slot + 2], port, acc);
        }
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
                        slot = find(name, from, n - from, full - prefix * POWERS[n - from]);
                        if (slot >= 0) {
                            acc = scan(slots[slot + 3], port, acc);
                        }
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

    /** The slot of the anchor equal to {@code name[from, from + len)}, or -1. */
    private int find(String name, int from, int len, long h) {
        long[] s = slots;
        for (int at = (int) spread(h) & mask; ; at = (at + 1) & mask) {
            int i = at * STRIDE;
            long key = s[i + 1];
            if (key == 0) {
                return -1;
            }
            if (s[i] == h && (int) (key & 0xFFFF) == len && name.regionMatches(from, keys, (int) (key >>> 16), len)) {
                return i;
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
