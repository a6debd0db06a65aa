package dev.airlock.pool.template;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class EnvHashTest {

    private static EnvHash.CacheFile file(String path, String content) {
        return new EnvHash.CacheFile(path, Optional.of(content.getBytes(StandardCharsets.UTF_8)));
    }

    private static EnvHash.CacheFile missing(String path) {
        return new EnvHash.CacheFile(path, Optional.empty());
    }

    private static final List<EnvHash.CacheFile> LOCK = List.of(file("package-lock.json", "{\"v\":1}"));
    private static final List<String> SETUP = List.of("npm ci");

    @Test
    void of_sameInputs_sameHash_sha256Hex() {
        String h = EnvHash.of(LOCK, SETUP, "0.1.0");
        assertThat(h).matches("[0-9a-f]{64}").isEqualTo(EnvHash.of(List.of(file("package-lock.json", "{\"v\":1}")), List.of("npm ci"), "0.1.0"));
    }

    @Test
    void of_cacheKeyContentChanges_hashChanges() {
        assertThat(EnvHash.of(List.of(file("package-lock.json", "{\"v\":2}")), SETUP, "0.1.0")).isNotEqualTo(EnvHash.of(LOCK, SETUP, "0.1.0"));
    }

    @Test
    void of_setupCommandChanges_hashChanges() {
        assertThat(EnvHash.of(LOCK, List.of("npm install"), "0.1.0")).isNotEqualTo(EnvHash.of(LOCK, SETUP, "0.1.0"));
    }

    @Test
    void of_imageDigest_newDigestNewHash_noImageTheHashBeforeImages() {
        String a = "sha256:" + "a".repeat(64);
        String b = "sha256:" + "b".repeat(64);
        assertThat(EnvHash.of(LOCK, SETUP, "0.1.0", java.util.Optional.of(a))).isNotEqualTo(EnvHash.of(LOCK, SETUP, "0.1.0",
                java.util.Optional.of(b))).isNotEqualTo(EnvHash.of(LOCK, SETUP, "0.1.0"));
        assertThat(EnvHash.of(LOCK, SETUP, "0.1.0", java.util.Optional.empty())).isEqualTo(EnvHash.of(LOCK, SETUP, "0.1.0"))
                .isEqualTo("2b40f3d80d92dd7e21ccc8a2ea127170a338d6464013debdbead6653c40a0552"); // as before images
    }

    @Test
    void of_airlockVersionChanges_hashChanges() {
        assertThat(EnvHash.of(LOCK, SETUP, "0.2.0")).isNotEqualTo(EnvHash.of(LOCK, SETUP, "0.1.0"));
    }

    @Test
    void of_missingFile_differsFromAnEmptyFile() {
        assertThat(EnvHash.of(List.of(missing("a")), SETUP, "v")).isNotEqualTo(EnvHash.of(List.of(file("a", "")), SETUP, "v"));
    }

    @Test
    void of_textMovedBetweenCommands_hashChanges() {
        // Without lengths, ["a b", "c"] and ["a", "b c"] could encode the same bytes.
        assertThat(EnvHash.of(List.of(), List.of("a b", "c"), "v")).isNotEqualTo(EnvHash.of(List.of(), List.of("a", "b c"), "v"));
        assertThat(EnvHash.of(List.of(), List.of("ab"), "v")).isNotEqualTo(EnvHash.of(List.of(), List.of("a", "b"), "v"));
    }

    @Test
    void of_textMovedFromFileNameIntoContent_hashChanges() {
        assertThat(EnvHash.of(List.of(file("ab", "c")), SETUP, "v")).isNotEqualTo(EnvHash.of(List.of(file("a", "bc")), SETUP, "v"));
    }

    @Test
    void of_orderOfCacheKeys_matters() {
        List<EnvHash.CacheFile> ab = List.of(file("a", "1"), file("b", "2"));
        List<EnvHash.CacheFile> ba = List.of(file("b", "2"), file("a", "1"));
        assertThat(EnvHash.of(ab, SETUP, "v")).isNotEqualTo(EnvHash.of(ba, SETUP, "v"));
    }
}
