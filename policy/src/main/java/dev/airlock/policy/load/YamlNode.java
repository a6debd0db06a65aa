package dev.airlock.policy.load;

import dev.airlock.policy.model.SourcePosition;
import java.util.LinkedHashMap;
import java.util.List;

/** A YAML value that remembers where it was written. Keys keep their own positions. */
public sealed interface YamlNode permits YamlNode.Mapping, YamlNode.Sequence, YamlNode.Scalar {

    SourcePosition position();

    /** Human name of the node's kind, for "expected a list, found a mapping". */
    String kind();

    record Mapping(SourcePosition position, LinkedHashMap<String, Field> fields) implements YamlNode {
        @Override
        public String kind() {
            return "a mapping";
        }
    }

    record Field(String key, SourcePosition keyPosition, YamlNode value) {
    }

    record Sequence(SourcePosition position, List<YamlNode> items) implements YamlNode {
        @Override
        public String kind() {
            return "a list";
        }
    }

    /**
     * A scalar with its text exactly as written. {@code plainNumber} is true when YAML read it as
     * a number rather than a string; {@code isNull} when the value was empty or {@code null}.
     */
    record Scalar(SourcePosition position, String text, boolean plainNumber, boolean isNull) implements YamlNode {
        @Override
        public String kind() {
            return isNull ? "nothing" : plainNumber ? "a number" : "a string";
        }
    }
}
