package dev.airlock.policy.load;

import dev.airlock.policy.model.SourcePosition;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/** Reads a mapping's fields, reporting unknown keys (with a did-you-mean) and wrong kinds. */
final class Fields {

    private final YamlNode.Mapping mapping;
    private final String where;
    private final List<Problem> problems;

    private Fields(YamlNode.Mapping mapping, String where, List<Problem> problems) {
        this.mapping = mapping;
        this.where = where;
        this.problems = problems;
    }

    /** Null (with a problem recorded) when {@code node} is not a mapping or has unknown keys only. */
    static Fields of(YamlNode node, String where, Set<String> known, List<Problem> problems) {
        if (!(node instanceof YamlNode.Mapping m)) {
            problems.add(new Problem(node.position(), where + " must be a mapping, found " + node.kind(),
                    "write it as \"key: value\" lines; allowed keys: " + String.join(", ", sorted(known))));
            return null;
        }
        for (YamlNode.Field f : m.fields().values()) {
            if (!known.contains(f.key())) {
                String hint = closest(f.key(), known).map(k -> "did you mean '" + k + "'? ").orElse("");
                problems.add(new Problem(f.keyPosition(), "unknown key '" + f.key() + "' in " + where,
                        hint + "allowed keys: " + String.join(", ", sorted(known))));
            }
        }
        return new Fields(m, where, problems);
    }

    SourcePosition position() {
        return mapping.position();
    }

    Optional<YamlNode> get(String key) {
        YamlNode.Field f = mapping.fields().get(key);
        return f == null ? Optional.empty() : Optional.of(f.value());
    }

    boolean has(String key) {
        return mapping.fields().containsKey(key);
    }

    Optional<YamlNode> required(String key, String example) {
        Optional<YamlNode> v = get(key);
        if (v.isEmpty()) {
            problems.add(new Problem(mapping.position(), where + " has no '" + key + "'", "add \"" + example + "\""));
        }
        return v;
    }

    /** A list field; a missing or null field is an empty list. */
    List<YamlNode> list(String key) {
        Optional<YamlNode> v = get(key);
        if (v.isEmpty() || v.get() instanceof YamlNode.Scalar s && s.isNull()) {
            return List.of();
        }
        if (v.get() instanceof YamlNode.Sequence seq) {
            return seq.items();
        }
        problems.add(new Problem(v.get().position(), where + "." + key + " must be a list, found " + v.get().kind(),
                "write it as \"" + key + ": [a, b]\" or as \"- item\" lines"));
        return List.of();
    }

    /** A scalar string field, or null with a problem recorded. */
    String string(String key) {
        Optional<YamlNode> v = get(key);
        if (v.isEmpty()) {
            return null;
        }
        if (v.get() instanceof YamlNode.Scalar s && !s.isNull()) {
            return s.text();
        }
        problems.add(new Problem(v.get().position(), where + "." + key + " must be text, found " + v.get().kind(),
                "write \"" + key + ": <text>\""));
        return null;
    }

    private static List<String> sorted(Set<String> known) {
        return known.stream().sorted().collect(Collectors.toList());
    }

    /** The known key within edit distance 2 of {@code key}, for typo hints. */
    static Optional<String> closest(String key, Set<String> known) {
        String best = null;
        int bestDistance = 3;
        // Sorted, so a tie gives the same hint on every run (Set.of iterates in a random order).
        for (String k : sorted(known)) {
            if (Math.abs(key.length() - k.length()) >= bestDistance) {
                continue; // too far apart to be a typo; also bounds the work for a huge key
            }
            int d = distance(key.toLowerCase(java.util.Locale.ROOT), k.toLowerCase(java.util.Locale.ROOT));
            if (d < bestDistance) {
                bestDistance = d;
                best = k;
            }
        }
        return Optional.ofNullable(best);
    }

    /** Edit distance where swapping two adjacent letters, the commonest typo, costs one edit. */
    private static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i][j - 1] + 1, d[i - 1][j] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }
}
