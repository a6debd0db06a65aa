package dev.airlock.policy.address;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A binary prefix tree from CIDRs to values. A lookup walks at most 32 or 128 nodes, whatever the
 * number of prefixes, and yields every value whose prefix contains the address, shortest first.
 * Built once, then read concurrently without locks (it is never mutated after {@link #freeze}).
 */
final class CidrTrie<T> {

    private static final class Node<T> {
        Node<T> zero;
        Node<T> one;
        List<T> values;
    }

    private final Node<T> v4 = new Node<>();
    private final Node<T> v6 = new Node<>();
    private boolean frozen;
    private int size;

    public void put(Cidr cidr, T value) {
        if (frozen) {
            throw new IllegalStateException("trie is frozen");
        }
        Node<T> node = cidr.network().isV4() ? v4 : v6;
        for (int i = 0; i < cidr.prefixLength(); i++) {
            if (cidr.network().bit(i) == 0) {
                node = node.zero == null ? (node.zero = new Node<>()) : node.zero;
            } else {
                node = node.one == null ? (node.one = new Node<>()) : node.one;
            }
        }
        if (node.values == null) {
            node.values = new ArrayList<>(1);
        }
        node.values.add(value);
        size++;
    }

    /** Makes the trie read-only; after this it is safe to share between threads. */
    public CidrTrie<T> freeze() {
        frozen = true;
        return this;
    }

    public int size() {
        return size;
    }

    /** Calls {@code sink} with every value whose prefix contains {@code a}, shortest prefix first. */
    public void forEachMatch(IpAddress a, Consumer<? super T> sink) {
        Node<T> node = a.isV4() ? v4 : v6;
        int bits = a.family().bits;
        for (int i = 0; node != null; i++) {
            if (node.values != null) {
                node.values.forEach(sink);
            }
            if (i == bits) {
                break;
            }
            node = a.bit(i) == 0 ? node.zero : node.one;
        }
    }

    /** The value of the longest prefix that contains {@code a}, or null. */
    public T longestMatch(IpAddress a) {
        Node<T> node = a.isV4() ? v4 : v6;
        int bits = a.family().bits;
        T best = null;
        for (int i = 0; node != null; i++) {
            if (node.values != null) {
                best = node.values.get(0);
            }
            if (i == bits) {
                break;
            }
            node = a.bit(i) == 0 ? node.zero : node.one;
        }
        return best;
    }

    public List<T> matches(IpAddress a) {
        List<T> out = new ArrayList<>(2);
        forEachMatch(a, out::add);
        return out;
    }
}
