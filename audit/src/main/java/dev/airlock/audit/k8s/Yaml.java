package dev.airlock.audit.k8s;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.airlock.policy.load.Problem;
import dev.airlock.policy.model.SourcePosition;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Kubernetes manifests read as trees whose every node keeps its {@code file:line:col}, so that a
 * problem in a NetworkPolicy is reported where it was written. Reads every document of a
 * multi-document file. Jackson's streaming parser keeps scalars as written and tells numbers from
 * strings ({@code port: 443} against {@code port: https}).
 */
final class Yaml {

    private static final YAMLFactory FACTORY = YAMLFactory.builder().build();
    /** Real manifests are about 8 levels deep; this stops pathological input early. */
    private static final int MAX_DEPTH = 64;

    sealed interface Node permits MapNode, ListNode, Scalar {
        SourcePosition position();
    }

    record MapNode(Map<String, Node> entries, SourcePosition position) implements Node {
        Node get(String key) {
            return entries.get(key);
        }
    }

    record ListNode(List<Node> items, SourcePosition position) implements Node {
    }

    /** A scalar: {@code text} as written ({@code null} for YAML null), {@code number} for an unquoted integer. */
    record Scalar(String text, boolean number, SourcePosition position) implements Node {
        boolean isNull() {
            return text == null;
        }
    }

    private Yaml() {
    }

    /** Every non-empty document of {@code text}; a syntax error is a problem at its position. */
    static List<Node> documents(String file, String text) throws ManifestException {
        List<Node> docs = new ArrayList<>();
        try (JsonParser p = FACTORY.createParser(text)) {
            JsonToken t;
            while ((t = p.nextToken()) != null) {
                Node n = node(file, p, t, 0);
                if (!(n instanceof Scalar s && s.isNull())) {
                    docs.add(n);
                }
            }
        } catch (JsonProcessingException e) {
            JsonLocation loc = e.getLocation();
            String msg = e.getOriginalMessage().lines().findFirst().orElse("not valid YAML");
            throw new ManifestException(List.of(new Problem(loc == null ? SourcePosition.of(file) : pos(file, loc),
                    "not valid YAML: " + msg, "fix the YAML syntax at this position")));
        } catch (IOException e) {
            throw new ManifestException(List.of(new Problem(SourcePosition.of(file), "cannot read: " + e.getMessage(), null)));
        }
        return docs;
    }

    private static Node node(String file, JsonParser p, JsonToken t, int depth) throws IOException {
        SourcePosition at = pos(file, p.currentTokenLocation());
        if (depth > MAX_DEPTH) {
            throw new ManifestException(List.of(new Problem(at, "nested more than " + MAX_DEPTH + " levels deep", "this is not a NetworkPolicy")));
        }
        switch (t) {
            case START_OBJECT -> {
                Map<String, Node> m = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String key = p.currentName();
                    SourcePosition keyAt = pos(file, p.currentTokenLocation());
                    Node v = node(file, p, p.nextToken(), depth + 1);
                    if (m.put(key, v) != null) {
                        throw new ManifestException(List.of(new Problem(keyAt, "key \"" + key + "\" appears twice", "keep one")));
                    }
                }
                return new MapNode(m, at);
            }
            case START_ARRAY -> {
                List<Node> l = new ArrayList<>();
                JsonToken n;
                while ((n = p.nextToken()) != JsonToken.END_ARRAY) {
                    l.add(node(file, p, n, depth + 1));
                }
                return new ListNode(l, at);
            }
            case VALUE_NULL -> {
                return new Scalar(null, false, at);
            }
            case VALUE_NUMBER_INT -> {
                return new Scalar(p.getText(), true, at);
            }
            default -> {
                return new Scalar(p.getText(), false, at);
            }
        }
    }

    static SourcePosition pos(String file, JsonLocation loc) {
        return new SourcePosition(file, loc.getLineNr(), loc.getColumnNr());
    }
}
