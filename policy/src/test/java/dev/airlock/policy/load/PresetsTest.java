package dev.airlock.policy.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.airlock.policy.model.Preset;
import dev.airlock.policy.model.Rule;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/** The shipped presets load with the same strict parser as user files, and cite their sources. */
class PresetsTest {

    static final java.util.List<String> NAMES = Presets.NAMES;

    @Test
    void builtIn_areTheEightShippedPresets() {
        assertThat(Presets.builtIn().keySet()).containsExactlyInAnyOrder(
                "github", "npm", "pypi", "maven-central", "crates", "go-proxy", "debian", "docker-hub");
        assertThat(Presets.NAMES).hasSize(8);
    }

    @ParameterizedTest(name = "preset {0}")
    @FieldSource("NAMES")
    void builtIn_eachHasAVersionSourcesAndRules(String name) {
        Preset p = Presets.builtIn().get(name);
        assertThat(p.name()).isEqualTo(name);
        assertThat(p.version()).isNotBlank().matches("[0-9]{4}\\.[0-9]{1,2}");
        assertThat(p.description()).isNotBlank();
        assertThat(p.sources()).isNotEmpty().allSatisfy(s -> assertThat(s).startsWith("https://"));
        assertThat(p.rules()).isNotEmpty().allSatisfy(r -> {
            assertThat(r.kind()).isEqualTo(Rule.Kind.ALLOW);
            assertThat(r.source()).isEqualTo("preset " + name + " " + p.version());
            assertThat(r.position().file()).isEqualTo("preset:" + name);
        });
    }

    @Test
    void builtIn_isImmutable() {
        Map<String, Preset> presets = Presets.builtIn();
        assertThatThrownBy(() -> presets.put("x", presets.get("npm"))).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void parse_presetWithoutSources_isRefused() {
        assertThatThrownBy(() -> Presets.parse("preset:x", """
                name: x
                version: "2026.11"
                allow: [example.com]
                """)).isInstanceOf(PolicyException.class).hasMessageContaining("a preset needs name, version, sources and allow");
    }

    @Test
    void parse_presetWithABadEntry_isRefusedWithItsPosition() {
        assertThatThrownBy(() -> Presets.parse("preset:x", """
                name: x
                version: "2026.11"
                sources: [https://example.com/docs]
                allow: ["*.com"]
                """)).isInstanceOf(PolicyException.class).hasMessageStartingWith("preset:x:4:9: ");
    }
}
