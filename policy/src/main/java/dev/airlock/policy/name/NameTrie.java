package dev.airlock.policy.name;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Name patterns indexed by reversed labels ({@code com → github → api}). A lookup costs one hash
 * probe per label of the queried name, whatever the number of patterns. Values come back most
 * specific first: the exact name, then the nearest {@code *.} parent, then farther ones.
 * Built once, then read concurrently; never mutated after {@link #freeze}.
 */
final class NameTrie<T> {

    private static final class Node<T> {
        Map<String, Node<T>> children;
        List<T> exact;
        List<T> subdomains;
    }

    private final Node<T> root = new Node<>();
    private boolean frozen;
    private int size;

    public void put(NamePattern pattern, T value) {
        if (frozen) {
            throw new IllegalStateException("trie is frozen");
        }
        Node<T> node = root;
        String name = pattern.name();
        int end = name.length();
        while (end > 0) {
            int dot = name.lastIndexOf('.', end - 1);
            String label = name.substring(dot + 1, end);
            if (node.children == null) {
                node.children = new HashMap<>(4);
            }
            node = node.children.computeIfAbsent(label, k -> new Node<>());
            end = dot < 0 ? 0 : dot;
        }
        if (pattern instanceof NamePattern.Exact) {
            node.exact = add(node.exact, value);
        } else {
            node.subdomains = add(node.subdomains, value);
        }
        size++;
    }

    private static <T> List<T> add(List<T> list, T value) {
        List<T> out = list == null ? new ArrayList<>(1) : list;
        out.add(value);
        return out;
    }

    public NameTrie<T> freeze() {
        frozen = true;
        return this;
    }

    public int size() {
        return size;
    }

    /** Every value whose pattern matches {@code canonicalName}, most specific first. */
    public List<T> matches(String canonicalName) {
        // Walk from the top-level label down, remembering the subdomain lists passed on the way.
        List<List<T>> wildcards = null;
        List<T> exact = null;
        Node<T> node = root;
        int end = canonicalName.length();
        while (true) {
            int dot = canonicalName.lastIndexOf('.', end - 1);
            Node<T> next = node.children == null ? null
                    : node.children.get(canonicalName.substring(dot + 1, end));
            if (next == null) {
                break;
            }
            node = next;
            if (dot < 0) {
                exact = node.exact;
                break;
            }
            if (node.subdomains != null) {
                if (wildcards == null) {
                    wildcards = new ArrayList<>(2);
                }
                wildcards.add(node.subdomains);
            }
            end = dot;
        }
        if (exact == null && wildcards == null) {
            return List.of();
        }
        List<T> out = new ArrayList<>();
        if (exact != null) {
            out.addAll(exact);
        }
        if (wildcards != null) {
            for (int i = wildcards.size() - 1; i >= 0; i--) {
                out.addAll(wildcards.get(i));
            }
        }
        return out;
    }
}
