package dev.airlock.sandbox;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The records' JSON: one flat object whose values are strings, integers or arrays of strings. The
 * launcher depends on nothing but the policy core, so this small codec replaces a JSON library;
 * the parser accepts exactly what the writer produces (and any whitespace), and refuses the rest.
 */
final class FlatJson {

    private FlatJson() {
    }

    static String write(Map<String, ?> fields) {
        StringBuilder b = new StringBuilder("{");
        boolean first = true;
        for (Map.Entry<String, ?> e : fields.entrySet()) {
            b.append(first ? "\n  " : ",\n  ");
            first = false;
            string(b, e.getKey());
            b.append(": ");
            Object v = e.getValue();
            if (v instanceof Long || v instanceof Integer) {
                b.append(v);
            } else if (v instanceof String s) {
                string(b, s);
            } else if (v instanceof List<?> list) {
                b.append('[');
                for (int i = 0; i < list.size(); i++) {
                    if (i > 0) {
                        b.append(", ");
                    }
                    string(b, (String) list.get(i));
                }
                b.append(']');
            } else {
                throw new IllegalArgumentException("unsupported value for " + e.getKey() + ": " + v);
            }
        }
        return b.append("\n}\n").toString();
    }

    private static void string(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                case '\r' -> b.append("\\r");
                default -> {
                    if (c < 0x20 || c == 0x7f) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        b.append('"');
    }

    /** Values are {@code String}, {@code Long} or {@code List<String>}. */
    static Map<String, Object> parse(String text) {
        Parser p = new Parser(text);
        Map<String, Object> out = p.object();
        p.ws();
        if (p.i != text.length()) {
            throw p.error("trailing text");
        }
        return out;
    }

    private static final class Parser {
        private final String s;
        private int i;

        Parser(String s) {
            this.s = s;
        }

        IllegalArgumentException error(String what) {
            return new IllegalArgumentException("malformed record at offset " + i + ": " + what);
        }

        void ws() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }

        void expect(char c) {
            ws();
            if (i >= s.length() || s.charAt(i) != c) {
                throw error("expected '" + c + "'");
            }
            i++;
        }

        boolean peek(char c) {
            ws();
            return i < s.length() && s.charAt(i) == c;
        }

        Map<String, Object> object() {
            Map<String, Object> m = new LinkedHashMap<>();
            expect('{');
            if (peek('}')) {
                i++;
                return m;
            }
            do {
                String k = string();
                expect(':');
                ws();
                if (m.put(k, value()) != null) {
                    throw error("duplicate key " + k);
                }
            } while (comma());
            expect('}');
            return m;
        }

        boolean comma() {
            if (peek(',')) {
                i++;
                return true;
            }
            return false;
        }

        Object value() {
            ws();
            if (i >= s.length()) {
                throw error("expected a value");
            }
            char c = s.charAt(i);
            if (c == '"') {
                return string();
            }
            if (c == '[') {
                i++;
                List<String> list = new ArrayList<>();
                if (peek(']')) {
                    i++;
                    return list;
                }
                do {
                    list.add(string());
                } while (comma());
                expect(']');
                return list;
            }
            int start = i;
            if (c == '-') {
                i++;
            }
            while (i < s.length() && Character.isDigit(s.charAt(i))) {
                i++;
            }
            if (i == start || (i == start + 1 && c == '-')) {
                throw error("expected a string, an integer or an array");
            }
            return Long.parseLong(s.substring(start, i));
        }

        String string() {
            expect('"');
            StringBuilder b = new StringBuilder();
            while (true) {
                if (i >= s.length()) {
                    throw error("unterminated string");
                }
                char c = s.charAt(i++);
                if (c == '"') {
                    return b.toString();
                }
                if (c != '\\') {
                    b.append(c);
                    continue;
                }
                if (i >= s.length()) {
                    throw error("unterminated escape");
                }
                char e = s.charAt(i++);
                switch (e) {
                    case '"', '\\', '/' -> b.append(e);
                    case 'n' -> b.append('\n');
                    case 't' -> b.append('\t');
                    case 'r' -> b.append('\r');
                    case 'b' -> b.append('\b');
                    case 'f' -> b.append('\f');
                    case 'u' -> {
                        if (i + 4 > s.length()) {
                            throw error("short \\u escape");
                        }
                        b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                        i += 4;
                    }
                    default -> throw error("bad escape \\" + e);
                }
            }
        }
    }
}
