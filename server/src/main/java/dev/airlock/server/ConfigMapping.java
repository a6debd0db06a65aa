package dev.airlock.server;

import dev.airlock.policy.load.YamlNode;
import dev.airlock.server.DaemonConfig.ConfigException;
import java.util.List;
import java.util.Optional;

/**
 * One mapping of the daemon's configuration file, read with the positions the YAML reader kept:
 * its keys must be among the known ones, and each value must be of its key's type. Every error
 * names the file, the line and column, and the fix, as the policy files' errors do.
 *
 * @param path the mapping's place in the file, for messages ({@code kubernetes}, {@code projects[0]}); empty at the top
 */
record ConfigMapping(YamlNode.Mapping node, String path) {

    /** The whole file's mapping: its top-level keys must be {@code known}. */
    static ConfigMapping root(YamlNode root, List<String> known) throws ConfigException {
        if (!(root instanceof YamlNode.Mapping m)) {
            throw new ConfigException(root.position() + ": the configuration is " + root.kind() + ", not a mapping of keys."
                    + " Fix: start with `version: 1` (docs/daemon.md shows a whole file).");
        }
        return new ConfigMapping(m, "").known(known);
    }

    /** {@code path.key}, or {@code key} at the top. */
    String name(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    /** {@code file:line:col: } of {@code key}, or of this mapping when it has no such key. */
    String at(String key) {
        YamlNode.Field f = node.fields().get(key);
        return (f == null ? node.position() : f.keyPosition()) + ": ";
    }

    /** {@code file:line:col: } of this mapping. */
    String at() {
        return node.position() + ": ";
    }

    /** A scalar's text as written (numbers too: {@code size: 2}), or null when absent or empty. */
    String string(String key) throws ConfigException {
        YamlNode v = value(key);
        if (v == null) {
            return null;
        }
        if (!(v instanceof YamlNode.Scalar s)) {
            throw wrongType(key, v, "a single value", "write one value, e.g. `" + key + ": VALUE`");
        }
        return s.text();
    }

    /** A whole number, or null when absent or empty. */
    Integer integer(String key, String example) throws ConfigException {
        YamlNode v = value(key);
        if (v == null) {
            return null;
        }
        if (v instanceof YamlNode.Scalar s && s.text().matches("-?[0-9]{1,9}")) {
            return Integer.parseInt(s.text());
        }
        throw wrongType(key, v, "a whole number", "write a whole number, e.g. `" + key + ": " + example + "`");
    }

    /** {@code true} or {@code false}, or null when absent or empty. */
    Boolean bool(String key) throws ConfigException {
        YamlNode v = value(key);
        if (v == null) {
            return null;
        }
        if (v instanceof YamlNode.Scalar s && (s.text().equalsIgnoreCase("true") || s.text().equalsIgnoreCase("false"))) {
            return Boolean.parseBoolean(s.text());
        }
        throw wrongType(key, v, "true or false", "write `" + key + ": true` or `" + key + ": false`");
    }

    /** The mapping under {@code key}, its keys checked against {@code known}; empty when absent or empty. */
    Optional<ConfigMapping> mapping(String key, List<String> known) throws ConfigException {
        YamlNode v = value(key);
        if (v == null) {
            return Optional.empty();
        }
        if (!(v instanceof YamlNode.Mapping m)) {
            throw wrongType(key, v, "a mapping", "write keys under `" + key + ":`, of " + known);
        }
        return Optional.of(new ConfigMapping(m, name(key)).known(known));
    }

    /** The mappings listed under {@code key}, each one's keys checked against {@code known}; null when absent or empty. */
    List<ConfigMapping> mappings(String key, List<String> known, String example) throws ConfigException {
        YamlNode v = value(key);
        if (v == null) {
            return null;
        }
        if (!(v instanceof YamlNode.Sequence s)) {
            throw wrongType(key, v, "a list", example);
        }
        List<ConfigMapping> items = new java.util.ArrayList<>();
        for (YamlNode item : s.items()) {
            String itemPath = name(key) + "[" + items.size() + "]";
            if (!(item instanceof YamlNode.Mapping m)) {
                throw new ConfigException(item.position() + ": " + itemPath + " is " + describe(item) + ", not a mapping. Fix: " + example + ".");
            }
            items.add(new ConfigMapping(m, itemPath).known(known));
        }
        return items;
    }

    private ConfigMapping known(List<String> known) throws ConfigException {
        for (YamlNode.Field f : node.fields().values()) {
            if (!known.contains(f.key())) {
                throw new ConfigException(f.keyPosition() + ": unknown key '" + f.key() + "'. Fix: use one of " + known + ".");
            }
        }
        return this;
    }

    private YamlNode value(String key) {
        YamlNode.Field f = node.fields().get(key);
        return f == null || f.value() instanceof YamlNode.Scalar s && s.isNull() ? null : f.value();
    }

    private ConfigException wrongType(String key, YamlNode v, String expected, String fix) {
        return new ConfigException(v.position() + ": " + name(key) + " is " + describe(v) + ", not " + expected + ". Fix: " + fix + ".");
    }

    private static String describe(YamlNode v) {
        return v instanceof YamlNode.Scalar s ? v.kind() + " ('" + s.text() + "')" : v.kind();
    }
}
