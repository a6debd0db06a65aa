package dev.airlock.policy.load;

import dev.airlock.policy.model.Preset;
import dev.airlock.policy.model.Rule;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The presets shipped with Airlock: named, versioned allowlists, each citing the public
 * documentation its hosts come from. They are resources, loaded with the same strict parser as
 * user files, so a broken preset fails the build's tests rather than a user's run.
 */
public final class Presets {

    /** The shipped presets, in the order {@code airlock policy check --help} lists them. */
    public static final List<String> NAMES = List.of(
            "github", "npm", "pypi", "maven-central", "crates", "go-proxy", "debian", "docker-hub");

    private static final Set<String> KEYS = Set.of("name", "version", "description", "sources", "allow");

    private static final class Holder {
        static final Map<String, Preset> BUILT_IN = loadAll();
    }

    private Presets() {
    }

    public static Map<String, Preset> builtIn() {
        return Holder.BUILT_IN;
    }

    private static Map<String, Preset> loadAll() {
        Map<String, Preset> out = new LinkedHashMap<>();
        for (String name : NAMES) {
            String resource = "presets/" + name + ".yaml";
            try (InputStream in = Presets.class.getResourceAsStream(resource)) {
                if (in == null) {
                    throw new IllegalStateException("missing built-in preset resource " + resource);
                }
                out.put(name, parse("preset:" + name, new String(in.readAllBytes(), StandardCharsets.UTF_8)));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (PolicyException e) {
                throw new IllegalStateException("built-in preset " + name + " is invalid:\n" + e.getMessage(), e);
            }
        }
        return Map.copyOf(out);
    }

    static Preset parse(String file, String text) throws PolicyException {
        List<Problem> problems = new ArrayList<>();
        YamlNode root = new YamlReader(file, problems).read(text);
        Fields f = root == null ? null : Fields.of(root, "a preset", KEYS, problems);
        if (f == null) {
            throw new PolicyException(problems);
        }
        String name = f.string("name");
        String version = f.string("version");
        String description = f.string("description");
        List<String> sources = new ArrayList<>();
        for (YamlNode n : f.list("sources")) {
            if (n instanceof YamlNode.Scalar s) {
                sources.add(s.text());
            }
        }
        List<Rule> rules = f.get("allow").map(a -> PolicyFiles.allowEntries(a, "preset " + name + " " + version, problems))
                .orElse(List.of());
        if (name == null || version == null || sources.isEmpty() || rules.isEmpty()) {
            problems.add(new Problem(f.position(), "a preset needs name, version, sources and allow", "fill in the missing keys"));
        }
        if (!problems.isEmpty()) {
            throw new PolicyException(problems);
        }
        return new Preset(name, version, description == null ? "" : description, sources, rules);
    }
}
