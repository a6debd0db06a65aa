package dev.airlock.policy.load;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.airlock.policy.model.SourcePosition;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * Reads one YAML document into {@link YamlNode}s with positions, using Jackson's streaming parser
 * so that every scalar keeps the text it was written with ({@code 0443} stays {@code 0443}).
 * Duplicate keys and extra documents are problems, not silent overrides. Public for the other
 * files Airlock reads in YAML (the daemon's configuration), so that they report positions alike.
 */
public final class YamlReader {

    // An empty value ("key:" with nothing after it) is null, as YAML and editors read it.
    private static final YAMLFactory FACTORY = YAMLFactory.builder()
            .enable(com.fasterxml.jackson.dataformat.yaml.YAMLParser.Feature.EMPTY_STRING_AS_NULL).build();
    /** Nesting bound: real policies are 4 levels deep; this stops pathological input early. */
    private static final int MAX_DEPTH = 32;

    private final String file;
    private final List<Problem> problems;

    public YamlReader(String file, List<Problem> problems) {
        this.file = file;
        this.problems = problems;
    }

    /** The document's root, or null when it is empty or unreadable (a problem is recorded). */
    public YamlNode read(String text) {
        try (JsonParser p = FACTORY.createParser(text)) {
            JsonToken t = p.nextToken();
            if (t == null) {
                // 1:1, so that even this problem reads file:line:col like every other (DESIGN.md §2).
                problems.add(new Problem(new SourcePosition(file, 1, 1), "the file is empty",
                        "start with \"version: 1\""));
                return null;
            }
            YamlNode root = node(p, t, 0);
            if (p.nextToken() != null) {
                problems.add(new Problem(pos(p.currentTokenLocation()),
                        "the file holds more than one YAML document", "keep one document: remove the extra \"---\""));
            }
            return root;
        } catch (JsonProcessingException e) {
            JsonLocation loc = e.getLocation();
            String msg = e.getOriginalMessage().lines().findFirst().orElse("not valid YAML");
            problems.add(new Problem(loc == null ? SourcePosition.of(file) : pos(loc),
                    "not valid YAML: " + msg, "fix the YAML syntax at this position"));
            return null;
        } catch (IOException e) {
            problems.add(new Problem(SourcePosition.of(file), "cannot read: " + e.getMessage(), null));
            return null;
        }
    }

    private YamlNode node(JsonParser p, JsonToken t, int depth) throws IOException {
        SourcePosition at = pos(p.currentTokenLocation());
        if (depth > MAX_DEPTH) {
            throw new com.fasterxml.jackson.core.JsonParseException(p, "nesting deeper than " + MAX_DEPTH);
        }
        switch (t) {
            case START_OBJECT: {
                LinkedHashMap<String, YamlNode.Field> fields = new LinkedHashMap<>();
                for (JsonToken k = p.nextToken(); k != JsonToken.END_OBJECT; k = p.nextToken()) {
                    String key = p.currentName();
                    SourcePosition keyAt = pos(p.currentTokenLocation());
                    YamlNode value = node(p, p.nextToken(), depth + 1);
                    if (fields.containsKey(key)) {
                        problems.add(new Problem(keyAt, "key '" + key + "' appears twice (first at "
                                + fields.get(key).keyPosition() + ")", "keep one '" + key + "'"));
                    } else {
                        fields.put(key, new YamlNode.Field(key, keyAt, value));
                    }
                }
                return new YamlNode.Mapping(at, fields);
            }
            case START_ARRAY: {
                List<YamlNode> items = new ArrayList<>();
                for (JsonToken i = p.nextToken(); i != JsonToken.END_ARRAY; i = p.nextToken()) {
                    items.add(node(p, i, depth + 1));
                }
                return new YamlNode.Sequence(at, items);
            }
            case VALUE_NULL:
                return new YamlNode.Scalar(at, p.getText() == null ? "" : p.getText(), false, true);
            case VALUE_NUMBER_INT:
            case VALUE_NUMBER_FLOAT:
                return new YamlNode.Scalar(at, p.getText(), true, false);
            default:
                return new YamlNode.Scalar(at, p.getText(), false, false);
        }
    }

    private SourcePosition pos(JsonLocation loc) {
        return new SourcePosition(file, loc.getLineNr(), loc.getColumnNr());
    }
}
