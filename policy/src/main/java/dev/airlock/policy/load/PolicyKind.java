package dev.airlock.policy.load;

import java.util.ArrayList;
import java.util.Set;

/** Tells a project policy from an organisation policy by its top-level keys. */
public enum PolicyKind {
    PROJECT, ORG;

    private static final Set<String> ORG_ONLY = Set.of("production", "audit");

    /**
     * ORG when the document has an org-only key ({@code production}, {@code audit}) and no
     * {@code project}; PROJECT otherwise, so an unreadable file is reported by the project loader.
     */
    public static PolicyKind detect(String text) {
        YamlNode root = new YamlReader("-", new ArrayList<>()).read(text);
        if (root instanceof YamlNode.Mapping m && !m.fields().containsKey("project")
                && m.fields().keySet().stream().anyMatch(ORG_ONLY::contains)) {
            return ORG;
        }
        return PROJECT;
    }
}
