package dev.airlock.server;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.StringWriter;
import java.util.Map;

/**
 * JSON for the client's streaming path with Jackson's streaming API only: a pooled
 * {@code airlock run} is a short-lived JVM, and an ObjectMapper's first use (building its
 * serializers and deserializers) was a fifth of that run's time. The daemon's lines are flat
 * objects; a nested value is skipped.
 */
final class FlatJson {

    private static final JsonFactory FACTORY = new JsonFactory();

    private FlatJson() {
    }

    static String write(JsonNode n) throws IOException {
        StringWriter w = new StringWriter();
        try (JsonGenerator g = FACTORY.createGenerator(w)) {
            write(g, n);
        }
        return w.toString();
    }

    private static void write(JsonGenerator g, JsonNode n) throws IOException {
        if (n.isObject()) {
            g.writeStartObject();
            for (Map.Entry<String, JsonNode> e : n.properties()) {
                g.writeFieldName(e.getKey());
                write(g, e.getValue());
            }
            g.writeEndObject();
        } else if (n.isArray()) {
            g.writeStartArray();
            for (JsonNode v : n) {
                write(g, v);
            }
            g.writeEndArray();
        } else if (n.isTextual()) {
            g.writeString(n.asText());
        } else if (n.isIntegralNumber()) {
            g.writeNumber(n.asLong());
        } else if (n.isNumber()) {
            g.writeNumber(n.asDouble());
        } else if (n.isBoolean()) {
            g.writeBoolean(n.asBoolean());
        } else {
            g.writeNull();
        }
    }

    /** One flat JSON object; nested values are skipped. */
    static ObjectNode read(String text) throws IOException {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        try (JsonParser p = FACTORY.createParser(text)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException("not a JSON object: " + text);
            }
            for (JsonToken t = p.nextToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
                String k = p.currentName();
                switch (p.nextToken()) {
                    case VALUE_STRING -> o.put(k, p.getText());
                    case VALUE_NUMBER_INT -> o.put(k, p.getLongValue());
                    case VALUE_NUMBER_FLOAT -> o.put(k, p.getDoubleValue());
                    case VALUE_TRUE -> o.put(k, true);
                    case VALUE_FALSE -> o.put(k, false);
                    case VALUE_NULL -> o.putNull(k);
                    default -> p.skipChildren();
                }
            }
        }
        return o;
    }
}
