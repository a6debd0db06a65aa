package dev.airlock.policy.model;

import java.util.List;

/** A named, versioned allowlist. Built-in presets cite the public documentation they follow. */
public record Preset(String name, String version, String description, List<String> sources, List<Rule> rules) {

    public Preset {
        sources = List.copyOf(sources);
        rules = List.copyOf(rules);
    }
}
